from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.security import sensitive
from backoffice.views import ReadOnlyAdminMixin, admin_context

from . import services
from .models import Game, GameProvider, GameSession
from .resources import GameResource


@admin.register(GameProvider)
class GameProviderAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "code",
        "name",
        "status",
        "games_count",
        "secret_rotated_at",
        "previous_secret_expires_at",
    ]
    list_filter = ["status"]
    search_fields = ["=code", "name"]
    fields = [
        "code",
        "name",
        "status",
        "allowed_ips",
        "created_at",
        "secret_rotated_at",
        "previous_secret_expires_at",
    ]
    readonly_fields = fields
    actions_detail = ["rotate_secret"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_games=Count("games"))

    @display(description="Games")
    def games_count(self, obj):
        return obj.n_games

    def has_rotate_secret_permission(self, request, object_id=None):
        return request.user.has_perm("games.rotate_provider_secret")

    @action(description="Rotate secret", permissions=["rotate_secret"], icon="key")
    def rotate_secret(self, request, object_id):
        return redirect("admin:games_provider_rotate_secret", provider_id=object_id)


class RotateSecretForm(ConsoleForm):
    grace_hours = forms.IntegerField(
        min_value=0,
        max_value=168,
        initial=24,
        label="Grace period (hours)",
        help_text="The old secret keeps verifying requests this long, while the provider switches.",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why (e.g. ticket number)")


@sensitive
def provider_rotate_secret_view(request, provider_id: int):
    provider = get_object_or_404(GameProvider, pk=provider_id)
    form = RotateSecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = services.provider_rotate_secret(
                provider_id=provider.pk,
                actor=request.user,
                grace_hours=form.cleaned_data["grace_hours"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                format_html(
                    "New secret of {} (shown once, give it to the provider securely): <code>{}</code>. "
                    "The old one works for {} more hours.",
                    provider.code,
                    secret,
                    form.cleaned_data["grace_hours"],
                ),
            )
            return redirect("admin:games_gameprovider_change", provider.pk)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Rotate the secret of {provider}",
            form=form,
            submit_label="Rotate secret",
            intro="Issues a new HMAC secret for the wallet API. It is shown once.",
        ),
    )


@admin.register(Game)
class GameAdmin(ReadOnlyAdminMixin, ModelAdmin, ImportExportModelAdmin):
    resource_classes = [GameResource]
    import_form_class = ImportForm
    export_form_class = ExportForm
    list_display = [
        "title",
        "code",
        "provider",
        "category",
        "rtp",
        "wagering_contribution",
        "markets_display",
        "enabled",
    ]
    list_filter = ["provider", "category", "enabled"]
    list_select_related = ["provider"]
    search_fields = ["=code", "=external_code", "title"]
    fields = [
        "provider",
        "external_code",
        "code",
        "title",
        "category",
        "rtp",
        "wagering_contribution",
        "markets",
        "enabled",
        "created_at",
    ]
    readonly_fields = fields

    @display(description="Markets")
    def markets_display(self, obj):
        return ", ".join(obj.markets or []) or "-"

    # The catalogue changes only by CSV import (audited as one event per import).
    def has_import_permission(self, request):
        return request.user.has_perm("games.add_game") and request.user.has_perm("games.change_game")

    def has_export_permission(self, request):
        return request.user.has_perm("games.view_game")


console.register_view(
    "games/providers/<int:provider_id>/rotate-secret/",
    provider_rotate_secret_view,
    "games_provider_rotate_secret",
    "games.rotate_provider_secret",
    provider_id="game_provider",
)
console.register_nav(
    console.NavItem("Games", "Games", "admin:games_game_changelist", "games.view_game", "casino", 10)
)
console.register_nav(
    console.NavItem(
        "Games", "Providers", "admin:games_gameprovider_changelist", "games.view_gameprovider", "hub", 20
    )
)


@admin.register(GameSession)
class GameSessionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["player", "game", "created_at", "expires_at", "started_via"]
    list_select_related = ["player", "game"]
    search_fields = ["=player__public_id", "=game__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["token"]  # a live token is a credential: never shown


console.register_nav(
    console.NavItem(
        "Games",
        "Game sessions",
        "admin:games_gamesession_changelist",
        "games.view_gamesession",
        "sports_esports",
        30,
    )
)


from . import admin_calls, admin_rounds  # noqa: E402,F401  (rounds, wallet calls, figures, player tab)
