"""FX rates: the CSV import (all or nothing, clear refusals), the conversion to euro cents,
and a missing rate that is reported rather than guessed."""

import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from reports import fx, selectors
from reports.models import DailyMarket, FxRate, RollupDay
from reports.rollups import rollup_day
from wallet.tests.factories import PlayerFactory, fund

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "fx_rates_sample.csv"
UTC = ZoneInfo("UTC")


def test_the_sample_file_imports_and_a_second_import_changes_nothing():
    call_command("import_fx_rates", str(SAMPLE))
    assert FxRate.objects.count() == 3144
    assert set(FxRate.objects.values_list("currency", flat=True)) >= {"SEK", "GBP", "NOK", "DKK", "USD"}
    assert FxRate.objects.filter(source="fx_rates_sample.csv").count() == 3144
    summary = fx.fx_rates_import(content=SAMPLE.read_bytes(), source="again")
    assert (summary["created"], summary["changed"]) == (0, 0)
    assert AuditEvent.objects.filter(action="reports.fx_rate.import").count() == 2


def test_an_import_replaces_a_changed_rate():
    fx.fx_rates_import(content=b"date,currency,rate\n2026-01-05,SEK,11.5\n", source="a")
    summary = fx.fx_rates_import(content=b"date,currency,rate\n2026-01-05,SEK,11.25\n", source="b")
    assert (summary["created"], summary["changed"]) == (0, 1)
    assert FxRate.objects.get().rate == Decimal("11.25")


@pytest.mark.parametrize(
    "content, code, message",
    [
        (b"", "fx_empty", fx.EMPTY_FILE),
        (b"day,cur,rate\n2026-01-05,SEK,11\n", "fx_bad_header", "must be the header"),
        (b"date,currency,rate\n2026-01-05,SEK,11\n05/01/2026,SEK,11\n", "fx_bad_date", "Line 3"),
        (b"date,currency,rate\n2026-01-05,XYZ,11\n", "fx_bad_currency", "'XYZ'"),
        (b"date,currency,rate\n2026-01-05,SEK,-1\n", "fx_bad_rate", "Line 2"),
        (b"date,currency,rate\n2026-01-05,SEK,abc\n", "fx_bad_rate", "'abc'"),
        (b"date,currency,rate\n2026-01-05,EUR,1\n", "fx_eur_rate", "by definition"),
        (b"date,currency,rate\n2026-01-05,SEK,11\n2026-01-05,sek,11.1\n", "fx_duplicate", "twice"),
        (b"date,currency,rate\n2026-01-05,SEK,\xff\n", "fx_not_utf8", fx.NOT_UTF8),
    ],
)
def test_a_bad_file_is_refused_whole_naming_the_line(content, code, message):
    with pytest.raises(DomainError) as exc:
        fx.fx_rates_import(content=content, source="t")
    assert exc.value.code == code
    assert message in exc.value.message
    assert not FxRate.objects.exists()


def test_the_command_reports_a_bad_file_and_a_missing_one(tmp_path):
    bad = tmp_path / "rates.csv"
    bad.write_text("date,currency,rate\n2026-01-05,GBP,0.85\n2026-01-06,GBP,zero\n")
    with pytest.raises(CommandError, match="Line 3"):
        call_command("import_fx_rates", str(bad))
    assert not FxRate.objects.exists()
    with pytest.raises(CommandError, match="No file"):
        call_command("import_fx_rates", str(tmp_path / "nope.csv"))


@pytest.mark.parametrize(
    "amount, currency, rate, cents",
    [
        (1000, "SEK", Decimal("10"), 100),  # SEK 10.00 at 10 per euro: EUR 1.00
        (12345, "EUR", Decimal("1"), 12345),
        (1000, "JPY", Decimal("160"), 625),  # no decimals: JPY 1,000 = EUR 6.25
        (1000, "BHD", Decimal("0.4"), 250),  # three decimals: BHD 1.000 = EUR 2.50
        (-850, "GBP", Decimal("0.85"), -1000),
        (5, "SEK", Decimal("10"), 0),  # half-even: 0.5 cent rounds to 0
        (15, "SEK", Decimal("10"), 2),  # 1.5 cents rounds to 2
    ],
)
def test_conversion_to_euro_cents(amount, currency, rate, cents):
    assert fx.to_eur(amount, currency, rate) == cents


def test_a_day_uses_its_own_rate_or_the_latest_earlier_one():
    fx.fx_rates_import(
        content=b"date,currency,rate\n2026-01-02,SEK,10\n2026-01-05,SEK,12\n2026-01-07,SEK,11\n", source="t"
    )
    assert fx.rates_on(date(2026, 1, 5), ["SEK"]) == {"SEK": Decimal("12")}
    assert fx.rates_on(date(2026, 1, 6), ["SEK", "EUR"]) == {"EUR": Decimal(1), "SEK": Decimal("12")}
    assert fx.rates_on(date(2026, 1, 1), ["SEK"]) == {"SEK": None}


def test_a_missing_rate_leaves_the_euro_figures_empty_and_is_reported(caplog):
    fx.fx_rates_import(content=b"date,currency,rate\n2026-01-02,SEK,10\n", source="t")
    day = date(2026, 1, 5)
    with time_machine.travel(datetime(2026, 1, 5, 12, tzinfo=UTC), tick=False):
        fund(PlayerFactory(jurisdiction="SE", currency="SEK"), 5_000)
        fund(PlayerFactory(jurisdiction="GB", currency="GBP"), 2_000)
        fund(PlayerFactory(jurisdiction="MT", currency="EUR"), 700)
        with caplog.at_level(logging.WARNING, logger="reports.rollups"):
            result = rollup_day(day)
    assert result.missing_rates == ["GBP"]
    assert "GBP" in caplog.text and "2026-01-05" in caplog.text
    assert RollupDay.objects.get(day=day).missing_rates == [{"currency": "GBP"}]
    rows = {r.currency: r for r in DailyMarket.objects.filter(day=day)}
    assert (rows["SEK"].deposits_amount, rows["SEK"].deposits_amount_eur, rows["SEK"].fx_rate) == (
        5000,
        500,
        10,
    )
    assert (rows["GBP"].deposits_amount, rows["GBP"].deposits_amount_eur, rows["GBP"].fx_rate) == (
        2000,
        None,
        None,
    )
    assert rows["EUR"].deposits_amount_eur == 700
    totals = selectors.market_totals(day, day)
    assert (totals["deposits_amount"], totals["rows_without_rate"]) == (1200, 1)
    # In its own currency the figure is whole.
    assert selectors.market_totals(day, day, currency="GBP")["deposits_amount"] == 2000

    # The rate arrives; a rebuild fills the euro figures in.
    fx.fx_rates_import(content=b"date,currency,rate\n2026-01-04,GBP,0.8\n", source="t")
    with time_machine.travel(datetime(2026, 1, 6, 12, tzinfo=UTC), tick=False):
        call_command("rebuild_rollups", "--from", "2026-01-05", "--to", "2026-01-05")
    assert DailyMarket.objects.get(day=day, currency="GBP").deposits_amount_eur == 2500
    assert RollupDay.objects.get(day=day).missing_rates == []
