from decimal import Decimal

import pytest
from django.template import Context, Template
from hypothesis import given
from hypothesis import strategies as st

from backoffice.money import EXPONENTS, CurrencyMismatch, Money, MoneyField

currencies = st.sampled_from(sorted(EXPONENTS))
amounts = st.integers(min_value=-(10**15), max_value=10**15)


@given(amounts, currencies)
def test_decimal_string_round_trips(amount, currency):
    m = Money(amount, currency)
    assert Money.parse(m.to_decimal_string(), currency) == m
    assert Money.parse(m.to_decimal(), currency) == m


@given(amounts, currencies)
def test_format_round_trips_once_separators_are_removed(amount, currency):
    shown = Money(amount, currency).format()
    code, number = shown.split(" ", 1)
    assert code == currency
    assert Money.parse(number.replace(",", ""), currency).amount == amount


@given(amounts, amounts, amounts, currencies)
def test_addition_is_exact_and_associative(a, b, c, currency):
    ma, mb, mc = Money(a, currency), Money(b, currency), Money(c, currency)
    assert (ma + mb) + mc == ma + (mb + mc) == Money(a + b + c, currency)
    assert ma - ma == Money.zero(currency)


@pytest.mark.parametrize(
    "text,currency,minor",
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "SEK", 1200),
        ("-3.01", "GBP", -301),
        ("  7.00 ", "USD", 700),
        ("1200", "JPY", 1200),
        ("1.234", "KWD", 1234),
        ("0.01", "NOK", 1),
    ],
)
def test_parse(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    "text,currency",
    [
        ("12.505", "EUR"),
        ("1.5", "JPY"),
        ("1,234.50", "EUR"),
        ("12,50", "EUR"),
        ("", "EUR"),
        ("abc", "EUR"),
        ("1e3", "EUR"),
        ("NaN", "EUR"),
        ("12.50", "XXX"),
    ],
)
def test_parse_refuses(text, currency):
    with pytest.raises(ValueError):
        Money.parse(text, currency)


def test_floats_are_refused_everywhere():
    m = Money(100, "EUR")
    for call in (
        lambda: Money(1.5, "EUR"),
        lambda: Money.parse(12.5, "EUR"),
        lambda: m + 1.5,
        lambda: m * 1.5,
        lambda: m < 1.5,
    ):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError):
        Money(True, "EUR")
    with pytest.raises(TypeError):
        Money.parse(12, "EUR")  # an int is ambiguous here: major or minor units?


def test_mixed_currency_arithmetic_is_refused():
    with pytest.raises(CurrencyMismatch):
        Money(100, "EUR") + Money(100, "SEK")
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, "EUR") < Money(100, "SEK")
    assert Money(100, "EUR") != Money(100, "SEK")


@pytest.mark.parametrize(
    "minor,currency,shown,decimal",
    [
        (123450, "EUR", "EUR 1,234.50", "1234.50"),
        (-300, "SEK", "SEK -3.00", "-3.00"),
        (5, "GBP", "GBP 0.05", "0.05"),
        (1200000, "JPY", "JPY 1,200,000", "1200000"),
        (0, "USD", "USD 0.00", "0.00"),
    ],
)
def test_format_and_decimal_string(minor, currency, shown, decimal):
    m = Money(minor, currency)
    assert m.format() == str(m) == shown
    assert m.to_decimal_string() == decimal
    assert m.to_decimal() == Decimal(decimal)


def test_template_filter():
    t = Template("{% load money %}{{ a|money:c }}|{{ m|money }}|{{ n|money:c }}|{{ a|money_decimal:c }}")
    out = t.render(Context({"a": 123450, "c": "EUR", "m": Money(700, "SEK"), "n": None}))
    assert out == "EUR 1,234.50|SEK 7.00|-|1234.50"


def test_money_field_takes_major_units():
    f = MoneyField(currency="EUR")
    assert f.clean("12.50") == Money(1250, "EUR")
    for bad in ("12.505", "0", "-5.00", "1,000"):
        with pytest.raises(Exception) as exc:
            f.clean(bad)
        assert exc.type.__name__ == "ValidationError"
    assert MoneyField(currency="EUR", allow_negative=True).clean("-5") == Money(-500, "EUR")
    assert f.prepare_value(Money(1250, "EUR")) == "12.50"
    assert MoneyField(currency="EUR", required=False).clean("") is None
