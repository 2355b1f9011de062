"""FX for reporting: daily rates kept as data (FxRate), imported from a CSV, and the
conversion of minor units into euro cents. A day uses its own rate or the latest earlier
one; a currency with no rate on or before the day has no EUR figure (None), and the
caller reports it: never a silent 1.0."""

import csv
import io
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import EXPONENTS

from .models import FxRate

EUR = "EUR"
CSV_HEADER = ["date", "currency", "rate"]

EMPTY_FILE = "The file holds no rates."
BAD_HEADER = "The first line must be the header date,currency,rate (got {got})."
BAD_DATE = "Line {line}: {value!r} is not a date (write 2026-01-31)."
BAD_CURRENCY = "Line {line}: {value!r} is not a currency we know."
BAD_RATE = "Line {line}: {value!r} is not a positive rate (units of the currency per 1 EUR, like 11.4250)."
EUR_RATE = "Line {line}: the euro's rate is 1 by definition; leave it out."
DUPLICATE = "Line {line}: {currency} on {day} appears twice in the file."
NOT_UTF8 = "The file is not UTF-8 text."


def _parse(content: bytes) -> list[tuple[date, str, Decimal]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("fx_not_utf8", NOT_UTF8, field="file") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise DomainError("fx_empty", EMPTY_FILE, field="file")
    header = [c.strip().lower() for c in rows[0]]
    if header != CSV_HEADER:
        raise DomainError("fx_bad_header", BAD_HEADER.format(got=",".join(rows[0])), field="file")
    out, seen = [], set()
    for line, row in enumerate(rows[1:], start=2):
        raw_day, cur, raw_rate = ([c.strip() for c in row] + ["", "", ""])[:3]
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise DomainError(
                "fx_bad_date", BAD_DATE.format(line=line, value=raw_day), field="file"
            ) from None
        cur = cur.upper()
        if cur not in EXPONENTS:
            raise DomainError("fx_bad_currency", BAD_CURRENCY.format(line=line, value=cur), field="file")
        if cur == EUR:
            raise DomainError("fx_eur_rate", EUR_RATE.format(line=line), field="file")
        try:
            rate = Decimal(raw_rate)
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or rate <= 0 or rate >= Decimal("1e10"):
            raise DomainError("fx_bad_rate", BAD_RATE.format(line=line, value=raw_rate), field="file")
        if (day, cur) in seen:
            raise DomainError(
                "fx_duplicate", DUPLICATE.format(line=line, currency=cur, day=day), field="file"
            )
        seen.add((day, cur))
        out.append((day, cur, rate.quantize(Decimal("0.00000001"))))
    return out


@transaction.atomic
def fx_rates_import(*, content: bytes, source: str, actor=None) -> dict:
    """Import a CSV of daily rates (header date,currency,rate; rate = units of the currency
    per 1 EUR). All or nothing: any bad line refuses the whole file (fx_* codes). A rate
    already held for a day and currency is replaced. One audit event."""
    rows = _parse(content)
    existing = {
        (r.date, r.currency): r
        for r in FxRate.objects.select_for_update().filter(
            date__in={d for d, _c, _r in rows}, currency__in={c for _d, c, _r in rows}
        )
    }
    now = timezone.now()
    created = changed = 0
    new = []
    for day, cur, rate in rows:
        row = existing.get((day, cur))
        if row is None:
            new.append(FxRate(date=day, currency=cur, rate=rate, source=source[:100], imported_at=now))
            created += 1
        elif row.rate != rate:
            FxRate.objects.filter(pk=row.pk).update(rate=rate, source=source[:100], imported_at=now)
            changed += 1
    FxRate.objects.bulk_create(new)
    summary = {
        "rows": len(rows),
        "created": created,
        "changed": changed,
        "from": str(min(d for d, _c, _r in rows)),
        "to": str(max(d for d, _c, _r in rows)),
        "currencies": sorted({c for _d, c, _r in rows}),
    }
    audit.record(actor=actor, action="reports.fx_rate.import", after=summary, note=source)
    return summary


def rates_on(day: date, currencies) -> dict[str, Decimal | None]:
    """Each currency's rate for `day`: the day's own or the latest earlier one; None when
    there is none. EUR is 1. One query per non-euro currency (a handful; indexed)."""
    out: dict[str, Decimal | None] = {}
    for cur in sorted(set(currencies)):
        if cur == EUR:
            out[cur] = Decimal(1)
            continue
        out[cur] = (
            FxRate.objects.filter(currency=cur, date__lte=day)
            .order_by("-date")
            .values_list("rate", flat=True)
        ).first()
    return out


def to_eur(amount: int, currency: str, rate: Decimal | None) -> int | None:
    """Minor units of `currency` in euro cents at `rate` (units per 1 EUR), half-even."""
    if rate is None:
        return None
    if currency == EUR:
        return amount
    cents = Decimal(amount) * (Decimal(10) ** (2 - EXPONENTS[currency])) / rate
    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
