from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from compliance import gates, kyc
from compliance.models import KycDocument, KycLevel
from players.models import Player

from .ledger import post


def post_deposit(p, amount):
    return post(p, "deposit", amount)


pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.KYC_STORAGE_DIR = tmp_path / "kyc"


def _player(market="MT", currency="EUR") -> Player:
    return Player.objects.create(
        jurisdiction=market, currency=currency, first_name="K", last_name="Yc", date_of_birth=date(1990, 5, 1)
    )


def _upload(p, t="passport", content=PDF, name="doc.pdf"):
    return kyc.document_upload(
        player_id=p.pk, document_type=t, file_name=name, content=content, source="api:t"
    )


def test_a_renamed_executable_is_refused_and_nothing_is_stored(settings):
    p = _player()
    with pytest.raises(DomainError) as exc:
        _upload(p, content=b"MZ\x90\x00\x03" + b"\x00" * 100, name="passport.pdf")
    assert exc.value.code == "file_type_refused" and exc.value.field == "file"
    assert not KycDocument.objects.exists()
    assert not any(kyc.storage_dir().iterdir())


def test_an_oversized_file_is_refused_and_nothing_is_stored(settings):
    settings.KYC_MAX_UPLOAD_BYTES = 1024
    p = _player()
    with pytest.raises(DomainError) as exc:
        _upload(p, content=PDF + b"0" * 2000)
    assert exc.value.code == "file_too_large"
    assert not KycDocument.objects.exists() and not any(kyc.storage_dir().iterdir())


def test_levels_follow_approved_documents(operators):
    p = _player()
    passport, address, sof = (
        _upload(p),
        _upload(p, "proof_of_address", PNG, "bill.png"),
        _upload(p, "source_of_funds"),
    )
    with pytest.raises(DomainError) as exc:
        kyc.document_decide(document_id=passport.pk, decision="approve", actor=operators["compliance"])
    assert exc.value.code == "expiry_required"
    kyc.document_decide(
        document_id=passport.pk,
        decision="approve",
        actor=operators["compliance"],
        expires_on=date.today() + timedelta(days=900),
    )
    assert kyc.profile(p).level == KycLevel.BASIC
    with pytest.raises(DomainError):
        kyc.document_decide(document_id=address.pk, decision="reject", actor=operators["compliance"])
    kyc.document_decide(document_id=address.pk, decision="approve", actor=operators["compliance"])
    assert kyc.profile(p).level == KycLevel.FULL
    kyc.document_decide(
        document_id=sof.pk,
        decision="request_replacement",
        reason_code="unreadable",
        actor=operators["compliance"],
    )
    assert kyc.profile(p).level == KycLevel.FULL
    assert (
        AuditEvent.objects.filter(action__startswith="compliance.kyc_document.", target_id=str(p.pk)).count()
        == 6
    )


def test_cdd_meter_across_the_180_day_boundary_opens_a_requirement_and_holds_withdrawals():
    p = _player()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post_deposit(p, 150000)  # EUR 1,500
    # 181 days later the first deposit has left the rolling window; the lifetime sum counts it.
    with time_machine.travel(start + timedelta(days=181), tick=False):
        post_deposit(p, 60000)
        meter = kyc.cdd_meter(p)
        assert meter["rolling"] == 60000 and meter["lifetime"] == 210000 and meter["crossed"]
        prof = kyc.cdd_check(player_id=p.pk)
        assert prof.requirement_open and prof.required_level == KycLevel.FULL
        assert prof.required_due == start + timedelta(days=181 + 30)
        d = gates.can_withdraw(p)
        assert d.code == "kyc_required" and "CDD threshold EUR 2,000" in d.message
    # Within 180 days, below the threshold: nothing opens.
    q = _player()
    with time_machine.travel(start, tick=False):
        post_deposit(q, 199999)
        assert not kyc.cdd_meter(q)["crossed"]
        assert not kyc.cdd_check(player_id=q.pk).requirement_open
        assert gates.can_withdraw(q)


def test_expiring_identity_documents_are_flagged_once(operators):
    p = _player()
    doc = _upload(p)
    kyc.document_decide(
        document_id=doc.pk,
        decision="approve",
        actor=operators["compliance"],
        expires_on=date.today() + timedelta(days=10),
    )
    assert kyc.documents_expiring_flag() == 1
    assert kyc.documents_expiring_flag() == 0


def test_document_file_is_served_only_to_permitted_roles_and_audited(client, operators):
    p = _player()
    doc = _upload(p)
    url = f"/admin/compliance/kyc/{doc.pk}/file/"
    client.force_login(operators["support"])
    assert client.get(url).status_code == 403
    client.force_login(operators["compliance"])
    r = client.get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF
    assert r["X-Frame-Options"] == "SAMEORIGIN" and r["Content-Type"] == "application/pdf"
    assert (
        AuditEvent.objects.filter(
            action="compliance.kyc_document.view", actor=operators["compliance"]
        ).count()
        == 1
    )


def test_the_scheduled_cdd_check_opens_requirements_once():
    from compliance.tasks import cdd_check_recent_task

    big, small = _player(), _player()
    post_deposit(big, 250000)
    post_deposit(small, 1000)
    assert cdd_check_recent_task() == 1
    assert kyc.profile(big).requirement_open and not kyc.profile(small).requirement_open
    assert cdd_check_recent_task() == 0  # idempotent
