"""Money: an integer amount in minor units with its ISO 4217 currency.

The ledger stores minor units (`BigIntegerField`); `Decimal` appears only at the edges:
parsing "20.00" from a PSP or an operator's form, and display. Floats are refused
everywhere (TypeError), and so is arithmetic across currencies (CurrencyMismatch).

One display format everywhere: the ISO code, a space, thousands separated by commas,
the currency's own number of decimals: "EUR 1,234.50", "EUR -3.00", "JPY 1,200". The code
(not a symbol) because SEK, NOK and DKK all write "kr" and USD/CAD/AUD all write "$"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

# ISO 4217 minor-unit exponents for the currencies we may meet. A currency missing here is
# refused rather than guessed: the exponent decides what "12.50" means.
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "EUR SEK GBP USD NOK DKK CHF CAD AUD NZD PLN CZK HUF RON BGN BRL MXN INR ZAR TRY "
        "CNY HKD SGD THB PHP MYR ILS AED SAR ARS PEN COP UAH GEL KZT".split(),
        2,
    ),
    **dict.fromkeys("JPY KRW ISK CLP VND PYG UGX XAF XOF".split(), 0),
    **dict.fromkeys("BHD KWD OMR JOD TND IQD LYD".split(), 3),
}

_DECIMAL_RE = re.compile(r"^([+-]?)(\d+)(?:\.(\d+))?$")

UNKNOWN_CURRENCY = "Unknown currency {currency!r}."
TOO_MANY_DECIMALS = "{currency} has {exp} decimals: {value!r} has more."
NOT_A_NUMBER = "{value!r} is not an amount (write it like 12.50, with a dot and no thousands separator)."


class CurrencyMismatch(ValueError):
    """Arithmetic or comparison between amounts of different currencies."""


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValueError(UNKNOWN_CURRENCY.format(currency=currency)) from None


def _refuse_float(value: object) -> None:
    if isinstance(value, float):
        raise TypeError("Money never takes a float: use an int of minor units or a decimal string.")


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: int  # minor units (cents, öre, yen)
    currency: str  # ISO 4217, upper case

    def __post_init__(self) -> None:
        _refuse_float(self.amount)
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"Money.amount is an int of minor units, not {type(self.amount).__name__}.")
        if not isinstance(self.currency, str):
            raise TypeError("Money.currency is an ISO 4217 code.")
        exponent(self.currency)

    # --- construction ----------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, value: str | Decimal, currency: str) -> Money:
        """From a decimal string ("12.50", "-3", "1200") or a Decimal, in major units.
        Refuses more decimals than the currency has, floats, and thousands separators."""
        _refuse_float(value)
        exp = exponent(currency)
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(NOT_A_NUMBER.format(value=str(value)))
            value = format(value, "f")
        if not isinstance(value, str):
            raise TypeError(f"Money.parse takes a decimal string or Decimal, not {type(value).__name__}.")
        m = _DECIMAL_RE.match(value.strip())
        if not m:
            raise ValueError(NOT_A_NUMBER.format(value=value))
        sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
        if len(frac) > exp:
            raise ValueError(TOO_MANY_DECIMALS.format(currency=currency, exp=exp, value=value))
        minor = int(whole) * 10**exp + (int(frac.ljust(exp, "0")) if exp else 0)
        return cls(-minor if sign == "-" else minor, currency)

    # --- output ----------------------------------------------------------------------

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def to_decimal_string(self) -> str:
        """What APIs and PSPs get: "25.00", "-3.10", "1200" (JPY). No separators."""
        exp = exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"

    def format(self) -> str:
        """For people: "EUR 1,234.50"."""
        exp = exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        return f"{self.currency} {sign}{whole:,}" + (f".{frac:0{exp}d}" if exp else "")

    def __str__(self) -> str:
        return self.format()

    # --- arithmetic: same currency only, ints only -------------------------------------

    def _same(self, other: object) -> Money:
        _refuse_float(other)
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}.")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: int) -> Money:
        _refuse_float(factor)
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money multiplies by an int only (rates and percentages round explicitly).")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0


def format_minor(amount: int | None, currency: str) -> str:
    """Display helper for raw ledger columns (an int of minor units and a currency)."""
    if amount is None:
        return "-"
    return Money(amount, currency).format()


class MoneyField(forms.Field):
    """A form field for an amount an operator types in major units ("12.50"), never
    minor units. Cleans to a Money in `currency` (set it in the form's __init__ when it
    depends on the player). Positive only unless allow_negative."""

    def __init__(self, *, currency: str | None = None, allow_negative: bool = False, **kwargs):
        self.currency = currency
        self.allow_negative = allow_negative
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("placeholder", "12.50")
        self.widget.attrs.setdefault("autocomplete", "off")

    def to_python(self, value):
        value = value.strip() if isinstance(value, str) else value
        if value in self.empty_values:
            return None
        if isinstance(value, Money):
            return value
        if not self.currency:
            raise ValidationError("No currency is known for this amount.", code="no_currency")
        try:
            money = Money.parse(value, self.currency)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None
        if money.amount == 0 or (money.amount < 0 and not self.allow_negative):
            raise ValidationError("Enter an amount greater than zero.", code="not_positive")
        return money

    def prepare_value(self, value):
        return value.to_decimal_string() if isinstance(value, Money) else value
