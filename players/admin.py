"""The player list (fast on a million players) and the player page, plus the console
views for status actions, notes, the national id reveal and search."""

from django.contrib import admin
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.paginator import InfinitePaginator

from backoffice import console
from backoffice.views import ReadOnlyAdminMixin

from . import page_tabs, selectors, views  # noqa: F401  (page_tabs registers the built-in tabs)
from .models import Player


@admin.register(Player)
class PlayerAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Read-only: players change through services (the buttons on the player page)."""

    list_display = [
        "public_id",
        "name_display",
        "email",
        "jurisdiction",
        "status_display",
        "created_at",
        "last_seen_at",
    ]
    list_display_links = ["public_id", "name_display"]
    list_filter = [
        "status",
        "jurisdiction",
        "registration_channel",
        ("created_at", admin.DateFieldListFilter),
    ]
    # The search box runs players.selectors.player_search (get_search_results below):
    # these fields only make the box appear.
    search_fields = ["=public_id"]
    search_help_text = "Public id, email, phone, name, national id, IP address or device id."
    list_select_related = []  # nothing related is shown: one query per page
    show_full_result_count = False
    paginator = InfinitePaginator  # no COUNT(*) over the table on every page
    list_per_page = 50
    ordering = ["-created_at", "-id"]

    @display(description="Name", ordering="last_name")
    def name_display(self, obj):
        return obj.full_name or "-"

    @display(
        description="Status",
        label={
            Player.Status.ACTIVE: "success",
            Player.Status.SUSPENDED: "warning",
            Player.Status.CLOSED: "info",
            Player.Status.BLOCKED: "danger",
        },
    )
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=selectors.player_search_ids(search_term)), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        try:
            pk = int(object_id)
        except ValueError:
            from django.http import Http404

            raise Http404("No such player.") from None
        return views.player_page(request, pk)


console.register_view("players/find/", views.player_search_view, "players_search", "players.view_player")
console.register_view(
    "players/<int:player_id>/suspend/",
    views.player_suspend_view,
    "players_player_suspend",
    "players.change_player_status",
    player_id="player",
)
console.register_view(
    "players/<int:player_id>/reactivate/",
    views.player_reactivate_view,
    "players_player_reactivate",
    "players.change_player_status",
    player_id="player",
)
console.register_view(
    "players/<int:player_id>/close/",
    views.player_close_view,
    "players_player_close",
    "players.close_player",
    player_id="player",
)
console.register_view(
    "players/<int:player_id>/notes/add/",
    views.note_add_view,
    "players_note_add",
    "players.add_playernote",
    player_id="player",
)
console.register_view(
    "players/<int:player_id>/national-id/",
    views.national_id_reveal_view,
    "players_national_id_reveal",
    "players.reveal_national_id",
    player_id="player",
)

console.register_nav(
    console.NavItem(
        "Players", "Find a player", "admin:players_search", "players.view_player", "person_search", 10
    )
)
console.register_nav(
    console.NavItem(
        "Players", "Players", "admin:players_player_changelist", "players.view_player", "group", 20
    )
)
