"""Rounds in the console: the rounds search, the round's page (each wallet call with its
request and answer, and the ledger postings it made), the per-game figures for a period,
and the player page's Game rounds tab. Everything here reads: rounds change only through
the wallet API (games/wallet.py)."""

import csv
from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    DropdownFilter,
    RangeDateFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import display
from unfold.paginator import InfinitePaginator

from backoffice import audit, console
from backoffice.forms import ConsoleForm
from backoffice.money import Money, format_minor
from backoffice.views import ReadOnlyAdminMixin, admin_context
from players.tabs import PlayerTab, register_tab
from wallet.models import Account

from . import selectors
from .models import GameProvider, Round

# Per-game figures (the casino's game performance) have a permission of their own:
# finance, risk and administrators.
FIGURES_PERMISSION = "games.view_game_figures"
CALLS_PERMISSION = "games.view_wallettransaction"


# --- rounds search ------------------------------------------------------------------------------


class OpenedDateFilter(RangeDateFilter):
    """From/to days, both included, in the console's time zone, read in the operator's date
    format (the picker writes 25/11/2026). Unfold's own filter compares a timestamp with
    midnight of the "to" day, which leaves that day out, and reads 01/11/2026 US-style."""

    def queryset(self, request, queryset):
        filters = {}
        for suffix, lookup, shift in (("_from", "gte", 0), ("_to", "lt", 1)):
            raw = self.used_parameters.get(f"{self.parameter_name}{suffix}")
            if not raw:
                continue
            try:
                day = forms.DateField().clean(raw)
            except forms.ValidationError:
                return queryset.none()
            filters[f"{self.parameter_name}__{lookup}"] = selectors.day_start(day + timedelta(days=shift))
        return queryset.filter(**filters)


class CurrencyFilter(DropdownFilter):
    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        # The currencies games were played in, from the game providers' house accounts (a
        # handful of rows), not SELECT DISTINCT over every round.
        codes = (
            Account.objects.filter(kind=Account.Kind.HOUSE_GAME_PROVIDER)
            .order_by("currency")
            .values_list("currency", flat=True)
            .distinct()
        )
        return [(c, c) for c in codes]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


class RoundStateFilter(DropdownFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(closed_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(closed_at__isnull=False)
        return queryset


@admin.register(Round)
class RoundAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "external_id",
        "player_link",
        "game_title",
        "currency",
        "bet_display",
        "win_display",
        "net_display",
        "opened_at",
        "state_display",
    ]
    list_display_links = ["external_id"]
    list_select_related = ["player", "game"]
    # The search box runs selectors.round_search_q (get_search_results below).
    search_fields = ["=external_id"]
    search_help_text = "A round id (exact), or a player's public id or email."
    list_filter = [
        ("provider", RelatedDropdownFilter),
        ("game", AutocompleteSelectFilter),
        CurrencyFilter,
        ("opened_at", OpenedDateFilter),
        RoundStateFilter,
    ]
    list_filter_submit = True
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice is a scan of every round
    show_full_result_count = False
    paginator = InfinitePaginator  # no COUNT(*) over every spin ever played
    list_per_page = 50
    fields = [
        "external_id",
        "provider",
        "game",
        "player",
        "currency",
        "bet_display",
        "win_display",
        "net_display",
        "wagering_display",
        "opened_at",
        "closed_at",
    ]
    readonly_fields = fields
    change_form_outer_after_template = "games/round_calls.html"

    def get_queryset(self, request):
        # The round's page shows the game and player: fetched with the round.
        return super().get_queryset(request).select_related("game", "player")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.round_search_q(search_term)), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        user = request.user
        if self.has_view_permission(request) and str(object_id).isdigit():
            may_calls = user.has_perm(CALLS_PERMISSION)
            calls = selectors.round_calls(int(object_id)) if may_calls else []
            may_postings = may_calls and (
                user.has_perm("wallet.view_posting") or user.has_perm("wallet.view_player_statement")
            )
            extra.update(
                may_see_calls=may_calls,
                calls=calls,
                may_see_postings=may_postings,
                postings=selectors.round_postings(calls) if may_postings else [],
                may_open_ledger=user.has_perm("wallet.view_transaction"),
            )
        return super().change_view(request, object_id, form_url, extra)

    @display(description="Player", ordering="player__public_id")
    def player_link(self, obj):
        p = obj.player
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a> {}',
            reverse("admin:players_player_change", args=[p.pk]),
            p.public_id,
            p.full_name,
        )

    @display(description="Game", ordering="game__title")
    def game_title(self, obj):
        return obj.game.title

    @display(description="Bet", ordering="total_bet")
    def bet_display(self, obj):
        return format_minor(obj.total_bet, obj.currency)

    @display(description="Win", ordering="total_win")
    def win_display(self, obj):
        return format_minor(obj.total_win, obj.currency)

    @display(description="Net (house)")
    def net_display(self, obj):
        return format_minor(obj.net, obj.currency)

    @display(description="Wagering contributed")
    def wagering_display(self, obj):
        return format_minor(obj.wagering_contributed, obj.currency)

    @display(description="State", label={"Open": "warning", "Closed": "success"})
    def state_display(self, obj):
        return "Closed" if obj.closed_at else "Open"


# --- per-game figures ---------------------------------------------------------------------------


class FiguresForm(ConsoleForm):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    provider = forms.ModelChoiceField(
        queryset=GameProvider.objects.order_by("name"), required=False, empty_label="All providers"
    )

    def clean(self):
        d = super().clean()
        start, end = d.get("date_from"), d.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if start and end and (end - start).days > 366:
            raise forms.ValidationError("Choose a period of at most a year.")
        return d


def _this_month() -> dict:
    today = timezone.localdate()
    return {"date_from": today.replace(day=1), "date_to": today}


def _pct(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _figures_csv(rows, date_from: date, date_to: date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="game-figures-{date_from}-{date_to}.csv"'
    w = csv.writer(response)
    w.writerow(
        [
            "provider",
            "game_code",
            "game",
            "currency",
            "bets",
            "wins",
            "ggr",
            "rounds",
            "players",
            "actual_rtp_pct",
            "theoretical_rtp_pct",
        ]
    )
    for r in rows:
        w.writerow(
            [
                r.provider_name,
                r.game_code,
                r.game_title,
                r.currency,
                Money(r.bets, r.currency).to_decimal_string(),
                Money(r.wins, r.currency).to_decimal_string(),
                Money(r.ggr, r.currency).to_decimal_string(),
                r.rounds,
                r.players,
                "" if r.actual_rtp is None else f"{r.actual_rtp:.2f}",
                f"{r.theoretical_rtp:.2f}",
            ]
        )
    return response


def game_figures_view(request):
    """Per game and currency, for the rounds opened in a period: bets, wins, GGR, rounds,
    distinct players, and the actual RTP beside the game's theoretical one."""
    form = FiguresForm(request.GET if "date_from" in request.GET else None, initial=_this_month())
    period = form.cleaned_data if form.is_bound and form.is_valid() else None
    if period is None and not form.is_bound:
        period = {**_this_month(), "provider": None}
    rows = totals = []
    if period is not None:
        provider = period.get("provider")
        rows = selectors.game_figures(
            date_from=period["date_from"],
            date_to=period["date_to"],
            provider_id=provider.pk if provider else None,
        )
        totals = selectors.figures_totals(rows)
        if request.GET.get("format") == "csv":
            audit.record(
                actor=request.user,
                action="games.figures.export",
                after={
                    "from": period["date_from"],
                    "to": period["date_to"],
                    "provider": provider.code if provider else "",
                    "rows": len(rows),
                },
            )
            return _figures_csv(rows, period["date_from"], period["date_to"])
    query = request.GET.copy()
    query["format"] = "csv"
    if period is not None and "date_from" not in query:
        query["date_from"], query["date_to"] = period["date_from"], period["date_to"]
    return TemplateResponse(
        request,
        "games/figures.html",
        admin_context(
            request,
            title="Game figures",
            form=form,
            period=period,
            rows=[(r, _pct(r.actual_rtp), _pct(r.rtp_gap)) for r in rows],
            totals=[(t, _pct(t.actual_rtp)) for t in totals],
            csv_url=f"?{query.urlencode()}",
            rounds_url=reverse("admin:games_round_changelist"),
        ),
    )


console.register_view("games/figures/", game_figures_view, "games_figures", FIGURES_PERMISSION)


# --- the player page's Game rounds tab ----------------------------------------------------------


def rounds_tab_context(request, player) -> dict:
    return {
        "rounds": selectors.player_rounds(player),
        "limit": selectors.PLAYER_ROUNDS_LIMIT,
        "search_url": f"{reverse('admin:games_round_changelist')}?q={player.public_id}",
    }


register_tab(
    PlayerTab(
        "rounds", "Game rounds", "games/tabs/rounds.html", "games.view_round", rounds_tab_context, order=35
    )
)

console.register_nav(
    console.NavItem("Games", "Rounds", "admin:games_round_changelist", "games.view_round", "history", 5)
)
console.register_nav(
    console.NavItem("Games", "Game figures", "admin:games_figures", FIGURES_PERMISSION, "monitoring", 8)
)
