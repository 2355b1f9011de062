"""Reconciliation: a provider's settlement report (CSV) matched against our payments.

Each provider's columns are mapped to one shape (MAPPINGS; documented in docs/payments.md):
provider reference, our merchant reference, row type, currency, amount (one signed column
or a credit/debit pair), date. A row whose type is neither a deposit nor a payout (fees,
batch payouts to the merchant, corrections) is skipped and counted. Matching is on the
provider reference first, then our reference; then currency and amount. Our settled
payments in the period that the report does not name are "missing on theirs"."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q

from backoffice import audit
from backoffice.errors import DomainError

from .models import Payment, ReconciliationLine, ReconciliationRun

Line = ReconciliationLine.Result


@dataclass(frozen=True)
class Mapping:
    provider_reference: str
    merchant_reference: str
    type: str
    currency: str
    date: str
    amount: str = ""  # one signed column, or:
    credit: str = ""
    debit: str = ""
    deposit_types: tuple[str, ...] = ()
    withdrawal_types: tuple[str, ...] = ()


MAPPINGS: dict[str, Mapping] = {
    # Adyen "Settlement details report".
    "adyen": Mapping(
        provider_reference="Psp Reference",
        merchant_reference="Merchant Reference",
        type="Type",
        currency="Gross Currency",
        credit="Gross Credit (GC)",
        debit="Gross Debit (GC)",
        date="Creation Date",
        deposit_types=("Settled",),
        withdrawal_types=("PaidOut",),
    ),
    # Trustly settlement (ViewAutomaticSettlementDetailsCSV-style): signed amount.
    "trustly": Mapping(
        provider_reference="orderid",
        merchant_reference="messageid",
        type="ordertype",
        currency="currency",
        amount="amount",
        date="datestamp",
        deposit_types=("Deposit",),
        withdrawal_types=("Withdraw", "AccountPayout"),
    ),
    "nuvei": Mapping(
        provider_reference="Transaction ID",
        merchant_reference="Client Unique ID",
        type="Transaction Type",
        currency="Currency",
        amount="Amount",
        date="Date",
        deposit_types=("Sale", "Settle"),
        withdrawal_types=("Payout",),
    ),
    # Zimpler and Payz publish no settlement format we could read: a generic template.
    "zimpler": Mapping(
        provider_reference="Transaction Id",
        merchant_reference="Merchant Reference",
        type="Type",
        currency="Currency",
        amount="Amount",
        date="Date",
        deposit_types=("deposit",),
        withdrawal_types=("withdrawal",),
    ),
    "payz": Mapping(
        provider_reference="Transaction Id",
        merchant_reference="Merchant Reference",
        type="Type",
        currency="Currency",
        amount="Amount",
        date="Date",
        deposit_types=("deposit",),
        withdrawal_types=("withdrawal",),
    ),
}

MISSING_COLUMNS = "The report lacks the columns {columns} (the {provider} mapping expects them)."
BAD_ROW = "Row {n}: {error}"
NOT_CSV = "This is not a CSV file in UTF-8."
NO_ROWS = "The report has no rows."
_SETTLED = {"deposit": ("succeeded", "reversed"), "withdrawal": ("sent", "paid")}


@dataclass(frozen=True)
class Row:
    n: int
    provider_reference: str
    merchant_reference: str
    type: str
    kind: str  # deposit, withdrawal
    amount: int
    currency: str
    day: date | None
    raw: dict


def _minor(text: str, currency: str) -> int:
    from backoffice.money import exponent

    value = Decimal(text.strip().replace(",", "") or "0")
    return int((value * (10 ** exponent(currency))).to_integral_value())


def _day(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d.%H:%M:%S", "%d/%m/%Y"):
        try:
            return datetime.strptime(text[:19] if "%H" in fmt else text[:10], fmt).date()
        except ValueError:
            continue
    return None


def parse_report(provider: str, content: bytes) -> tuple[list[Row], int]:
    """The report's deposit and payout rows, and how many other rows were skipped."""
    m = MAPPINGS[provider]
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        header = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error):
        raise DomainError("not_csv", NOT_CSV, field="report") from None
    needed = [c for c in (m.provider_reference, m.merchant_reference, m.type, m.currency) if c]
    needed += [m.amount] if m.amount else [m.credit, m.debit]
    missing = [c for c in needed if c not in header]
    if missing:
        raise DomainError(
            "missing_columns",
            MISSING_COLUMNS.format(columns=", ".join(missing), provider=provider),
            field="report",
        )
    rows, skipped = [], 0
    for n, raw in enumerate(reader, start=2):
        kind_type = (raw.get(m.type) or "").strip()
        kind = (
            "deposit"
            if kind_type in m.deposit_types
            else "withdrawal"
            if kind_type in m.withdrawal_types
            else ""
        )
        if not kind:
            skipped += 1
            continue
        currency = (raw.get(m.currency) or "").strip().upper()
        try:
            if m.amount:
                amount = abs(_minor(raw[m.amount], currency))
            else:
                amount = _minor(raw.get(m.credit) or "0", currency) or _minor(
                    raw.get(m.debit) or "0", currency
                )
        except (InvalidOperation, ValueError) as exc:
            raise DomainError("bad_row", BAD_ROW.format(n=n, error=exc), field="report") from None
        rows.append(
            Row(
                n=n,
                provider_reference=(raw.get(m.provider_reference) or "").strip(),
                merchant_reference=(raw.get(m.merchant_reference) or "").strip(),
                type=kind_type,
                kind=kind,
                amount=abs(amount),
                currency=currency,
                day=_day(raw.get(m.date) or "") if m.date else None,
                raw={k: v for k, v in raw.items() if k},
            )
        )
    return rows, skipped


def _verdict(row: Row, payment: Payment | None) -> str:
    if payment is None:
        return Line.MISSING_OURS
    if row.currency != payment.currency:
        return Line.CURRENCY_MISMATCH
    if row.amount != payment.amount:
        return Line.AMOUNT_MISMATCH
    return Line.MATCHED


@transaction.atomic
def reconciliation_run(
    *,
    provider: str,
    file_name: str,
    content: bytes,
    actor,
    period_from: date | None = None,
    period_to: date | None = None,
) -> ReconciliationRun:
    """Import one report and keep the run with a line per row and per payment of ours
    the report does not name. Audited."""
    if provider not in MAPPINGS:
        raise DomainError("unknown_provider", f"No report mapping for {provider!r}.", field="provider")
    rows, skipped = parse_report(provider, content)
    if not rows and not skipped:
        raise DomainError("no_rows", NO_ROWS, field="report")
    days = [r.day for r in rows if r.day]
    period_from = period_from or (min(days) if days else date.today())
    period_to = period_to or (max(days) if days else date.today())
    refs = {r.provider_reference for r in rows if r.provider_reference}
    ours = {r.merchant_reference for r in rows if r.merchant_reference}
    candidates = list(
        Payment.objects.filter(provider=provider).filter(
            Q(provider_reference__in=refs) | Q(reference__in=ours)
        )
    )
    by_psp = {p.provider_reference: p for p in candidates if p.provider_reference}
    by_ref = {p.reference: p for p in candidates}
    run = ReconciliationRun.objects.create(
        provider=provider,
        file_name=file_name[:255],
        period_from=period_from,
        period_to=period_to,
        rows=len(rows) + skipped,
        created_by=actor,
    )
    lines, seen = [], set()
    for r in rows:
        payment = by_psp.get(r.provider_reference) or by_ref.get(r.merchant_reference)
        if payment is not None:
            seen.add(payment.pk)
        lines.append(
            ReconciliationLine(
                run=run,
                result=_verdict(r, payment),
                payment=payment,
                provider_reference=r.provider_reference[:128],
                merchant_reference=r.merchant_reference[:128],
                report_type=r.type[:64],
                report_amount=r.amount,
                report_currency=r.currency[:3],
                our_amount=payment.amount if payment else None,
                our_currency=payment.currency if payment else "",
                row=r.raw,
            )
        )
    settled = Q()
    for kind, states in _SETTLED.items():
        settled |= Q(kind=kind, state__in=states)
    theirs_missing = (
        Payment.objects.filter(
            provider=provider, created_at__date__gte=period_from, created_at__date__lte=period_to
        )
        .filter(settled)
        .exclude(pk__in=seen)
    )
    for p in theirs_missing:
        lines.append(
            ReconciliationLine(
                run=run,
                result=Line.MISSING_THEIRS,
                payment=p,
                provider_reference=p.provider_reference[:128],
                merchant_reference=p.reference,
                our_amount=p.amount,
                our_currency=p.currency,
            )
        )
    ReconciliationLine.objects.bulk_create(lines)
    summary = {v: 0 for v in Line.values}
    for line in lines:
        summary[line.result] += 1
    run.summary = {**summary, "skipped_rows": skipped}
    run.save(update_fields=["summary"])
    audit.record(
        actor=actor,
        action="payments.reconciliation.run",
        target=run,
        after={"provider": provider, "file": file_name, **run.summary},
    )
    return run
