from django.contrib import admin
from unfold.admin import ModelAdmin

from backoffice import console
from backoffice.views import ReadOnlyAdminMixin

from .models import Complaint


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "player", "category", "subject", "status", "created_at", "channel"]
    list_filter = ["status", "category"]
    list_select_related = ["player"]
    search_fields = ["=id", "=player__public_id", "subject"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ["created_at", "id"]


console.register_nav(
    console.NavItem(
        "Players",
        "Complaints",
        "admin:disputes_complaint_changelist",
        "disputes.view_complaint",
        "support_agent",
        50,
    )
)
