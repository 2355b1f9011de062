"""Helpers the definitions share: the reporting-day bounds of a range, the as-of time of
rollup-based reports, the filter fields."""

from datetime import date, datetime

from django import forms
from django.db.models import Max
from django.utils import timezone

from reports.fx import EUR
from reports.rollups import day_bounds

MARKETS = [
    ("", "All markets"),
    ("MT", "Malta"),
    ("SE", "Sweden"),
    ("GB", "United Kingdom"),
    ("FI", "Finland"),
    ("DE", "Germany"),
]
CURRENCIES = [("", "All"), ("EUR", "EUR"), ("SEK", "SEK"), ("GBP", "GBP"), ("NOK", "NOK"), ("USD", "USD")]


def market_field() -> forms.ChoiceField:
    return forms.ChoiceField(label="Market", choices=MARKETS, required=False)


def currency_field(*, all_label: str = "All") -> forms.ChoiceField:
    return forms.ChoiceField(label="Currency", choices=[("", all_label), *CURRENCIES[1:]], required=False)


def reporting_currency_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Currency",
        choices=[(EUR, "EUR (every currency converted)"), *[c for c in CURRENCIES[2:]]],
        required=False,
        help_text="EUR converts every currency at the day's FX rate; another shows that currency's rows only.",
    )


def range_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    return day_bounds(date_from)[0], day_bounds(date_to)[1]


def rollup_as_of(model, date_from: date, date_to: date) -> datetime:
    """The rollups' as-of time: when the newest row of the range was computed (now when the
    range has no rows)."""
    at = model.objects.filter(day__gte=date_from, day__lte=date_to).aggregate(m=Max("computed_at"))["m"]
    return at or timezone.now()


def cutoff_as_of(cutoff: datetime) -> datetime:
    """Source-table reports at the end of a range: as of the end, or now if it is later."""
    return min(cutoff, timezone.now())


def ratio(num, den):
    """A fraction (Decimal-friendly), None when the denominator is 0."""
    from decimal import Decimal

    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.0001")) if den else None
