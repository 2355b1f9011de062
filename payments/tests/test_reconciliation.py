"""Reconciliation of a provider's settlement report against our payments: matched,
missing on our side, missing on theirs, amount and currency mismatches; each run kept
with its lines; the console's upload and pages."""

from datetime import UTC, date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from payments.models import Payment, ReconciliationLine, ReconciliationRun
from payments.reconciliation import reconciliation_run

from .factories import depositor

pytestmark = pytest.mark.django_db

ADYEN_HEADER = (
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,"
    "TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,"
    "Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Batch Number"
)


def _row(psp, ref, typ, currency, debit="", credit="", day="2026-03-02 10:00:00"):
    return f"Pitboss,PitbossTest,{psp},{ref},visa,{day},CET,{typ},,{currency},{debit},{credit},,EUR,,,0.10,12"


def _payment(player, kind, state, amount, psp, provider="adyen"):
    return Payment.objects.create(
        kind=kind,
        player=player,
        provider=provider,
        amount=amount,
        currency="EUR",
        state=state,
        provider_reference=psp,
        created_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )


@pytest.fixture
def report(operators):
    player = depositor()
    ours = {
        "matched": _payment(player, "deposit", "succeeded", 2500, "PSPA"),
        "amount": _payment(player, "deposit", "succeeded", 5000, "PSPB"),
        "theirs": _payment(player, "deposit", "succeeded", 1000, "PSPC"),
        "currency": _payment(player, "deposit", "succeeded", 1500, "PSPD"),
        "payout": _payment(player, "withdrawal", "paid", 3000, "PSPE"),
        "failed": _payment(player, "deposit", "failed", 700, "PSPF"),  # never settled: not expected
        "trustly": _payment(player, "deposit", "succeeded", 900, "T1", provider="trustly"),
    }
    lines = [
        ADYEN_HEADER,
        _row("PSPA", ours["matched"].reference, "Settled", "EUR", credit="25.00"),
        _row("PSPB", ours["amount"].reference, "Settled", "EUR", credit="40.00"),
        _row("PSPD", ours["currency"].reference, "Settled", "SEK", credit="15.00"),
        _row("PSPX", "PBUNKNOWN", "Settled", "EUR", credit="12.00"),
        _row("", ours["payout"].reference, "PaidOut", "EUR", debit="30.00"),  # matched on our reference
        _row("", "", "Fee", "EUR", debit="0.50"),
        _row("", "", "MerchantPayout", "EUR", debit="1000.00"),
    ]
    return ours, ("\n".join(lines) + "\n").encode()


def test_a_report_is_matched_and_kept_with_its_lines(report, operators):
    ours, content = report
    run = reconciliation_run(
        provider="adyen",
        file_name="settlement_detail_report_batch_12.csv",
        content=content,
        actor=operators["finance"],
    )
    assert (run.period_from, run.period_to) == (date(2026, 3, 2), date(2026, 3, 2))
    assert run.rows == 7
    assert run.summary == {
        "matched": 2,
        "missing_ours": 1,
        "missing_theirs": 1,
        "amount_mismatch": 1,
        "currency_mismatch": 1,
        "skipped_rows": 2,
    }
    by = {(line.result, line.payment_id) for line in run.lines.all()}
    assert ("matched", ours["matched"].pk) in by and ("matched", ours["payout"].pk) in by
    assert ("amount_mismatch", ours["amount"].pk) in by and ("currency_mismatch", ours["currency"].pk) in by
    assert ("missing_theirs", ours["theirs"].pk) in by and ("missing_ours", None) in by
    mismatch = run.lines.get(result="amount_mismatch")
    assert (mismatch.report_amount, mismatch.our_amount) == (4000, 5000)
    assert mismatch.row["Psp Reference"] == "PSPB"
    assert AuditEvent.objects.filter(action="payments.reconciliation.run").count() == 1


def test_a_report_with_the_wrong_columns_is_refused(operators):
    with pytest.raises(DomainError) as e:
        reconciliation_run(
            provider="adyen", file_name="x.csv", content=b"a,b\n1,2\n", actor=operators["finance"]
        )
    assert e.value.code == "missing_columns" and "Psp Reference" in e.value.message
    with pytest.raises(DomainError) as e:
        reconciliation_run(
            provider="adyen", file_name="x.csv", content=b"\xff\xfe\x00", actor=operators["finance"]
        )
    assert e.value.code in ("not_csv", "missing_columns")
    assert not ReconciliationRun.objects.exists()


def test_a_signed_amount_mapping_reads_payouts_as_negative(operators):
    player = depositor()
    p = _payment(player, "withdrawal", "paid", 12345, "9001", provider="trustly")
    content = (
        "datestamp,accountname,currency,amount,orderid,ordertype,messageid\n"
        f"2026-03-02 10:00:00,SUSPENSE,EUR,-123.45,9001,AccountPayout,{p.reference}\n"
    ).encode()
    run = reconciliation_run(
        provider="trustly", file_name="t.csv", content=content, actor=operators["finance"]
    )
    assert run.summary["matched"] == 1 and run.lines.get().payment == p


def test_finance_uploads_in_the_console_and_compliance_only_reads(
    client, report, operators, django_assert_max_num_queries
):
    _ours, content = report
    client.force_login(operators["finance"])
    url = reverse("admin:payments_reconciliation_upload")
    assert client.get(url).status_code == 200
    r = client.post(url, {"provider": "adyen", "report": SimpleUploadedFile("sdr.csv", content, "text/csv")})
    run = ReconciliationRun.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse(
        "admin:payments_reconciliationrun_change", args=[run.pk]
    )
    page = client.get(r["Location"]).content.decode()
    assert 'data-testid="recon-summary"' in page and "Amount mismatch: 1" in page
    lines = (
        reverse("admin:payments_reconciliationline_changelist")
        + f"?run__id__exact={run.pk}&result__exact=matched"
    )
    with django_assert_max_num_queries(15):
        r = client.get(lines)
    assert r.status_code == 200 and "PSPA" in r.content.decode() and "PSPB" not in r.content.decode()
    r = client.post(url, {"provider": "adyen", "report": SimpleUploadedFile("bad.csv", b"a,b\n", "text/csv")})
    assert r.status_code == 200 and "lacks the columns" in r.content.decode()

    client.force_login(operators["compliance"])
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:payments_reconciliationrun_changelist")).status_code == 200
    assert ReconciliationLine.objects.count() == 6
