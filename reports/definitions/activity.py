"""Player activity per day: registrations, first-time depositors and the conversion between
them, active players (from the market rollups), and the retention of each day's registration
cohort: the share of its players who bet again 1, 7 and 30 days after the day they
registered (D1/D7/D30, from the ledger's bets; empty until that day has passed)."""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from players.models import Player
from reports import registry
from reports.models import DailyMarket
from reports.registry import ChartSpec, Column, DateRangeForm, Report, Table
from reports.rollups import local_today, reporting_tz
from wallet.models import Posting, Transaction

from .common import market_field, range_bounds, ratio, rollup_as_of

OFFSETS = (1, 7, 30)


class ActivityForm(DateRangeForm):
    market = market_field()


def _retention(p: dict) -> tuple[dict, dict]:
    """(cohort size per registration day, {(day, offset): players who bet that day})."""
    tz = reporting_tz()
    start, end = range_bounds(p["date_from"], p["date_to"])
    players = Player.objects.filter(created_at__gte=start, created_at__lt=end)
    if p.get("market"):
        players = players.filter(jurisdiction=p["market"])
    cohorts = dict(
        players.annotate(reg=TruncDate("created_at", tzinfo=tz))
        .values("reg")
        .annotate(n=Count("id"))
        .values_list("reg", "n")
        .order_by()
    )
    returned: dict = defaultdict(int)
    bets = (
        Posting.objects.filter(
            transaction__kind=Transaction.Kind.BET,
            amount__lt=0,
            account__player__in=players,
            created_at__gte=start + timedelta(days=1),
            created_at__lt=end + timedelta(days=max(OFFSETS) + 1),
        )
        .annotate(
            day=TruncDate("created_at", tzinfo=tz), reg=TruncDate("account__player__created_at", tzinfo=tz)
        )
        .values_list("account__player_id", "reg", "day")
        .distinct()
        .order_by()
    )
    for _player, reg, day in bets.iterator():
        offset = (day - reg).days
        if offset in OFFSETS:
            returned[(reg, offset)] += 1
    return cohorts, returned


def rows(p: dict) -> list[dict]:
    qs = DailyMarket.objects.filter(day__gte=p["date_from"], day__lte=p["date_to"])
    if p.get("market"):
        qs = qs.filter(market=p["market"])
    per_day = {
        r["day"]: r
        for r in qs.values("day")
        .annotate(registrations=Sum("registrations"), ftd=Sum("ftd_count"), active=Sum("active_players"))
        .order_by()
    }
    cohorts, returned = _retention(p)
    today = local_today()
    out = []
    day = p["date_from"]
    while day <= p["date_to"]:
        r = per_day.get(day, {})
        size = cohorts.get(day, 0)
        row = {
            "day": day,
            "registrations": r.get("registrations") or 0,
            "ftd": r.get("ftd") or 0,
            "active": r.get("active") or 0,
        }
        row["conversion"] = ratio(row["ftd"], row["registrations"])
        for n in OFFSETS:
            row[f"d{n}"] = ratio(returned.get((day, n), 0), size) if day + timedelta(days=n) < today else None
        out.append(row)
        day += timedelta(days=1)
    return out


COLUMNS = [
    Column("day", "Day", "date"),
    Column("registrations", "Registrations", "int"),
    Column("ftd", "First-time depositors", "int"),
    Column("conversion", "FTD conversion", "percent"),
    Column("active", "Active players", "int"),
    Column("d1", "Retention D1", "percent"),
    Column("d7", "Retention D7", "percent"),
    Column("d30", "Retention D30", "percent"),
]


def build(p: dict) -> Table:
    data = rows(p)
    regs, ftd = sum(r["registrations"] for r in data), sum(r["ftd"] for r in data)
    return Table(
        columns=COLUMNS,
        rows=data,
        totals={
            "day": "Total",
            "registrations": regs,
            "ftd": ftd,
            "conversion": ratio(ftd, regs),
            "active": sum(r["active"] for r in data),
        },
        as_of=rollup_as_of(DailyMarket, p["date_from"], p["date_to"]),
        chart=ChartSpec(
            "line", "day", ("registrations", "ftd", "active"), "Registrations, FTDs, active players"
        ),
        notes=[
            "FTD conversion: first-time depositors of the day over its registrations (FTDs may have registered earlier).",
            "Retention Dn: players registered that day with a bet n days later; empty until that day has passed.",
            "The total of active players sums days (player-days), not distinct players.",
        ],
    )


registry.register(
    Report(
        key="activity",
        title="Player activity",
        description="Registrations, FTD conversion, active players and cohort retention at D1/D7/D30.",
        permission=registry.MONEY,
        form_class=ActivityForm,
        build=build,
        order=50,
    )
)
