"""Rollups: the incremental path (the minute refresh and the nightly finalise, run as data
arrives, with frozen time) ends equal to rebuild_rollups over the range, and both equal a
direct aggregation written here independently from the domain rows (game calls, payments,
players); idempotent re-runs; final days; the day boundary in the reporting time zone."""

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from games.models import WalletTransaction
from payments.models import Payment
from players.models import Player
from reports import rollups
from reports.fx import fx_rates_import
from reports.models import DailyGame, DailyMarket, DailyPayment, MarketHour, RollupDay
from wallet.models import Transaction
from wallet.verify import ledger_check

from .scenario import Casino, times_in

pytestmark = pytest.mark.django_db
MALTA = ZoneInfo("Europe/Malta")

_SKIP = {"id", "computed_at"}


def snapshot(model) -> list[tuple]:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in _SKIP]
    return sorted(model.objects.values_list(*fields))


def all_rollups() -> dict:
    return {m.__name__: snapshot(m) for m in (MarketHour, DailyMarket, DailyGame, DailyPayment)}


def local_day(dt: datetime) -> date:
    return timezone.localtime(dt, MALTA).date()


def direct_market() -> dict[tuple, dict[str, int]]:
    """(day, market, currency) -> figures, from the game calls, payments and players (not
    from the ledger's postings the rollup reads), in plain Python."""
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    active: dict[tuple, set] = defaultdict(set)

    def row(at, player):
        return out[(local_day(at), player.jurisdiction, player.currency)]

    for p in Player.objects.all():
        row(p.created_at, p)["registrations"] += 1
    calls = WalletTransaction.objects.filter(ledger_transaction__isnull=False).select_related(
        "player", "ledger_transaction"
    )
    bets = {c.transaction_id: c for c in calls if c.kind == "bet"}
    for c in calls:
        r, at = row(c.ledger_transaction.created_at, c.player), c.ledger_transaction.created_at
        if c.kind == "bet":
            r["bets"] += c.amount
            r["bonus_cost"] += c.bonus_amount
            active[(local_day(at), c.player.jurisdiction, c.player.currency)].add(c.player_id)
        elif c.kind == "rollback":
            bet = bets[c.reference_transaction_id]
            r["bets"] -= bet.amount
            r["bonus_cost"] -= bet.bonus_amount
        elif c.kind == "win":
            r["wins"] += c.amount
            r["bonus_cost"] -= c.ledger_transaction.metadata["bonus"]
    for t in Transaction.objects.filter(kind="bonus_conversion").prefetch_related(
        "postings__account__player"
    ):
        cash = next(p for p in t.postings.all() if p.account.kind == "player_cash")
        row(t.created_at, cash.account.player)["bonus_cost"] += cash.amount
    first_credit: dict[int, datetime] = {}
    for pay in Payment.objects.select_related("player", "credit_txn", "settle_txn"):
        if pay.kind == "deposit" and pay.credit_txn is not None:
            r = row(pay.credit_txn.created_at, pay.player)
            r["deposits_count"] += 1
            r["deposits_amount"] += pay.amount
            at = first_credit.get(pay.player_id)
            first_credit[pay.player_id] = (
                min(at, pay.credit_txn.created_at) if at else pay.credit_txn.created_at
            )
        if pay.kind == "withdrawal" and pay.settle_txn is not None and pay.settle_txn.kind == "withdrawal":
            r = row(pay.settle_txn.created_at, pay.player)
            r["withdrawals_count"] += 1
            r["withdrawals_amount"] += pay.amount
    players = {p.pk: p for p in Player.objects.all()}
    for player_id, at in first_credit.items():
        row(at, players[player_id])["ftd_count"] += 1
    for key, ids in active.items():
        out[key]["active_players"] = len(ids)
    for r in out.values():
        r["ggr"] = r["bets"] - r["wins"]
        r["ngr"] = r["ggr"] - r["bonus_cost"]
    return out


def direct_games() -> dict[tuple, dict[str, int]]:
    out: dict[tuple, dict] = defaultdict(lambda: {"bets": 0, "wins": 0, "rounds": set(), "players": set()})
    calls = list(
        WalletTransaction.objects.filter(ledger_transaction__isnull=False).select_related(
            "ledger_transaction"
        )
    )
    bets = {c.transaction_id: c for c in calls if c.kind == "bet"}
    for c in calls:
        r = out[
            (
                local_day(c.ledger_transaction.created_at),
                c.game_id,
                c.currency or bets[c.reference_transaction_id].currency,
            )
        ]
        if c.kind == "bet":
            r["bets"] += c.amount
            r["rounds"].add(c.round_id)
            r["players"].add(c.player_id)
        elif c.kind == "rollback":
            r["bets"] -= bets[c.reference_transaction_id].amount
        else:
            r["wins"] += c.amount
    return {
        k: {
            "bets": v["bets"],
            "wins": v["wins"],
            "ggr": v["bets"] - v["wins"],
            "rounds": len(v["rounds"]),
            "players": len(v["players"]),
        }
        for k, v in out.items()
    }


def direct_payments() -> dict[tuple, dict[str, int]]:
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pay in Payment.objects.select_related("credit_txn", "settle_txn"):
        key = (pay.provider, pay.method, pay.currency, pay.kind)
        out[(local_day(pay.created_at), pay.provider, "", pay.currency, pay.kind)]["attempts"] += 1
        done = pay.credit_txn if pay.kind == "deposit" else pay.settle_txn
        if done is not None and done.kind in ("deposit", "withdrawal"):
            r = out[(local_day(done.created_at), *key)]
            r["successes"] += 1
            r["amount"] += pay.amount
            r["fees"] += pay.fee
    return out


def _rollup_market() -> dict[tuple, dict[str, int]]:
    fields = [*rollups.MARKET_FIELDS, "active_players"]
    return {
        (r.day, r.market, r.currency): {f: getattr(r, f) for f in fields if getattr(r, f)}
        for r in DailyMarket.objects.all()
    }


def _nonzero(d: dict) -> dict:
    return {k: {f: n for f, n in v.items() if n} for k, v in d.items() if any(v.values())}


@pytest.fixture
def malta(settings):
    settings.REPORTS_TIMEZONE = "Europe/Malta"


@pytest.mark.parametrize("seed", [7, 2026])
def test_incremental_rollups_equal_the_rebuild_and_a_direct_aggregation(client, operators, malta, seed):
    rnd = random.Random(seed)
    days = [date(2026, 3, 27), date(2026, 3, 28), date(2026, 3, 29)]  # the 29th: summer time, 23 hours
    start = datetime(2026, 3, 27, tzinfo=MALTA)
    with time_machine.travel(start - timedelta(days=1), tick=False) as clock:
        fx_rates_import(
            content=b"date,currency,rate\n2026-03-26,SEK,11.0\n2026-03-26,GBP,0.85\n", source="test"
        )
        casino = Casino(rnd=rnd, client=client, finance=operators["finance"])
        casino.setup()
        refreshes = 0
        for day in days:
            day_start, day_end = rollups.day_bounds(day)
            nightly = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("UTC")).replace(
                hour=1, minute=15
            )
            finalised = False
            for i, at in enumerate(times_in(rnd, day_start, day_end, 36)):
                if not finalised and at >= nightly:
                    clock.move_to(nightly)
                    rollups.rollup_finalise()
                    finalised = True
                clock.move_to(at)
                casino.step()
                if i % 6 == 5:
                    rollups.rollup_refresh()
                    refreshes += 1
        clock.move_to(rollups.day_bounds(days[-1])[1] - timedelta(seconds=1))
        rollups.rollup_refresh()
        incremental = all_rollups()

        # The rebuild over the same range (days before today come out final, as the nightly
        # finalise left them) gives the same rows.
        results = rollups.rollup_rebuild(day_from=days[0], day_to=days[-1])
        assert [r.final for r in results] == [True, True, False]
        assert all_rollups() == incremental

    report = ledger_check()
    assert report.ok, report.violations
    # The scenario exercised every source.
    for what in (
        "bet",
        "win",
        "rollback",
        "deposit_ok",
        "deposit_failed",
        "bonus",
        "convert",
        "withdraw_paid",
    ):
        assert casino.counts.get(what, 0) > 0, (what, casino.counts)
    assert set(DailyMarket.objects.values_list("market", "currency")) >= {
        ("MT", "EUR"),
        ("MT", "SEK"),
        ("DE", "EUR"),
    }

    # Both equal the direct aggregation.
    assert _rollup_market() == _nonzero(direct_market())
    got_games = {
        (g.day, g.game_id, g.currency): {
            f: getattr(g, f) for f in ("bets", "wins", "ggr", "rounds", "players")
        }
        for g in DailyGame.objects.all()
    }
    assert got_games == direct_games()
    got_payments = {
        (p.day, p.provider, p.method, p.currency, p.direction): {
            f: getattr(p, f) for f in ("attempts", "successes", "amount", "fees") if getattr(p, f)
        }
        for p in DailyPayment.objects.all()
    }
    assert got_payments == _nonzero(direct_payments())
    # The hours add up to their day, and the EUR twins follow the day's rate.
    for dm in DailyMarket.objects.all():
        hours = MarketHour.objects.filter(day=dm.day, market=dm.market, currency=dm.currency)
        assert sum(h.ggr for h in hours) == dm.ggr
        assert sum(h.new_active_players for h in hours) == dm.active_players
        assert dm.ggr_eur == dm.bets_eur - dm.wins_eur
    # The nightly runs finalised each day before the last (the 26th too: an empty day).
    assert sorted(RollupDay.objects.filter(final=True).values_list("day", flat=True)) == [
        date(2026, 3, 26),
        *days[:2],
    ]
