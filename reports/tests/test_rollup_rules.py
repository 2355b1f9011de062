"""The rollup rules one at a time: the day's boundary in the reporting time zone, an
idempotent re-run, a final day left to final runs, the gaming tax per market, the rebuild
command's refusals, the today-against-yesterday selector, and a constant query count."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from compliance.models import Jurisdiction
from compliance.selectors import clear_rule_cache
from compliance.services import rule_change
from reports import rollups, selectors, tasks
from reports.models import DailyGame, DailyMarket, MarketHour, RollupDay
from wallet.models import Account, Transaction
from wallet.services import Leg, player_accounts_ensure, transaction_post
from wallet.tests import factories as wf

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def win(player, amount: int) -> None:
    cash = player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    transaction_post(
        kind=Transaction.Kind.WIN,
        idempotency_key=wf.key("win"),
        legs=[Leg(cash, amount), Leg(wf.provider(player.currency), -amount)],
    )


def at(*args) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


@pytest.mark.parametrize(
    "tz, day, hour",
    [
        ("UTC", date(2026, 1, 10), 23),
        ("Europe/Malta", date(2026, 1, 11), 0),
        ("America/New_York", date(2026, 1, 10), 18),
    ],
)
def test_a_day_and_its_hours_are_the_reporting_time_zones(settings, tz, day, hour):
    settings.REPORTS_TIMEZONE = tz
    with at(2026, 1, 10, 23, 30):
        player = wf.PlayerFactory()
        wf.fund(player, 1_000)
        wf.bet(player, 400)
    with at(2026, 1, 12, 12):
        rollups.rollup_rebuild(day_from=date(2026, 1, 9), day_to=date(2026, 1, 11))
    dm = DailyMarket.objects.get()
    assert (dm.day, dm.registrations, dm.ftd_count, dm.deposits_amount, dm.bets, dm.active_players) == (
        day,
        1,
        1,
        1_000,
        400,
        1,
    )
    assert list(MarketHour.objects.values_list("day", "hour")) == [(day, hour)]


def test_a_dst_day_has_23_hours_and_both_halves_of_the_night_land_on_it(settings):
    settings.REPORTS_TIMEZONE = "Europe/Malta"
    start, end = rollups.day_bounds(date(2026, 3, 29))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    player = wf.PlayerFactory()
    for t in (start, start + timedelta(hours=1, minutes=30), end - timedelta(microseconds=1)):
        with time_machine.travel(t, tick=False):
            wf.fund(player, 100)
    with time_machine.travel(end + timedelta(hours=1), tick=False):
        wf.fund(player, 100)  # the next day
        rollups.rollup_rebuild(day_from=date(2026, 3, 29), day_to=date(2026, 3, 30))
    hours = dict(MarketHour.objects.filter(day=date(2026, 3, 29)).values_list("hour", "deposits_count"))
    assert hours == {0: 1, 1: 1, 23: 1}  # 01:30 UTC+1; 02:00-03:00 does not exist that night
    assert DailyMarket.objects.get(day=date(2026, 3, 30)).deposits_count == 1


def test_a_rerun_is_idempotent():
    with at(2026, 2, 3, 10):
        player = wf.PlayerFactory(jurisdiction="MT")
        wf.fund(player, 5_000)
        wf.bet(player, 1_200)
        win(player, 300)
        first = rollups.rollup_day(date(2026, 2, 3))
        rows = list(DailyMarket.objects.values("bets", "wins", "ggr", "ngr", "deposits_amount"))
        second = rollups.rollup_day(date(2026, 2, 3))
    assert (first.market_rows, first.hour_rows) == (second.market_rows, second.hour_rows) == (1, 1)
    assert list(DailyMarket.objects.values("bets", "wins", "ggr", "ngr", "deposits_amount")) == rows
    assert rows == [{"bets": 1_200, "wins": 300, "ggr": 900, "ngr": 900, "deposits_amount": 5_000}]
    # Bets posted straight on the ledger (no wallet-API call) have no game: no game row.
    assert not DailyGame.objects.exists()


def test_a_final_day_is_not_rewritten_by_the_refresh_but_by_a_rebuild():
    player = wf.PlayerFactory()
    with at(2026, 2, 3, 10):
        wf.fund(player, 5_000)
    with at(2026, 2, 4, 1, 15):
        assert rollups.rollup_finalise().day == date(2026, 2, 3)
    with at(2026, 2, 3, 23, 59):  # a late posting for the finalised day
        wf.fund(player, 1_000)
    with at(2026, 2, 4, 9):
        results = rollups.rollup_refresh()
    assert [r.day for r in results] == [date(2026, 2, 4)]  # yesterday is final: left alone
    dm = DailyMarket.objects.get(day=date(2026, 2, 3))
    assert (dm.deposits_amount, dm.final) == (5_000, True)
    assert rollups.rollup_day(date(2026, 2, 3)).skipped  # a non-final run leaves a final day
    with at(2026, 2, 4, 9):
        call_command("rebuild_rollups", "--from", "2026-02-03", "--to", "2026-02-04")
    dm = DailyMarket.objects.get(day=date(2026, 2, 3))
    assert (dm.deposits_amount, dm.deposits_count, dm.final) == (6_000, 2, True)
    assert AuditEvent.objects.filter(action="reports.rollup.rebuild").count() == 1


def test_the_refresh_covers_yesterday_until_it_is_final():
    with at(2026, 2, 3, 23, 50):
        wf.fund(wf.PlayerFactory(), 100)
    with at(2026, 2, 4, 0, 5):
        assert [r["day"] for r in tasks.rollup_refresh_task()] == ["2026-02-04", "2026-02-03"]
    assert DailyMarket.objects.get(day=date(2026, 2, 3)).final is False
    with at(2026, 2, 4, 1, 15):
        assert tasks.rollup_finalise_task() == {"day": "2026-02-03", "final": True, "missing_rates": []}
    assert DailyMarket.objects.get(day=date(2026, 2, 3)).final is True


def _tax_rule(market: str, currency: str, rate_bp: int, since: datetime) -> None:
    # The seeded rules (compliance migration 0002) hold these rates; set here so the test
    # does not depend on seed data, and to add a later version.
    Jurisdiction.objects.get_or_create(code=market, defaults={"name": market, "currency": currency})
    rule_change(
        jurisdiction=market,
        key="gaming_tax_rate_bp",
        value=rate_bp,
        source="test",
        effective_from=since,
        actor=None,
    )
    clear_rule_cache()


@pytest.mark.parametrize(
    "market, currency, rate_bp", [("MT", "EUR", 500), ("SE", "SEK", 2200), ("GB", "GBP", 2100)]
)
def test_gaming_tax_is_the_markets_rate_of_ggr_and_negative_on_a_losing_day(market, currency, rate_bp):
    _tax_rule(market, currency, rate_bp, datetime(2026, 1, 1, tzinfo=UTC))
    winner = wf.PlayerFactory(jurisdiction=market, currency=currency)
    loser = wf.PlayerFactory(jurisdiction=market, currency=currency)
    with at(2026, 2, 3, 10):
        wf.fund(loser, 10_000)
        wf.bet(loser, 10_000)
    with at(2026, 2, 4, 10):
        wf.fund(winner, 1_000)
        wf.bet(winner, 1_000)
        win(winner, 3_000)
    with at(2026, 2, 5, 10):
        rollups.rollup_rebuild(day_from=date(2026, 2, 3), day_to=date(2026, 2, 4))
    d1, d2 = DailyMarket.objects.order_by("day")
    assert (d1.ggr, d1.gaming_tax_rate_bp, d1.gaming_tax) == (10_000, rate_bp, 10_000 * rate_bp // 10_000)
    assert (d2.ggr, d2.gaming_tax) == (-2_000, -2_000 * rate_bp // 10_000)


def test_the_tax_rate_is_the_version_in_force_at_the_days_end():
    _tax_rule("MT", "EUR", 500, datetime(2026, 1, 1, tzinfo=UTC))
    _tax_rule("MT", "EUR", 600, datetime(2026, 2, 4, 12, tzinfo=UTC))  # from noon on the 4th
    player = wf.PlayerFactory(jurisdiction="MT")
    for day in (3, 4):
        with at(2026, 2, day, 10):
            wf.fund(player, 1_000)
            wf.bet(player, 1_000)
    with at(2026, 2, 5, 10):
        rollups.rollup_rebuild(day_from=date(2026, 2, 3), day_to=date(2026, 2, 4))
    assert list(DailyMarket.objects.order_by("day").values_list("gaming_tax_rate_bp", "gaming_tax")) == [
        (500, 50),
        (600, 60),
    ]


def test_a_market_without_a_tax_rule_owes_nothing_and_says_so():
    with at(2026, 2, 3, 10):
        player = wf.PlayerFactory(jurisdiction="ZZ")
        wf.fund(player, 1_000)
        wf.bet(player, 1_000)
        rollups.rollup_day(date(2026, 2, 3))
    dm = DailyMarket.objects.get()
    assert (dm.ggr, dm.gaming_tax_rate_bp, dm.gaming_tax) == (1_000, None, 0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2026-02-05", "--to", "2026-02-03"], "after the last"),
        (["--from", "2026-02-03", "--to", "2026-02-11"], "in the future"),
        (["--from", "3 Feb", "--to", "2026-02-03"], "is not a date"),
    ],
)
def test_rebuild_refuses_a_bad_range_and_changes_nothing(args, message):
    with at(2026, 2, 10, 12):
        with pytest.raises(CommandError, match=message):
            call_command("rebuild_rollups", *args)
    assert not RollupDay.objects.exists()
    assert not AuditEvent.objects.filter(action="reports.rollup.rebuild").exists()


def test_rebuild_service_names_the_field_at_fault():
    with at(2026, 2, 10, 12), pytest.raises(DomainError) as exc:
        rollups.rollup_rebuild(day_from=date(2026, 2, 5), day_to=date(2026, 2, 3))
    assert (exc.value.code, exc.value.field) == ("range_reversed", "from")


def test_today_against_yesterday_at_the_same_time():
    player = wf.PlayerFactory()
    for day, hours in ((3, (8, 13, 15)), (4, (9, 14))):
        for h in hours:
            with at(2026, 2, day, h, 10):
                wf.fund(player, 100 * h)
    with at(2026, 2, 4, 14, 30):
        rollups.rollup_refresh()
        cmp = selectors.today_vs_yesterday_same_time()
    assert cmp["through"] == "14:00"
    # Complete hours before 14:00: yesterday 08h and 13h, today 09h; today so far adds 14h.
    assert (cmp["yesterday"]["deposits_amount"], cmp["yesterday"]["deposits_count"]) == (2_100, 2)
    assert (cmp["today"]["deposits_amount"], cmp["today_so_far"]["deposits_amount"]) == (900, 2_300)
    assert cmp["computed_at"] is not None
    totals = selectors.market_totals(date(2026, 2, 3), date(2026, 2, 4))
    assert (totals["deposits_amount"], totals["deposits_count"], totals["ftd_count"]) == (5_900, 5, 1)
    series = selectors.market_daily(date(2026, 2, 1), date(2026, 2, 28))
    assert [(s["day"], s["deposits_amount"]) for s in series] == [
        (date(2026, 2, 3), 3_600),
        (date(2026, 2, 4), 2_300),
    ]


def _queries(day: date) -> int:
    clear_rule_cache()  # the tax rule is cached per process: measure the cold path each time
    with CaptureQueriesContext(connection) as ctx:
        rollups.rollup_day(day)
    return len(ctx.captured_queries)


def test_a_day_costs_the_same_number_of_queries_whatever_its_size():
    def activity(n: int) -> None:
        for _ in range(n):
            p = wf.PlayerFactory(jurisdiction="MT", currency="EUR")
            wf.fund(p, 1_000)
            wf.bet(p, 500)
            win(p, 100)

    with at(2026, 2, 3, 10):
        activity(1)
    with at(2026, 2, 4, 10):
        activity(12)
    with at(2026, 2, 5, 10):
        assert _queries(date(2026, 2, 3)) == _queries(date(2026, 2, 4))
