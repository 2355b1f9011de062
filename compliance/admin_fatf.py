"""The FATF lists the AML rule high_risk_country and the risk score's jurisdiction factor
read: read-only (the rows come from reviewed data migrations, docs/compliance.md), with the
statement each listing comes from and whether it is in force today."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import console
from backoffice.views import ReadOnlyAdminMixin

from .aml.models import HighRiskCountry


class InForceFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", "In force today"), ("no", "Not in force (delisted or future)")]

    def queryset(self, request, queryset):
        now_in_force = HighRiskCountry.objects.in_force(timezone.localdate()).values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=now_in_force)
        if self.value() == "no":
            return queryset.exclude(pk__in=now_in_force)
        return queryset


@admin.register(HighRiskCountry)
class HighRiskCountryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["country", "list", "effective_from", "effective_to", "in_force", "source_link"]
    list_filter = [InForceFilter, "list"]
    search_fields = ["=country"]
    ordering = ["list", "country", "-effective_from"]
    fields = [
        "country",
        "list",
        "effective_from",
        "effective_to",
        "in_force",
        "source",
        "source_url",
        "created_at",
    ]
    readonly_fields = fields

    @display(description="In force today", boolean=True)
    def in_force(self, obj):
        today = timezone.localdate()
        return obj.effective_from <= today and (obj.effective_to is None or obj.effective_to > today)

    @display(description="Source")
    def source_link(self, obj):
        if not obj.source_url:
            return obj.source
        return format_html(
            '<a class="text-primary-600" href="{}" rel="noopener">{}</a>', obj.source_url, obj.source
        )


console.register_nav(
    console.NavItem(
        "Compliance",
        "FATF lists",
        "admin:compliance_highriskcountry_changelist",
        "compliance.view_highriskcountry",
        "public",
        19,
    )
)
