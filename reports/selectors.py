"""Reads of the rollups for the dashboard and the report screens (constant query counts:
each function is one or two aggregate queries whatever the range)."""

from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from .fx import EUR
from .models import DailyMarket, MarketHour, RollupDay
from .rollups import MARKET_FIELDS, local_today, reporting_tz

MONEY_FIELDS = ("deposits_amount", "withdrawals_amount", "bets", "wins", "ggr", "bonus_cost", "ngr")
COUNT_FIELDS = ("registrations", "ftd_count", "deposits_count", "withdrawals_count")


def _columns(currency: str, money=MONEY_FIELDS) -> dict[str, str]:
    """Figure name -> column: the EUR twin for "EUR" (every market converted), else the
    native column of rows in that currency."""
    return {f: (f"{f}_eur" if currency == EUR else f) for f in money}


def _scope(qs, currency: str, markets):
    if currency != EUR:
        qs = qs.filter(currency=currency)
    if markets:
        qs = qs.filter(market__in=list(markets))
    return qs


def market_totals(day_from: date, day_to: date, *, currency: str = EUR, markets=None) -> dict:
    """Sums over [day_from, day_to] of DailyMarket: counts, money (in EUR across all
    currencies, or natively for one currency), active player-days and the gaming tax.
    `rows_without_rate` > 0 means some rows had no FX rate: their EUR figures are missing
    from the totals (import the rates, then rebuild_rollups)."""
    qs = _scope(DailyMarket.objects.filter(day__gte=day_from, day__lte=day_to), currency, markets)
    cols = {**_columns(currency), "gaming_tax": "gaming_tax_eur" if currency == EUR else "gaming_tax"}
    agg = {f: Sum(c) for f, c in cols.items()}
    agg.update({f: Sum(f) for f in COUNT_FIELDS})
    agg["active_player_days"] = Sum("active_players")
    agg["rows_without_rate"] = Count("id", filter=Q(bets_eur__isnull=True))
    out = {k: (v or 0) for k, v in qs.aggregate(**agg).items()}
    if currency != EUR:
        out["rows_without_rate"] = 0
    out.update(currency=currency, day_from=day_from, day_to=day_to)
    return out


def market_daily(day_from: date, day_to: date, *, currency: str = EUR, markets=None) -> list[dict]:
    """One dict per day that has rows (day, the money figures, counts): a chart's series."""
    qs = _scope(DailyMarket.objects.filter(day__gte=day_from, day__lte=day_to), currency, markets)
    agg = {f: Sum(c) for f, c in _columns(currency).items()}
    agg.update({f: Sum(f) for f in COUNT_FIELDS})
    agg["active_players"] = Sum("active_players")
    return list(qs.values("day").annotate(**agg).order_by("day"))


def _hours_sum(day: date, through_hour: int, currency: str, markets) -> dict:
    qs = _scope(MarketHour.objects.filter(day=day, hour__lte=through_hour), currency, markets)
    agg = {f: Sum(c) for f, c in _columns(currency).items()}
    agg.update({f: Sum(f) for f in COUNT_FIELDS})
    agg["active_players"] = Sum("new_active_players")
    return {k: (v or 0) for k, v in qs.aggregate(**agg).items()}


def today_vs_yesterday_same_time(*, now: datetime | None = None, currency: str = EUR, markets=None) -> dict:
    """Today against yesterday at the same time of day (reporting zone), at the grain of the
    hour: `today` and `yesterday` both sum the complete hours before the current one (up to
    `through`, "14:00" at 14:37; empty just after midnight); `today_so_far` adds the running
    hour. Active players are distinct players so far (each counted in the hour of their
    first bet of the day)."""
    now = now or timezone.now()
    local = timezone.localtime(now, reporting_tz())
    today = local_today(now)
    yesterday = today - timedelta(days=1)
    return {
        "today": _hours_sum(today, local.hour - 1, currency, markets),
        "yesterday": _hours_sum(yesterday, local.hour - 1, currency, markets),
        "today_so_far": _hours_sum(today, local.hour, currency, markets),
        "through": f"{local.hour:02d}:00",
        "as_of": now,
        "currency": currency,
        "computed_at": RollupDay.objects.filter(day=today).values_list("computed_at", flat=True).first(),
    }


def rollup_day_list(day_from: date, day_to: date):
    """The rollup state per day (computed, final, missing rates), newest first."""
    return RollupDay.objects.filter(day__gte=day_from, day__lte=day_to).order_by("-day")


__all__ = [
    "MARKET_FIELDS",
    "market_daily",
    "market_totals",
    "rollup_day_list",
    "today_vs_yesterday_same_time",
]
