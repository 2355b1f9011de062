"""GGR and NGR by day, market, game or provider, from the rollups (docs/reports.md has the
definitions): in euro across every currency (each day at its FX rate) or natively for one
currency."""

from django import forms
from django.db.models import F, Sum

from reports import registry
from reports.fx import EUR
from reports.models import DailyGame, DailyMarket
from reports.registry import ChartSpec, Column, DateRangeForm, Report, Table

from .common import market_field, reporting_currency_field, rollup_as_of

GROUPS = [("day", "Day"), ("market", "Market"), ("game", "Game"), ("provider", "Game provider")]


class GgrForm(DateRangeForm):
    group_by = forms.ChoiceField(label="Group by", choices=GROUPS, required=False)
    market = market_field()
    currency = reporting_currency_field()


def _col(name: str, currency: str) -> str:
    return f"{name}_eur" if currency == EUR else name


def rows(p: dict):
    currency = p.get("currency") or EUR
    group = p.get("group_by") or "day"
    market = p.get("market") or ""
    if group in ("day", "market"):
        qs = DailyMarket.objects.filter(day__gte=p["date_from"], day__lte=p["date_to"])
        money = ("bets", "wins", "ggr", "bonus_cost", "ngr")
        label = F(group)
    else:
        qs = DailyGame.objects.filter(day__gte=p["date_from"], day__lte=p["date_to"])
        money = ("bets", "wins", "ggr")
        label = F("game__title") if group == "game" else F("provider__name")
        if market:
            # Per-game rollups carry no market: a market filter applies to day/market only.
            market = ""
    if market:
        qs = qs.filter(market=market)
    if currency != EUR:
        qs = qs.filter(currency=currency)
    agg = {m: Sum(_col(m, currency)) for m in money}
    for r in qs.annotate(label=label).values("label").annotate(**agg).order_by("label").iterator():
        yield {"group": r["label"], "currency": currency, **{m: r[m] or 0 for m in money}}


COLUMNS = [
    Column("group", "Group"),
    Column("bets", "Bets", "money"),
    Column("wins", "Wins", "money"),
    Column("ggr", "GGR", "money"),
    Column("bonus_cost", "Bonus cost", "money"),
    Column("ngr", "NGR", "money"),
]


def build(p: dict) -> Table:
    group = p.get("group_by") or "day"
    model = DailyMarket if group in ("day", "market") else DailyGame
    data = list(rows(p))  # small: one row per group; totals and chart need it twice
    currency = p.get("currency") or EUR
    totals = {"group": "Total", "currency": currency}
    for c in COLUMNS[1:]:
        if any(c.key in r for r in data):
            totals[c.key] = sum(r.get(c.key) or 0 for r in data)
    notes = []
    if group in ("game", "provider"):
        notes.append("Per game and provider: bets and wins through the game aggregators' wallet API; no NGR.")
        if p.get("market"):
            notes.append("The market filter does not apply to games and providers.")
    if (
        currency == EUR
        and model.objects.filter(
            day__gte=p["date_from"], day__lte=p["date_to"], ggr_eur__isnull=True
        ).exists()
    ):
        notes.append(
            "Some rows had no FX rate: their EUR figures are missing (import rates, rebuild rollups)."
        )
    return Table(
        columns=COLUMNS if group in ("day", "market") else COLUMNS[:4],
        rows=data,
        totals=totals,
        as_of=rollup_as_of(model, p["date_from"], p["date_to"]),
        chart=ChartSpec(
            "line" if group == "day" else "bar",
            "group",
            ("ggr", "ngr") if model is DailyMarket else ("ggr",),
            f"GGR by {dict(GROUPS)[group].lower()} ({currency})",
        ),
        notes=notes,
    )


registry.register(
    Report(
        key="ggr",
        title="GGR and NGR",
        description="Gross and net gaming revenue by day, market, game or provider.",
        permission=registry.MONEY,
        form_class=GgrForm,
        build=build,
        order=10,
    )
)
