"""Wallet calls in the console: every bet, win and rollback a provider sent, including
the refused ones that opened no round ("why was my bet refused?"). Read-only: calls are
written by the wallet API alone."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import RelatedDropdownFilter
from unfold.decorators import display
from unfold.paginator import InfinitePaginator

from backoffice.views import ReadOnlyAdminMixin
from players.models import Player

from .models import WalletTransaction
from .selectors import _amount, _pretty


@admin.register(WalletTransaction)
class WalletCallAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "created_at",
        "provider",
        "kind",
        "transaction_id",
        "status_badge",
        "player_link",
        "amount_display",
        "round_link",
    ]
    list_display_links = ["transaction_id"]
    list_select_related = ["provider", "player", "round"]
    search_fields = ["=transaction_id"]
    search_help_text = "A provider's transaction id (exact), or a player's public id."
    list_filter = [("provider", RelatedDropdownFilter), "kind", "status", "tombstone"]
    list_filter_submit = True
    show_facets = admin.ShowFacets.NEVER  # a count per choice is a scan of every call
    show_full_result_count = False
    paginator = InfinitePaginator
    list_per_page = 50
    ordering = ["-created_at", "-id"]
    fields = [
        "created_at",
        "provider",
        "kind",
        "transaction_id",
        "status",
        "tombstone",
        "player",
        "round",
        "game",
        "amount_display",
        "bonus_amount",
        "wagering_contribution",
        "reference_transaction_id",
        "round_closed",
        "ledger_transaction",
        "rolled_back_by",
        "duration_ms",
        "request_pretty",
        "response_pretty",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("provider", "player", "round", "game", "ledger_transaction", "rolled_back_by")
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Exact lookups, each on an index: the transaction id, or the player found first by
        # public id and then their calls.
        player_id = Player.objects.filter(public_id=term.upper()).values_list("pk", flat=True).first()
        if player_id is None:
            return queryset.filter(transaction_id=term), False
        return queryset.filter(Q(transaction_id=term) | Q(player_id=player_id)), False

    @display(description="Status", label={"OK": "success"})
    def status_badge(self, obj):
        return obj.status

    @display(description="Player")
    def player_link(self, obj):
        if obj.player_id is None:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("admin:players_player_change", args=[obj.player_id]),
            obj.player.public_id,
        )

    @display(description="Round")
    def round_link(self, obj):
        if obj.round_id is None:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("admin:games_round_change", args=[obj.round_id]),
            obj.round.external_id,
        )

    @display(description="Amount")
    def amount_display(self, obj):
        return _amount(obj.amount, obj.currency or (obj.response or {}).get("currency") or "")

    @display(description="Request (as received; the session token is never stored)")
    def request_pretty(self, obj):
        return format_html("<pre class='text-xs whitespace-pre-wrap'>{}</pre>", _pretty(obj.request))

    @display(description="Our answer")
    def response_pretty(self, obj):
        return format_html("<pre class='text-xs whitespace-pre-wrap'>{}</pre>", _pretty(obj.response))
