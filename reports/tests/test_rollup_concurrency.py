"""Two workers recomputing the same day at once (a slow minute refresh overlapping the
next, or a redelivered task) serialise on the day's RollupDay row: both succeed and the
rows are those of one run, never doubled or a unique-key error."""

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections

from reports.models import DailyMarket, MarketHour, RollupDay
from reports.rollups import rollup_day
from wallet.tests import factories as wf

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    assert connection.vendor == "postgresql", "These tests need DATABASE_URL pointing at PostgreSQL."


def test_concurrent_recomputes_of_one_day_serialise():
    day = date(2026, 2, 3)
    with time_machine.travel(datetime(2026, 2, 3, 10, tzinfo=ZoneInfo("UTC")), tick=False):
        for market in ("MT", "DE", "FI"):
            player = wf.PlayerFactory(jurisdiction=market)
            wf.fund(player, 1_000)
            wf.bet(player, 250)
    barrier = threading.Barrier(6)
    errors: list = []

    def run() -> None:
        try:
            barrier.wait()
            rollup_day(day)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert RollupDay.objects.filter(day=day).count() == 1
    assert sorted(DailyMarket.objects.values_list("market", "bets", "deposits_amount")) == [
        ("DE", 250, 1_000),
        ("FI", 250, 1_000),
        ("MT", 250, 1_000),
    ]
    assert MarketHour.objects.count() == 3
