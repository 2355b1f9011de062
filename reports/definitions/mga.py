"""The MGA monthly returns for players in Malta (market MT).

- `mga-gaming-tax`: the gaming tax return: 5 % (the MT `gaming_tax_rate_bp` jurisdiction
  rule, data with its legal source) of the month's gaming revenue (GGR: stakes less prizes)
  from players in Malta, per currency and in euro. Assessed on the month: losing days offset
  winning ones, and a month with negative revenue owes 0.
- `mga-player-funds`: the player funds return: Malta players' funds at the month's end in
  the line layout of the MGA's Player Funds report as we know it (real money balances,
  pending withdrawals, the total liability to cover; bonus money as a memo line, as it is not
  withdrawable). The funds held to cover it (bank balances) come from finance's bank
  statements, not from Pitboss. Compliance confirms the layout against the current form."""

from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Max, Sum

from reports import registry
from reports.fx import EUR, rates_on, to_eur
from reports.models import DailyMarket
from reports.registry import ChartSpec, Column, MonthForm, Report, Table

from .common import cutoff_as_of, range_bounds, rollup_as_of
from .liability import player_funds

MALTA = "MT"
DEFAULT_RATE_BP = 500  # used only when no day of the month carried the rule's rate


def _tax(amount: int, rate_bp: int) -> int:
    if amount <= 0:
        return 0
    return int((Decimal(amount) * rate_bp / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def gaming_tax_rows(p: dict) -> tuple[list[dict], dict]:
    qs = DailyMarket.objects.filter(market=MALTA, day__gte=p["date_from"], day__lte=p["date_to"])
    rows, total_eur, total_rate = [], 0, DEFAULT_RATE_BP
    for r in (
        qs.values("currency")
        .annotate(
            bets=Sum("bets"),
            wins=Sum("wins"),
            ggr=Sum("ggr"),
            ggr_eur=Sum("ggr_eur"),
            rate_bp=Max("gaming_tax_rate_bp"),
        )
        .order_by("currency")
    ):
        rate = r["rate_bp"] or DEFAULT_RATE_BP
        ggr_eur = r["ggr_eur"] or 0
        rows.append(
            {
                "currency": r["currency"],
                "bets": r["bets"],
                "wins": r["wins"],
                "ggr": r["ggr"],
                "ggr_eur": ggr_eur,
                "rate": Decimal(rate) / 10_000,
                "tax": _tax(r["ggr"], rate),
                "tax_eur": _tax(ggr_eur, rate),
            }
        )
        total_eur, total_rate = total_eur + ggr_eur, rate
    totals = {
        "currency": "Total (EUR)",
        "ggr_eur": total_eur,
        "rate": Decimal(total_rate) / 10_000,
        "tax_eur": _tax(total_eur, total_rate),
    }
    return rows, totals


TAX_COLUMNS = [
    Column("currency", "Currency"),
    Column("bets", "Stakes", "money"),
    Column("wins", "Prizes", "money"),
    Column("ggr", "Gaming revenue", "money"),
    Column("ggr_eur", "Gaming revenue (EUR)", "money", currency="EUR"),
    Column("rate", "Tax rate", "percent"),
    Column("tax", "Tax due", "money"),
    Column("tax_eur", "Tax due (EUR)", "money", currency="EUR"),
]


def build_gaming_tax(p: dict) -> Table:
    rows, totals = gaming_tax_rows(p)
    notes = [
        "Players in Malta (market MT). Gaming revenue = stakes less prizes, bonus-funded stakes included.",
        "Assessed on the month: losing days offset winning ones; a negative month owes 0.",
        "The EUR total is taxed on the converted revenue of every currency (daily FX rates).",
    ]
    if DailyMarket.objects.filter(
        market=MALTA, day__gte=p["date_from"], day__lte=p["date_to"], ggr_eur__isnull=True
    ).exists():
        notes.append(
            "Some days had no FX rate: their EUR figures are missing (import rates, rebuild rollups)."
        )
    return Table(
        columns=TAX_COLUMNS,
        rows=rows,
        totals=totals,
        as_of=rollup_as_of(DailyMarket, p["date_from"], p["date_to"]),
        chart=ChartSpec("bar", "currency", ("ggr_eur",), "Gaming revenue per currency (EUR)"),
        notes=notes,
    )


FUNDS_LINES = [
    ("1", "Real money balances of players", "cash"),
    ("2", "Withdrawals requested, not yet paid", "pending"),
    ("3", "Total player liability (1 + 2)", "liability"),
    ("4", "Bonus balances (memo: not withdrawable)", "bonus"),
    ("5", "Players holding funds (number)", "players"),
]


def player_funds_rows(p: dict) -> tuple[list[dict], dict]:
    cutoff = range_bounds(p["date_from"], p["date_to"])[1]
    per_currency = player_funds(cutoff, market=MALTA)
    rates = rates_on(p["date_to"], [r["currency"] for r in per_currency])
    rows = []
    total_eur = 0
    for r in per_currency:
        r = {**r, "liability": r["cash"] + r["pending"]}
        for line, item, key in FUNDS_LINES:
            if key == "players":
                rows.append({"line": line, "item": item, "currency": r["currency"], "count": r["players"]})
                continue
            eur = to_eur(r[key], r["currency"], rates.get(r["currency"]))
            rows.append(
                {"line": line, "item": item, "currency": r["currency"], "amount": r[key], "amount_eur": eur}
            )
            if key == "liability" and eur is not None:
                total_eur += eur
    totals = {
        "line": "",
        "item": "Total player liability, all currencies (EUR)",
        "currency": EUR,
        "amount_eur": total_eur,
    }
    return rows, totals


FUNDS_COLUMNS = [
    Column("line", "Line"),
    Column("item", "Item"),
    Column("currency", "Currency"),
    Column("amount", "Amount", "money"),
    Column("count", "Number", "int"),
    Column("amount_eur", "Amount (EUR)", "money", currency="EUR"),
]


def build_player_funds(p: dict) -> Table:
    rows, totals = player_funds_rows(p)
    cutoff = range_bounds(p["date_from"], p["date_to"])[1]
    return Table(
        columns=FUNDS_COLUMNS,
        rows=rows,
        totals=totals,
        as_of=cutoff_as_of(cutoff),
        notes=[
            f"Players in Malta (market MT), balances at the end of {p['date_to']}.",
            "Funds held to cover the liability (bank and trust accounts) are entered from the bank statements.",
            f"EUR at the FX rate of {p['date_to']} (or the latest earlier one).",
        ],
    )


registry.register(
    Report(
        key="mga-gaming-tax",
        title="MGA gaming tax return",
        description="The monthly gaming tax: 5 % of the gaming revenue from players in Malta.",
        permission=registry.MONEY,
        form_class=MonthForm,
        build=build_gaming_tax,
        order=60,
    )
)
registry.register(
    Report(
        key="mga-player-funds",
        title="MGA player funds return",
        description="Malta players' funds at the month's end: balances, pending withdrawals, bonus memo.",
        permission=registry.MONEY,
        form_class=MonthForm,
        build=build_player_funds,
        order=61,
    )
)
