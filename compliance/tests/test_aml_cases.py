"""AML cases: grouping alerts (an alert belongs to one case, enforced by the database),
working a case, deciding it (permission, reason, effects), the STR's filing (MLRO only,
once), the audit trail, the console (list query count, permissions, downloads) and one
browser walk-through from two alerts to a filed STR."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import Page, expect

from backoffice import audit
from backoffice.demo import DEMO_PASSWORD
from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from backoffice.testing import client_login
from compliance.aml import cases
from compliance.models import (
    AmlAlert,
    AmlCase,
    AmlCaseAlert,
    AmlCaseAttachment,
    KycLevel,
    KycProfile,
    Severity,
    StrReport,
)
from players import national_id
from players.models import Player
from wallet import services as wallet
from wallet.models import Account, Transaction
from wallet.tests.factories import fund, psp

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
LIST = reverse("admin:compliance_amlcase_changelist")


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.AML_CASE_STORAGE_DIR = tmp_path / "aml_cases"


def make_player(**kwargs) -> Player:
    """A player with everything goAML's t_person_my_client asks for."""
    nid = kwargs.pop("national_id", "19880314-1234")
    defaults = {
        "jurisdiction": "MT",
        "currency": "EUR",
        "first_name": "Maria",
        "last_name": "Borg",
        "date_of_birth": date(1988, 3, 14),
        "email": f"maria.{uuid.uuid4().hex[:6]}@example.test",
        "phone": "+35699123456",
        "address_line": "12 Triq il-Kbira",
        "postcode": "ZBR 1234",
        "city": "Zabbar",
        "country": "MT",
        "nationality": "MT",
        "national_id_encrypted": national_id.encrypt(nid),
        "national_id_last4": nid[-4:],
    }
    return Player.objects.create(**{**defaults, **kwargs})


def withdraw(player: Player, amount: int) -> tuple[Transaction, Transaction]:
    """A withdrawal request (cash to pending) and its payout (pending to the PSP)."""
    accounts = wallet.player_accounts_ensure(player)
    cash, pending = accounts[Account.Kind.PLAYER_CASH], accounts[Account.Kind.PLAYER_WITHDRAWAL_PENDING]
    req = wallet.transaction_post(
        kind=Transaction.Kind.WITHDRAWAL_REQUEST,
        idempotency_key=f"wr:{uuid.uuid4()}",
        legs=[wallet.Leg(cash, -amount), wallet.Leg(pending, amount)],
    )
    paid = wallet.transaction_post(
        kind=Transaction.Kind.WITHDRAWAL,
        idempotency_key=f"wp:{uuid.uuid4()}",
        legs=[wallet.Leg(pending, -amount), wallet.Leg(psp(player.currency), amount)],
    )
    return req, paid


def alert(player: Player, rule: str = "large_deposit", severity=Severity.MEDIUM, **evidence) -> AmlAlert:
    return AmlAlert.objects.create(
        player=player,
        rule=rule,
        window_key=f"w:{uuid.uuid4().hex[:8]}",
        severity=severity,
        evidence=evidence or {"amount_minor": 600000},
    )


def str_case(operators, *, deposits=(600_000, 450_000), withdrawal=300_000) -> AmlCase:
    """A case decided "file an STR" with deposits and a paid-out withdrawal linked."""
    player = make_player()
    txns = [fund(player, amount) for amount in deposits]
    a1 = alert(player, transaction_id=txns[0].pk, amount_minor=deposits[0])
    a2 = alert(player, rule="deposit_velocity", severity=Severity.HIGH, transaction_ids=[t.pk for t in txns])
    case = cases.case_open(alert_ids=[a1.pk, a2.pk], actor=operators["compliance"])
    if withdrawal:
        req, paid = withdraw(player, withdrawal)
        cases.case_link_transaction(case_id=case.pk, transaction_id=req.pk, actor=operators["compliance"])
    return cases.case_decide(
        case_id=case.pk,
        decision="file_str",
        reason="Deposits far above the declared income, withdrawn after minimal play.",
        actor=operators["compliance"],
    )


def _events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- grouping -------------------------------------------------------------------------------


def test_open_groups_alerts_links_players_and_evidence_transactions(operators):
    player, other = make_player(), make_player(first_name="Joe")
    deposit = fund(player, 600_000)
    a1 = alert(player, transaction_id=deposit.pk)
    a2 = alert(other, severity=Severity.HIGH)
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        case = cases.case_open(alert_ids=[a1.pk, a2.pk], actor=operators["compliance"], title="Two players")
    assert re.fullmatch(r"AML-2026-\d{6}", case.reference)
    assert case.status == "open" and case.severity == Severity.HIGH
    assert case.sla_due_at == datetime(2026, 3, 7, 9, 0, tzinfo=UTC)  # high: 5 days
    assert set(case.players.values_list("pk", flat=True)) == {player.pk, other.pk}
    assert list(case.transactions.values_list("pk", flat=True)) == [deposit.pk]
    assert set(AmlCaseAlert.objects.filter(case=case).values_list("alert_id", flat=True)) == {a1.pk, a2.pk}
    ev = AuditEvent.objects.get(action="compliance.aml_case.open")
    assert ev.after["alerts"] == [a1.pk, a2.pk] and ev.actor == operators["compliance"]


def test_sla_follows_the_configured_days_by_severity(operators, settings):
    settings.AML_CASE_SLA_DAYS = {"low": 60}
    low = alert(make_player(), severity=Severity.LOW)
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        case = cases.case_open(alert_ids=[low.pk], actor=operators["compliance"])
        assert not case.overdue
    assert case.sla_due_at == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 5, 1, 9, 1, tzinfo=UTC), tick=False):
        assert AmlCase.objects.get(pk=case.pk).overdue


def test_open_refuses_an_alert_already_in_a_case(operators):
    player = make_player()
    a1, a2 = alert(player), alert(player)
    first = cases.case_open(alert_ids=[a1.pk], actor=operators["compliance"])
    with pytest.raises(DomainError) as exc:
        cases.case_open(alert_ids=[a2.pk, a1.pk], actor=operators["compliance"])
    assert exc.value.code == "alert_in_case"
    assert exc.value.message == cases.ALERT_IN_CASE.format(id=a1.pk, ref=first.reference)
    assert AmlCase.objects.count() == 1 and not AmlCaseAlert.objects.filter(alert=a2).exists()
    assert _events("compliance.aml_case.open") == 1


def test_the_database_refuses_a_second_case_for_an_alert(operators):
    a1 = alert(make_player())
    case = cases.case_open(alert_ids=[a1.pk], actor=operators["compliance"])
    other = AmlCase.objects.create(title="x", created_by=operators["compliance"], sla_due_at=case.sla_due_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        AmlCaseAlert.objects.create(case=other, alert=a1, added_by=operators["compliance"])


def test_open_refuses_no_alert_a_closed_alert_and_a_role_without_the_permission(operators):
    a1 = alert(make_player())
    with pytest.raises(DomainError) as exc:
        cases.case_open(alert_ids=[], actor=operators["compliance"])
    assert exc.value.code == "no_alerts"
    with pytest.raises(DomainError) as exc:
        cases.case_open(alert_ids=[a1.pk], actor=operators["support"])
    assert exc.value.code == "permission_denied"
    AmlAlert.objects.filter(pk=a1.pk).update(status="closed")
    with pytest.raises(DomainError) as exc:
        cases.case_open(alert_ids=[a1.pk], actor=operators["compliance"])
    assert exc.value.code == "alert_closed"
    assert AmlCase.objects.count() == 0


def test_add_alerts_tightens_severity_and_refuses_a_decided_case(operators):
    player = make_player()
    case = cases.case_open(alert_ids=[alert(player, severity=Severity.LOW).pk], actor=operators["compliance"])
    cases.case_add_alerts(
        case_id=case.pk, alert_ids=[alert(player, severity=Severity.HIGH).pk], actor=operators["compliance"]
    )
    case.refresh_from_db()
    assert case.severity == Severity.HIGH and case.sla_due_at == case.created_at + timedelta(days=5)
    cases.case_decide(
        case_id=case.pk, decision="keep_monitoring", reason="Watch", actor=operators["compliance"]
    )
    with pytest.raises(DomainError) as exc:
        cases.case_add_alerts(case_id=case.pk, alert_ids=[alert(player).pk], actor=operators["compliance"])
    assert exc.value.code == "aml_case_not_open"


# --- working ---------------------------------------------------------------------------------


def test_assign_note_link_transaction_each_audited(operators):
    player = make_player()
    case = cases.case_open(alert_ids=[alert(player).pk], actor=operators["compliance"])
    cases.case_assign(case_id=case.pk, assignee_id=operators["mlro"].pk, actor=operators["compliance"])
    with pytest.raises(DomainError) as exc:
        cases.case_assign(case_id=case.pk, assignee_id=operators["mlro"].pk, actor=operators["compliance"])
    assert exc.value.code == "already_assigned"
    with pytest.raises(DomainError) as exc:
        cases.case_assign(case_id=case.pk, assignee_id=operators["finance"].pk, actor=operators["compliance"])
    assert exc.value.code == "assignee_refused"
    with pytest.raises(DomainError) as exc:
        cases.case_note_add(case_id=case.pk, body="  ", actor=operators["compliance"])
    assert exc.value.code == "note_required"
    cases.case_note_add(case_id=case.pk, body="Called the PSP.", actor=operators["compliance"])
    deposit = fund(player, 1000)
    cases.case_link_transaction(case_id=case.pk, transaction_id=deposit.pk, actor=operators["compliance"])
    with pytest.raises(DomainError) as exc:
        cases.case_link_transaction(case_id=case.pk, transaction_id=deposit.pk, actor=operators["compliance"])
    assert exc.value.code == "transaction_linked"
    stranger = fund(make_player(first_name="Other"), 1000)
    with pytest.raises(DomainError) as exc:
        cases.case_link_transaction(
            case_id=case.pk, transaction_id=stranger.pk, actor=operators["compliance"]
        )
    assert exc.value.code == "transaction_not_players"
    assert AmlCase.objects.get(pk=case.pk).assignee == operators["mlro"]
    assert [_events(f"compliance.aml_case.{a}") for a in ("assign", "note_add", "link_transaction")] == [
        1,
        1,
        1,
    ]


def test_attachments_check_type_and_size_and_store_nothing_when_refused(operators, settings):
    settings.AML_CASE_MAX_ATTACHMENT_BYTES = 1024
    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    att = cases.case_attachment_add(
        case_id=case.pk, file_name="bank.pdf", content=PDF, actor=operators["compliance"]
    )
    assert att.content_type == "application/pdf" and att.size == len(PDF) and len(att.sha256) == 64
    assert cases.attachment_path(att).read_bytes() == PDF
    csv = cases.case_attachment_add(
        case_id=case.pk, file_name="export.csv", content=b"a,b\n1,2\n", actor=operators["compliance"]
    )
    assert csv.content_type == "text/csv"
    for content, code in [
        (b"", "file_empty"),
        (b"x" * 2048, "file_too_large"),
        (b"MZ\x00\x01", "file_type_refused"),
    ]:
        with pytest.raises(DomainError) as exc:
            cases.case_attachment_add(
                case_id=case.pk, file_name="f.bin", content=content, actor=operators["compliance"]
            )
        assert exc.value.code == code
    assert AmlCaseAttachment.objects.count() == 2
    assert len(list(cases.storage_dir().iterdir())) == 2
    assert _events("compliance.aml_case.attachment_add") == 2


# --- deciding --------------------------------------------------------------------------------


def test_decide_needs_the_permission_and_a_reason(operators):
    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    with pytest.raises(DomainError) as exc:
        cases.case_decide(case_id=case.pk, decision="false_positive", reason="ok", actor=operators["risk"])
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        cases.case_decide(
            case_id=case.pk, decision="false_positive", reason="  ", actor=operators["compliance"]
        )
    assert exc.value.code == "reason_required" and exc.value.field == "reason"
    with pytest.raises(DomainError) as exc:
        cases.case_decide(case_id=case.pk, decision="shrug", reason="x", actor=operators["compliance"])
    assert exc.value.code == "decision_unknown"
    case.refresh_from_db()
    assert case.status == "open" and case.decision == ""
    assert _events("compliance.aml_case.decide") == 0


def test_false_positive_closes_the_case_and_its_alerts_with_the_case_reference(operators):
    player = make_player()
    a1, a2 = alert(player), alert(player)
    case = cases.case_open(alert_ids=[a1.pk, a2.pk], actor=operators["compliance"])
    cases.case_decide(
        case_id=case.pk,
        decision="false_positive",
        reason="Salary paid in a lump sum.",
        actor=operators["compliance"],
    )
    case.refresh_from_db()
    assert case.status == "closed" and case.decided_by == operators["compliance"]
    for a in AmlAlert.objects.filter(pk__in=[a1.pk, a2.pk]):
        # The reason stays on the case; the alert (and its audit event) points at the case.
        assert a.status == "closed" and a.close_reason == f"AML case {case.reference}: False positive."
    assert case.decision_reason == "Salary paid in a lump sum."
    # A second submission of the same form changes nothing.
    with pytest.raises(DomainError) as exc:
        cases.case_decide(case_id=case.pk, decision="file_str", reason="again", actor=operators["compliance"])
    assert exc.value.code == "aml_case_not_open"
    assert _events("compliance.aml_case.decide") == 1
    assert _events("compliance.aml_alert.close") == 2


def test_edd_requires_the_enhanced_kyc_level(operators):
    player = make_player()
    case = cases.case_open(alert_ids=[alert(player).pk], actor=operators["compliance"])
    cases.case_decide(
        case_id=case.pk, decision="edd", reason="Source of funds needed.", actor=operators["compliance"]
    )
    prof = KycProfile.objects.get(player=player)
    assert prof.required_level == KycLevel.ENHANCED and prof.requirement_open
    assert case.reference in prof.required_reason


def test_exit_relationship_closes_the_players_account(operators):
    player = make_player()
    case = cases.case_open(alert_ids=[alert(player).pk], actor=operators["compliance"])
    cases.case_decide(
        case_id=case.pk,
        decision="exit_relationship",
        reason="Refused to explain.",
        actor=operators["compliance"],
    )
    player.refresh_from_db()
    assert player.status == Player.Status.CLOSED and case.reference in player.status_reason
    assert _events("players.player.close") == 1


# --- the STR: generate and file ----------------------------------------------------------------


def test_generate_needs_the_file_str_decision(operators):
    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    with pytest.raises(DomainError) as exc:
        cases.str_generate(case_id=case.pk, actor=operators["compliance"])
    assert exc.value.code == "str_needs_decision"


def test_filing_needs_the_mlro_and_happens_once(operators):
    case = str_case(operators)
    report = cases.str_generate(case_id=case.pk, actor=operators["compliance"])
    assert report.valid, report.schema_errors
    with pytest.raises(DomainError) as exc:
        cases.str_mark_filed(str_id=report.pk, fiu_reference="FIU-1", actor=operators["compliance"])
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        cases.str_mark_filed(str_id=report.pk, fiu_reference=" ", actor=operators["mlro"])
    assert exc.value.code == "fiu_reference_required"
    cases.str_mark_filed(str_id=report.pk, fiu_reference="FIU-2026-0042", actor=operators["mlro"])
    report.refresh_from_db()
    case.refresh_from_db()
    assert report.status == "filed" and report.fiu_reference == "FIU-2026-0042"
    assert report.filed_by == operators["mlro"] and case.status == "closed"
    with pytest.raises(DomainError) as exc:
        cases.str_mark_filed(str_id=report.pk, fiu_reference="FIU-again", actor=operators["mlro"])
    assert exc.value.code == "str_filed"
    with pytest.raises(DomainError) as exc:
        cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert exc.value.code == "str_filed"
    assert StrReport.objects.get(pk=report.pk).fiu_reference == "FIU-2026-0042"
    assert _events("compliance.str_report.file") == 1
    assert _events("compliance.str_report.generate") == 1


def test_only_the_latest_valid_report_is_filed(operators, settings):
    case = str_case(operators)
    first = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    with pytest.raises(DomainError) as exc:
        cases.str_mark_filed(str_id=first.pk, fiu_reference="FIU-1", actor=operators["mlro"])
    assert exc.value.code == "str_not_latest"
    settings.GOAML_LOCATION = {**cases.goaml.DEFAULTS["GOAML_LOCATION"], "country_code": "ZZ"}
    invalid = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert not invalid.valid and invalid.status == "draft"
    with pytest.raises(DomainError) as exc:
        cases.str_mark_filed(str_id=invalid.pk, fiu_reference="FIU-1", actor=operators["mlro"])
    assert exc.value.code == "str_not_valid"


def test_the_database_refuses_two_filed_reports_for_a_case(operators):
    case = str_case(operators)
    a = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    b = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    StrReport.objects.filter(pk=a.pk).update(status="filed", fiu_reference="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        StrReport.objects.filter(pk=b.pk).update(status="filed", fiu_reference="B")


# --- console ---------------------------------------------------------------------------------


def _page(case) -> str:
    return reverse("admin:compliance_aml_case", args=[case.pk])


def test_cases_list_runs_a_fixed_number_of_queries(client, operators):
    client.force_login(operators["compliance"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(LIST)
        assert r.status_code == 200
        return len(ctx.captured_queries)

    first = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    cases.case_assign(case_id=first.pk, assignee_id=operators["compliance"].pk, actor=operators["compliance"])
    client.get(LIST)  # the session's first request also checks the second factor once
    one = count()
    for _ in range(6):
        p1, p2 = make_player(), make_player()
        c = cases.case_open(alert_ids=[alert(p1).pk, alert(p2).pk], actor=operators["compliance"])
        cases.case_assign(case_id=c.pk, assignee_id=operators["mlro"].pk, actor=operators["compliance"])
    assert count() == one


def test_cases_list_filters_overdue_and_searches_by_player(client, operators):
    client.force_login(operators["compliance"])
    late_player, fresh_player = make_player(), make_player()
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        late = cases.case_open(alert_ids=[alert(late_player).pk], actor=operators["compliance"])
    fresh = cases.case_open(alert_ids=[alert(fresh_player).pk], actor=operators["compliance"])
    body = client.get(LIST, {"overdue": "yes"}).content.decode()
    assert late.reference in body and fresh.reference not in body
    body = client.get(LIST, {"q": fresh_player.public_id}).content.decode()
    assert fresh.reference in body and late.reference not in body
    body = client.get(LIST, {"q": late.reference}).content.decode()
    assert late.reference in body and fresh.reference not in body


def test_case_page_shows_the_str_controls_by_role(client, operators):
    case = str_case(operators)
    client.force_login(operators["compliance"])
    r = client.post(_page(case), {"op": "generate"})
    assert r.status_code == 302
    report = case.str_reports.get()
    body = client.get(_page(case)).content.decode()
    assert "Download XML" in body and "Mark filed" not in body
    # Posting the filing directly is refused for a plain compliance officer.
    r = client.post(_page(case), {"op": "file", "file-fiu_reference": "FIU-X"})
    assert r.status_code == 403
    assert StrReport.objects.get(pk=report.pk).status == "validated"
    client.force_login(operators["mlro"])
    assert "Mark filed" in client.get(_page(case)).content.decode()
    r = client.post(_page(case), {"op": "file", "file-fiu_reference": "FIU-X"})
    assert r.status_code == 302 and StrReport.objects.get(pk=report.pk).fiu_reference == "FIU-X"


def test_invalid_report_shows_each_error_and_cannot_be_downloaded(client, operators, settings):
    case = str_case(operators)
    settings.GOAML_CURRENCY_LOCAL = "XXX-not-a-currency"
    client.force_login(operators["mlro"])
    client.post(_page(case), {"op": "generate"})
    report = case.str_reports.get()
    assert not report.valid and report.schema_errors
    body = client.get(_page(case)).content.decode()
    assert "Download XML" not in body and "Mark filed" not in body
    assert "currency_code_local" in body
    r = client.get(reverse("admin:compliance_str_download", args=[report.pk]))
    assert r.status_code == 404
    assert _events("compliance.str_report.download") == 0


def test_downloads_are_audited_and_kept_from_other_roles(client, operators):
    case = str_case(operators)
    report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    att = cases.case_attachment_add(
        case_id=case.pk, file_name="b.pdf", content=PDF, actor=operators["compliance"]
    )
    urls = [
        reverse("admin:compliance_str_download", args=[report.pk]),
        reverse("admin:compliance_aml_case_attachment", args=[att.pk]),
    ]
    client.force_login(operators["support"])
    assert [client.get(u).status_code for u in urls] == [403, 403]
    client.logout()
    client_login(client, operators["compliance"])
    assert client.get(urls[0]).status_code == 200  # the confirmation page
    r = client.post(urls[0])
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauthenticate/")
    assert _events("compliance.str_report.download") == 0
    xml = client.post(r["Location"], {"password": DEMO_PASSWORD}, follow=True)
    assert (
        xml.status_code == 200
        and xml.content.startswith(b"<?xml")
        and b"<report_code>STR</report_code>" in xml.content
        and b"<ssn>198803141234</ssn>" in xml.content
    )
    assert b"".join(client.get(urls[1]).streaming_content) == PDF
    assert _events("compliance.str_report.download") == 1
    assert _events("compliance.aml_case.attachment_download") == 1


def test_console_posts_show_domain_errors_and_change_nothing(client, operators):
    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    client.force_login(operators["compliance"])
    r = client.post(_page(case), {"op": "decide", "decide-decision": "false_positive", "decide-reason": ""})
    assert r.status_code == 200 and cases.DECISION_REASON_REQUIRED in r.content.decode()
    r = client.post(_page(case), {"op": "link", "link-transaction_id": "999999"})
    assert cases.TXN_MISSING.format(id=999999) in r.content.decode()
    assert AmlCase.objects.get(pk=case.pk).status == "open"
    client.force_login(operators["risk"])
    assert client.post(_page(case), {"op": "note", "note-body": "x"}).status_code == 403


def test_alert_list_action_opens_a_case_and_alert_page_links_it(client, operators):
    player = make_player()
    a1, a2 = alert(player), alert(player)
    client.force_login(operators["compliance"])
    r = client.post(
        reverse("admin:compliance_amlalert_changelist"),
        {"action": "open_case", "_selected_action": [a1.pk, a2.pk]},
    )
    case = AmlCase.objects.get()
    assert r.status_code == 302 and r["Location"] == _page(case)
    body = client.get(reverse("admin:compliance_aml_alert", args=[a1.pk])).content.decode()
    assert case.reference in body and _page(case) in body
    # The same selection again: refused with the reason, no second case.
    r = client.post(
        reverse("admin:compliance_amlalert_changelist"),
        {"action": "open_case", "_selected_action": [a1.pk]},
        follow=True,
    )
    assert "already in case" in r.content.decode() and AmlCase.objects.count() == 1


# --- browser ---------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_officer_opens_and_decides_mlro_generates_downloads_and_files(
    page: Page, live_server, operators, browser
):
    from tests.e2e.test_approvals import sign_in
    from tests.e2e.test_console_signin import _shot

    player = make_player(first_name="Karl", last_name="Vella")
    d1, d2 = fund(player, 900_000), fund(player, 750_000)
    withdraw(player, 1_200_000)
    a1 = alert(player, transaction_id=d1.pk, amount_minor=900_000)
    a2 = alert(player, rule="deposit_velocity", transaction_ids=[d1.pk, d2.pk])

    # The compliance officer opens a case from the two alerts and decides "file an STR".
    sign_in(page, live_server.url, "compliance@pitboss.test")
    page.goto(f"{live_server.url}{reverse('admin:compliance_amlalert_changelist')}")
    for a in (a1, a2):
        page.locator(f"input[name='_selected_action'][value='{a.pk}']").check()
    page.locator("select[name='action']").select_option("open_case")
    page.locator("button[name='index']").first.click()
    expect(page.get_by_test_id("case-reference")).to_have_text(re.compile(r"AML-\d{4}-\d{6}"))
    expect(page.get_by_test_id("case-alerts")).to_contain_text("Deposit velocity")
    case = AmlCase.objects.get()
    page.get_by_label("File an STR").check()
    page.get_by_label("Reason").fill("Deposits of EUR 16,500 in two days, withdrawn at once.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_test_id("case-status")).to_have_text("Decided: STR to file")
    expect(page.get_by_role("button", name="Mark filed")).to_have_count(0)

    # The MLRO (own browser session) generates, downloads and files it.
    mlro_context = browser.new_context(accept_downloads=True)
    mlro = mlro_context.new_page()
    sign_in(mlro, live_server.url, "mlro@pitboss.test")
    mlro.goto(f"{live_server.url}{_page(case)}")
    mlro.get_by_role("button", name="Generate the STR").click()
    expect(mlro.get_by_test_id("str-status")).to_contain_text("Validated")
    mlro.get_by_test_id("str-download").click()  # a confirmation page, then a fresh sign-in
    mlro.get_by_test_id("str-download-confirm").click()
    expect(mlro).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    mlro.get_by_label("Password").fill(DEMO_PASSWORD)
    with mlro.expect_download() as dl:
        mlro.get_by_role("button", name="Confirm").click()
    mlro.goto(f"{live_server.url}{_page(case)}")
    xml = open(dl.value.path(), "rb").read()
    assert xml.startswith(b"<?xml") and b"<report_code>STR</report_code>" in xml
    _shot(mlro, "aml-case-str")

    # The plain compliance officer sees the valid report but no "Mark filed", and posting
    # the filing directly is refused.
    page.goto(f"{live_server.url}{_page(case)}")
    expect(page.get_by_test_id("str-status")).to_contain_text("Validated")
    expect(page.get_by_test_id("str-download")).to_be_visible()
    expect(page.get_by_role("button", name="Mark filed")).to_have_count(0)
    token = page.locator("input[name='csrfmiddlewaretoken']").first.get_attribute("value")
    r = page.request.post(
        f"{live_server.url}{_page(case)}",
        form={"op": "file", "file-fiu_reference": "FORGED", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{live_server.url}{_page(case)}"},
    )
    assert r.status == 403
    assert StrReport.objects.get(case=case).status == "validated"

    # The MLRO marks it filed with the FIU's reference.
    mlro.get_by_label("FIU reference").fill("FIAU-STR-2026-0077")
    mlro.get_by_role("button", name="Mark filed").click()
    expect(mlro.get_by_test_id("str-fiu-reference")).to_have_text("FIAU-STR-2026-0077")
    expect(mlro.get_by_test_id("case-status")).to_have_text("Closed")
    mlro_context.close()
    assert StrReport.objects.get(case=case).fiu_reference == "FIAU-STR-2026-0077"
    assert AuditEvent.objects.filter(action="compliance.str_report.download").count() == 1


# --- review fixes: confidentiality, control characters, closed cases, upload size -------------


def test_case_audit_events_carry_ids_not_text(operators):
    player = make_player(first_name="Maria", last_name="Borg")
    case = cases.case_open(alert_ids=[alert(player).pk], actor=operators["compliance"])
    note = cases.case_note_add(
        case_id=case.pk, body="SECRET: suspected layering", actor=operators["compliance"]
    )
    cases.case_decide(
        case_id=case.pk,
        decision="edd",
        reason="SECRET: declared income too low",
        actor=operators["compliance"],
    )
    events = list(AuditEvent.objects.all())
    for e in events:
        assert "SECRET" not in f"{e.target_repr} {e.before} {e.after} {e.note}", e.action
        if e.action.startswith("compliance.aml_case."):
            assert "Maria Borg" not in f"{e.target_repr} {e.before} {e.after} {e.note}", e.action
    [added] = [e for e in events if e.action == "compliance.aml_case.note_add"]
    assert added.after["note_id"] == note.pk and added.target_repr == case.reference
    [decided] = [e for e in events if e.action == "compliance.aml_case.decide"]
    assert decided.after["reason_length"] == len("SECRET: declared income too low")


def test_finance_does_not_see_case_events_in_the_audit_log(client, operators):
    case = str_case(operators)
    cases.case_note_add(case_id=case.pk, body="a note", actor=operators["compliance"])
    report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert report.valid
    audit.record(actor=operators["admin"], action="backoffice.visible_to_finance")
    hidden = AuditEvent.objects.filter(action__startswith="compliance.aml_case.").first()
    str_event = AuditEvent.objects.get(action="compliance.str_report.generate")
    changelist = reverse("admin:backoffice_auditevent_changelist")
    client.force_login(operators["finance"])
    html = client.get(changelist).content.decode()
    assert "compliance.aml_case." not in html and "compliance.str_report." not in html
    assert "backoffice.visible_to_finance" in html  # the rest of the log is there
    for event in (hidden, str_event):
        r = client.get(reverse("admin:backoffice_auditevent_change", args=[event.pk]))
        assert r.status_code == 302  # "does not exist" for this operator
    client.force_login(operators["compliance"])
    html = client.get(changelist).content.decode()
    assert "compliance.aml_case.note_add" in html
    assert client.get(reverse("admin:backoffice_auditevent_change", args=[hidden.pk])).status_code == 200


@pytest.mark.parametrize(
    "field, value", [("decide-reason", "income\x0bunclear"), ("note-body", "see\x0cfile")]
)
def test_forms_refuse_control_characters(client, operators, field, value):
    from compliance.admin_cases import CONTROL_CHARACTERS

    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    client.force_login(operators["compliance"])
    op = field.split("-")[0]
    r = client.post(_page(case), {"op": op, "decide-decision": "file_str", field: value})
    assert r.status_code == 200 and CONTROL_CHARACTERS in r.content.decode()
    case.refresh_from_db()
    assert case.status == "open" and not case.notes.exists()


def test_attachment_refused_on_a_closed_case(operators):
    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    cases.case_decide(case_id=case.pk, decision="false_positive", reason="ok", actor=operators["compliance"])
    with pytest.raises(DomainError) as exc:
        cases.case_attachment_add(
            case_id=case.pk, file_name="a.pdf", content=PDF, actor=operators["compliance"]
        )
    assert exc.value.code == "aml_case_closed" and exc.value.field == "file"
    assert not case.attachments.exists() and not list(cases.storage_dir().iterdir())
    assert _events("compliance.aml_case.attachment_add") == 0
    # Notes stay allowed on a closed case (the follow-up).
    cases.case_note_add(case_id=case.pk, body="FIU asked for more", actor=operators["compliance"])


def test_attachment_size_is_checked_before_the_upload_is_read(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from compliance.admin_cases import AttachmentForm

    settings.AML_CASE_MAX_ATTACHMENT_BYTES = 1024 * 1024

    class Unread(SimpleUploadedFile):
        def read(self, *args, **kwargs):
            raise AssertionError("the upload was read before its size was checked")

    big = Unread("big.pdf", b"%PDF-" + b"0" * (1024 * 1024))
    form = AttachmentForm(data={}, files={"attach-file": big}, prefix="attach")
    assert not form.is_valid()
    assert form.errors["file"] == [cases.FILE_TOO_LARGE.format(mb=1)]
