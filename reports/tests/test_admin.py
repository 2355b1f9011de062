"""The rollup lists in the console: finance, compliance and administrators read them,
support and marketing do not; every list runs a fixed number of queries; nothing is
editable there."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import fx
from reports.rollups import rollup_day
from wallet.tests import factories as wf

pytestmark = pytest.mark.django_db
LISTS = [
    "reports_dailymarket_changelist",
    "reports_dailygame_changelist",
    "reports_dailypayment_changelist",
    "reports_rollupday_changelist",
    "reports_fxrate_changelist",
]


def _activity(n: int, day: int) -> None:
    with time_machine.travel(datetime(2026, 2, day, 10, tzinfo=ZoneInfo("UTC")), tick=False):
        for i in range(n):
            p = wf.PlayerFactory(
                jurisdiction=["MT", "SE", "GB"][i % 3], currency=["EUR", "SEK", "GBP"][i % 3]
            )
            wf.fund(p, 1_000)
            wf.bet(p, 300)
        fx.fx_rates_import(content=f"date,currency,rate\n2026-02-{day:02d},SEK,11\n".encode(), source="t")
        rollup_day(date(2026, 2, day))


@pytest.mark.parametrize("url_name", LISTS)
def test_lists_run_a_fixed_number_of_queries(client, operators, url_name):
    client.force_login(operators["finance"])
    url = reverse(f"admin:{url_name}")
    _activity(1, 3)
    _activity(1, 10)
    assert client.get(url).status_code == 200  # the session's first request
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _activity(6, 4)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries) > 0


def test_the_market_list_shows_both_currencies_and_a_missing_rate(client, operators):
    _activity(3, 3)
    client.force_login(operators["compliance"])
    body = client.get(reverse("admin:reports_dailymarket_changelist")).content.decode()
    assert "SEK 3.00" in body  # the SE player's GGR in SEK
    assert "no FX rate" in body  # GBP had no rate
    assert "EUR 0.27" in body  # SEK 3.00 at 11 per euro


@pytest.mark.parametrize(
    "who, status",
    [("finance", 200), ("compliance", 200), ("admin", 200), ("support", 403), ("marketing", 403)],
)
def test_who_reads_the_rollups(client, operators, who, status):
    client.force_login(operators[who])
    assert client.get(reverse("admin:reports_dailymarket_changelist")).status_code == status


def test_nothing_is_added_or_changed_in_the_console(client, operators):
    client.force_login(operators["admin"])
    assert client.get(reverse("admin:reports_fxrate_add")).status_code == 403
    assert client.get(reverse("admin:reports_dailymarket_add")).status_code == 403
