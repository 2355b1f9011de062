"""The rollups: a reporting day's figures computed set-based from the source tables (the
ledger, players, game calls, payments) and written in one transaction per day.

A day is recomputed whole (delete and insert under the day's lock), so a re-run is
idempotent and "incremental" means: every minute, recompute today (and yesterday until
it is final) from the time-indexed sources; nightly, finalise yesterday. A final day is
only rewritten by another final run (finalise or `rebuild_rollups`), never by the
minute refresh. Definitions (docs/reports.md):

- bets: stakes on bets (cash and bonus money) minus the stakes refunded by rollbacks;
  wins: winnings paid (to cash and to bonus money); GGR = bets - wins;
- bonus cost: bonus money consumed in play (bonus stakes - bonus refunds - winnings paid
  into bonus money) plus bonus money converted to cash; NGR = GGR - bonus cost;
- active player: placed at least one bet (a posted stake) that day;
- FTD: a player's first ever credited deposit fell on that day;
- gaming tax: the market's `gaming_tax_rate_bp` rule in force at the day's end, times the
  day's GGR, rounded half-even; negative on a losing day (offsets within the return).

Timestamps are the ledger transaction's `created_at` (the event time), bucketed into days
and wall-clock hours of settings.REPORTS_TIMEZONE (default UTC)."""

import logging
import time as monotonic
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from games.models import WalletTransaction
from payments.models import Payment
from players.models import Player
from wallet.models import Account, Posting, Transaction

from . import fx
from .models import DailyGame, DailyMarket, DailyPayment, MarketHour, RollupDay

logger = logging.getLogger(__name__)

K = Transaction.Kind
CASH, BONUS, PENDING = (
    Account.Kind.PLAYER_CASH,
    Account.Kind.PLAYER_BONUS,
    Account.Kind.PLAYER_WITHDRAWAL_PENDING,
)
_LEDGER_KINDS = (K.DEPOSIT, K.WITHDRAWAL, K.BET, K.WIN, K.ROLLBACK, K.BONUS_CONVERSION)
_PLAY_KINDS = (K.BET, K.WIN, K.ROLLBACK)

_COUNTS = ("registrations", "ftd_count", "deposits_count", "withdrawals_count")
_MONEY = ("deposits_amount", "withdrawals_amount", "bets", "wins", "bonus_cost")
MARKET_FIELDS = (*_COUNTS, *_MONEY, "ggr", "ngr")

RANGE_REVERSED = "The first day ({day_from}) is after the last ({day_to})."
RANGE_FUTURE = "{day_to} is in the future (today is {today} in {tz})."


def reporting_tz() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "REPORTS_TIMEZONE", "UTC") or "UTC")


def local_today(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), reporting_tz()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a reporting day: local midnight to the next (23 or 25 hours on a
    DST change)."""
    tz = reporting_tz()
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=tz
    )


@dataclass
class RollupResult:
    day: date
    final: bool
    skipped: bool = False
    market_rows: int = 0
    hour_rows: int = 0
    game_rows: int = 0
    payment_rows: int = 0
    missing_rates: list[str] = field(default_factory=list)
    duration_ms: int = 0


# --- the source queries (each one GROUP BY over a time-indexed range) ---------------------------


def _market_hours(start: datetime, end: datetime) -> dict[tuple, dict[str, int]]:
    tz = reporting_tz()
    rows: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    regs = (
        Player.objects.filter(created_at__gte=start, created_at__lt=end)
        .values(hour=ExtractHour("created_at", tzinfo=tz), market=F("jurisdiction"), cur=F("currency"))
        .annotate(n=Count("id"))
    )
    for r in regs:
        rows[(r["hour"], r["market"], r["cur"])]["registrations"] += r["n"]

    in_day = {"transaction__created_at__gte": start, "transaction__created_at__lt": end}
    ledger = (
        Posting.objects.filter(
            **in_day, transaction__kind__in=_LEDGER_KINDS, account__kind__in=(CASH, BONUS, PENDING)
        )
        .values(
            hour=ExtractHour("transaction__created_at", tzinfo=tz),
            market=F("account__player__jurisdiction"),
            cur=F("account__currency"),
            kind=F("transaction__kind"),
            acct=F("account__kind"),
        )
        .annotate(total=Sum("amount"), txns=Count("transaction_id", distinct=True))
    )
    for r in ledger:
        row, kind, acct, total = rows[(r["hour"], r["market"], r["cur"])], r["kind"], r["acct"], r["total"]
        if kind == K.DEPOSIT and acct == CASH:
            row["deposits_count"] += r["txns"]
            row["deposits_amount"] += total
        elif kind == K.WITHDRAWAL and acct == PENDING:
            row["withdrawals_count"] += r["txns"]
            row["withdrawals_amount"] -= total
        elif kind in (K.BET, K.ROLLBACK) and acct in (CASH, BONUS):
            row["bets"] -= total  # stakes are debits; a rollback's refund is a credit
            if acct == BONUS:
                row["bonus_cost"] -= total
        elif kind == K.WIN and acct in (CASH, BONUS):
            row["wins"] += total
            if acct == BONUS:
                row["bonus_cost"] -= total
        elif kind == K.BONUS_CONVERSION and acct == CASH:
            row["bonus_cost"] += total

    earlier_deposit = Posting.objects.filter(
        account_id=OuterRef("account_id"),
        transaction__kind=K.DEPOSIT,
        transaction_id__lt=OuterRef("transaction_id"),
    )
    ftds = (
        Posting.objects.filter(**in_day, transaction__kind=K.DEPOSIT, account__kind=CASH)
        .filter(~Exists(earlier_deposit))
        .values(
            hour=ExtractHour("transaction__created_at", tzinfo=tz),
            market=F("account__player__jurisdiction"),
            cur=F("account__currency"),
        )
        .annotate(n=Count("id"))
    )
    for r in ftds:
        rows[(r["hour"], r["market"], r["cur"])]["ftd_count"] += r["n"]

    # One row per active player (their first stake of the day), bucketed here: the hours'
    # new actives then add up to the day's distinct actives.
    first_bets = (
        Posting.objects.filter(**in_day, transaction__kind=K.BET, account__kind__in=(CASH, BONUS))
        .values("account__player_id", market=F("account__player__jurisdiction"), cur=F("account__currency"))
        .annotate(first=Min("transaction__created_at"))
    )
    for r in first_bets:
        hour = timezone.localtime(r["first"], tz).hour
        rows[(hour, r["market"], r["cur"])]["new_active_players"] += 1

    for row in rows.values():
        row["ggr"] = row["bets"] - row["wins"]
        row["ngr"] = row["ggr"] - row["bonus_cost"]
    return rows


def _games(start: datetime, end: datetime) -> dict[tuple, dict[str, int]]:
    rows: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    money = (
        Posting.objects.filter(
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
            transaction__kind__in=_PLAY_KINDS,
            account__kind__in=(CASH, BONUS),
            transaction__wallet_call__game__isnull=False,
        )
        .values(
            game=F("transaction__wallet_call__game_id"),
            provider=F("transaction__wallet_call__provider_id"),
            cur=F("account__currency"),
            kind=F("transaction__kind"),
        )
        .annotate(total=Sum("amount"))
    )
    for r in money:
        row = rows[(r["game"], r["provider"], r["cur"])]
        if r["kind"] == K.WIN:
            row["wins"] += r["total"]
        else:
            row["bets"] -= r["total"]
    play = (
        WalletTransaction.objects.filter(
            kind=WalletTransaction.Kind.BET,
            ledger_transaction__created_at__gte=start,
            ledger_transaction__created_at__lt=end,
            game__isnull=False,
        )
        .values("game_id", "provider_id", cur=F("currency"))
        .annotate(rounds=Count("round_id", distinct=True), players=Count("player_id", distinct=True))
    )
    for r in play:
        row = rows[(r["game_id"], r["provider_id"], r["cur"])]
        row["rounds"], row["players"] = r["rounds"], r["players"]
    for row in rows.values():
        row["ggr"] = row["bets"] - row["wins"]
    return rows


def _payments(start: datetime, end: datetime) -> dict[tuple, dict[str, int]]:
    rows: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    key = ("provider", "method", "currency", "kind")
    # The method is learnt when a payment succeeds (a failed one never names it), and a
    # payment's row changes then: attempts are counted per provider, on the method "" row,
    # so a day's attempts never move once the day is over.
    attempts = Payment.objects.filter(created_at__gte=start, created_at__lt=end)
    for r in attempts.values("provider", "currency", "kind").annotate(n=Count("id")):
        rows[(r["provider"], "", r["currency"], r["kind"])]["attempts"] += r["n"]
    done = [
        Payment.objects.filter(
            kind=Payment.Kind.DEPOSIT, credit_txn__created_at__gte=start, credit_txn__created_at__lt=end
        ),
        Payment.objects.filter(
            kind=Payment.Kind.WITHDRAWAL,
            settle_txn__kind=K.WITHDRAWAL,
            settle_txn__created_at__gte=start,
            settle_txn__created_at__lt=end,
        ),
    ]
    for qs in done:
        for r in qs.values(*key).annotate(n=Count("id"), amount=Sum("amount"), fees=Sum("fee")):
            row = rows[tuple(r[k] for k in key)]
            row["successes"] += r["n"]
            row["amount"] += r["amount"]
            row["fees"] += r["fees"]
    return rows


# --- writing a day -------------------------------------------------------------------------------


def _eur_market(values: dict, cur: str, rate: Decimal | None) -> dict:
    """EUR twins of the money columns; GGR and NGR derived from the converted parts so
    GGR = bets - wins and NGR = GGR - bonus cost also hold in euros."""
    out = {f"{f}_eur": fx.to_eur(values.get(f, 0), cur, rate) for f in _MONEY}
    if rate is None:
        out.update(ggr_eur=None, ngr_eur=None)
    else:
        out["ggr_eur"] = out["bets_eur"] - out["wins_eur"]
        out["ngr_eur"] = out["ggr_eur"] - out["bonus_cost_eur"]
    return out


def _tax(ggr: int, rate_bp: int | None) -> int:
    if not rate_bp:
        return 0
    return int((Decimal(ggr) * rate_bp / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _tax_rates(markets, at: datetime) -> dict[str, int | None]:
    from compliance.selectors import rule_get

    out = {}
    for market in sorted(set(markets)):
        rule = rule_get(jurisdiction=market, key="gaming_tax_rate_bp", at=at)
        out[market] = int(rule.value) if rule is not None and rule.value is not None else None
    return out


def rollup_day(day: date, *, final: bool = False, now: datetime | None = None) -> RollupResult:
    """Recompute one reporting day's rollups from the sources and replace its rows, in one
    transaction under the day's lock. Idempotent. A final day is left alone unless this
    run is final too. Rates missing for a currency leave its EUR columns NULL and are
    listed on the result and on RollupDay (logged as a warning)."""
    started = monotonic.monotonic()
    now = now or timezone.now()
    start, end = day_bounds(day)
    with transaction.atomic():
        RollupDay.objects.get_or_create(day=day)
        rd = RollupDay.objects.select_for_update().get(day=day)
        if rd.final and not final:
            return RollupResult(day=day, final=True, skipped=True)

        hours = _market_hours(start, end)
        games = _games(start, end)
        payments = _payments(start, end)
        currencies = {k[2] for k in hours} | {k[2] for k in games} | {k[2] for k in payments}
        rates = fx.rates_on(day, currencies)
        missing = sorted(c for c, r in rates.items() if r is None)
        taxes = _tax_rates({k[1] for k in hours}, end - timedelta(microseconds=1))

        hour_objs = []
        daily: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (hour, market, cur), v in sorted(hours.items()):
            figures = {f: v.get(f, 0) for f in MARKET_FIELDS}
            hour_objs.append(
                MarketHour(
                    day=day,
                    hour=hour,
                    market=market,
                    currency=cur,
                    new_active_players=v.get("new_active_players", 0),
                    fx_rate=rates[cur],
                    computed_at=now,
                    **figures,
                    **_eur_market(figures, cur, rates[cur]),
                )
            )
            d = daily[(market, cur)]
            for f in MARKET_FIELDS:
                d[f] += figures[f]
            d["active_players"] += v.get("new_active_players", 0)
        market_objs = []
        for (market, cur), d in sorted(daily.items()):
            figures = {f: d[f] for f in MARKET_FIELDS}
            rate_bp = taxes.get(market)
            tax = _tax(d["ggr"], rate_bp)
            market_objs.append(
                DailyMarket(
                    day=day,
                    market=market,
                    currency=cur,
                    active_players=d["active_players"],
                    gaming_tax_rate_bp=rate_bp,
                    gaming_tax=tax,
                    gaming_tax_eur=fx.to_eur(tax, cur, rates[cur]),
                    fx_rate=rates[cur],
                    final=final,
                    computed_at=now,
                    **figures,
                    **_eur_market(figures, cur, rates[cur]),
                )
            )
        game_objs = []
        for (game_id, provider_id, cur), v in sorted(games.items()):
            bets_eur, wins_eur = fx.to_eur(v["bets"], cur, rates[cur]), fx.to_eur(v["wins"], cur, rates[cur])
            game_objs.append(
                DailyGame(
                    day=day,
                    game_id=game_id,
                    provider_id=provider_id,
                    currency=cur,
                    bets=v["bets"],
                    wins=v["wins"],
                    ggr=v["ggr"],
                    rounds=v["rounds"],
                    players=v["players"],
                    bets_eur=bets_eur,
                    wins_eur=wins_eur,
                    ggr_eur=None if bets_eur is None else bets_eur - wins_eur,
                    fx_rate=rates[cur],
                    final=final,
                    computed_at=now,
                )
            )
        payment_objs = [
            DailyPayment(
                day=day,
                provider=provider,
                method=method,
                currency=cur,
                direction=direction,
                attempts=v["attempts"],
                successes=v["successes"],
                amount=v["amount"],
                fees=v["fees"],
                amount_eur=fx.to_eur(v["amount"], cur, rates[cur]),
                fees_eur=fx.to_eur(v["fees"], cur, rates[cur]),
                fx_rate=rates[cur],
                final=final,
                computed_at=now,
            )
            for (provider, method, cur, direction), v in sorted(payments.items())
        ]
        for model, objs in (
            (MarketHour, hour_objs),
            (DailyMarket, market_objs),
            (DailyGame, game_objs),
            (DailyPayment, payment_objs),
        ):
            model.objects.filter(day=day).delete()
            model.objects.bulk_create(objs)
        duration_ms = int((monotonic.monotonic() - started) * 1000)
        rd.computed_at, rd.missing_rates, rd.duration_ms = (
            now,
            [{"currency": c} for c in missing],
            duration_ms,
        )
        if final:
            rd.final, rd.finalised_at = True, now
        rd.save()
    if missing:
        logger.warning(
            "reports: no FX rate on or before %s for %s: EUR figures left empty", day, ", ".join(missing)
        )
    return RollupResult(
        day=day,
        final=final,
        market_rows=len(market_objs),
        hour_rows=len(hour_objs),
        game_rows=len(game_objs),
        payment_rows=len(payment_objs),
        missing_rates=missing,
        duration_ms=duration_ms,
    )


def rollup_refresh(*, now: datetime | None = None) -> list[RollupResult]:
    """The minute refresh: today, and yesterday until the nightly finalise has run (late
    postings of yesterday still land)."""
    now = now or timezone.now()
    today = local_today(now)
    results = [rollup_day(today, now=now)]
    yesterday = today - timedelta(days=1)
    if not RollupDay.objects.filter(day=yesterday, final=True).exists():
        results.append(rollup_day(yesterday, now=now))
    return results


def rollup_finalise(*, now: datetime | None = None) -> RollupResult:
    """Nightly: recompute yesterday (a complete day in the reporting zone) and mark it final."""
    now = now or timezone.now()
    return rollup_day(local_today(now) - timedelta(days=1), final=True, now=now)


def rollup_rebuild(
    *, day_from: date, day_to: date, actor=None, now: datetime | None = None
) -> list[RollupResult]:
    """Recompute every day of [day_from, day_to] from the sources (late data, a fix, FX
    rates imported afterwards). Days before today come out final. One audit event."""
    now = now or timezone.now()
    today = local_today(now)
    if day_from > day_to:
        raise DomainError(
            "range_reversed", RANGE_REVERSED.format(day_from=day_from, day_to=day_to), field="from"
        )
    if day_to > today:
        raise DomainError(
            "range_future", RANGE_FUTURE.format(day_to=day_to, today=today, tz=reporting_tz().key), field="to"
        )
    results = []
    day = day_from
    while day <= day_to:
        results.append(rollup_day(day, final=day < today, now=now))
        day += timedelta(days=1)
    audit.record(
        actor=actor,
        action="reports.rollup.rebuild",
        after={"from": str(day_from), "to": str(day_to), "days": len(results)},
    )
    return results
