import pytest
from django.contrib.auth.models import Group

from backoffice import approvals, roles, services
from backoffice.errors import DomainError
from backoffice.models import ApprovalRequest, AuditEvent

pytestmark = pytest.mark.django_db


def _grant_request(operators, target="support"):
    return services.operator_request_administrator(
        user_id=operators[target].pk, actor=operators["admin"], reason="covers the night shift"
    )


def test_requester_cannot_approve_their_own_request(operators):
    req = _grant_request(operators)
    with pytest.raises(DomainError) as exc:
        approvals.approval_approve(request_id=req.pk, actor=operators["admin"])
    assert exc.value.code == "four_eyes"
    req.refresh_from_db()
    assert req.state == ApprovalRequest.State.PENDING
    assert roles.ADMINISTRATOR not in operators["support"].role_names


def test_database_refuses_a_decision_by_the_requester_even_bypassing_the_service(operators):
    from django.db import IntegrityError, transaction

    req = _grant_request(operators)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=req.pk).update(state="approved", decided_by=operators["admin"])


def test_second_administrator_approves_and_the_role_is_granted(operators):
    req = _grant_request(operators)
    req = approvals.approval_approve(request_id=req.pk, actor=operators["admin2"], note="ok")
    assert req.state == ApprovalRequest.State.APPROVED
    assert req.decided_by == operators["admin2"]
    assert roles.ADMINISTRATOR in operators["support"].role_names
    actions = list(
        AuditEvent.objects.filter(action__startswith="backoffice.").values_list("action", flat=True)
    )
    assert actions.count("backoffice.approval.approve") == 1
    assert actions.count("backoffice.operator.roles_change") == 1


def test_approving_twice_executes_once(operators):
    req = _grant_request(operators)
    approvals.approval_approve(request_id=req.pk, actor=operators["admin2"])
    with pytest.raises(DomainError) as exc:
        approvals.approval_approve(request_id=req.pk, actor=operators["admin2"])
    assert exc.value.code == "approval_not_pending"


def test_approver_needs_the_action_permission(operators):
    req = _grant_request(operators)
    with pytest.raises(DomainError) as exc:
        approvals.approval_approve(request_id=req.pk, actor=operators["finance"])
    assert exc.value.code == "approval_forbidden"


def test_reject_records_why_and_changes_nothing(operators):
    req = _grant_request(operators)
    with pytest.raises(DomainError):
        approvals.approval_reject(request_id=req.pk, actor=operators["admin2"], note="  ")
    req = approvals.approval_reject(request_id=req.pk, actor=operators["admin2"], note="not needed")
    assert req.state == ApprovalRequest.State.REJECTED and req.decision_note == "not needed"
    assert roles.ADMINISTRATOR not in operators["support"].role_names


def test_console_cannot_grant_administrator_directly(operators):
    with pytest.raises(DomainError) as exc:
        services.operator_set_roles(
            user_id=operators["support"].pk, role_names=["administrator"], actor=operators["admin"]
        )
    assert exc.value.code == "four_eyes"
    assert not operators["support"].groups.filter(name="administrator").exists()


def test_role_change_is_audited_with_before_and_after(operators):
    services.operator_set_roles(
        user_id=operators["support"].pk,
        role_names=["support", "risk"],
        actor=operators["admin"],
        note="covers fraud",
    )
    ev = AuditEvent.objects.get(action="backoffice.operator.roles_change")
    assert ev.before == {"roles": ["support"]} and ev.after == {"roles": ["risk", "support"]}
    assert ev.actor == operators["admin"] and ev.note == "covers fraud"


def test_failed_execution_marks_the_request_failed_and_keeps_nothing(operators):
    def boom(payload, requested_by, approved_by):
        Group.objects.create(name="half-written")
        raise DomainError("nope", "cannot do it now")

    approvals.register(
        approvals.ApprovalAction(
            key="test.boom", permission="backoffice.approve_grant_administrator", execute=boom, label="Boom"
        )
    )
    req = approvals.approval_request_create(
        action="test.boom", payload={}, summary="boom", reason="r", actor=operators["admin"]
    )
    req = approvals.approval_approve(request_id=req.pk, actor=operators["admin2"])
    assert req.state == ApprovalRequest.State.FAILED and req.error == "cannot do it now"
    assert not Group.objects.filter(name="half-written").exists()


def test_deciding_asks_for_a_fresh_sign_in_when_the_last_one_is_old(client, operators):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from backoffice.testing import client_login

    req = _grant_request(operators)
    client_login(client, operators["admin2"])
    url = f"/admin/approvals/{req.pk}/decide/"
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        r = client.post(url, {"approve": "1", "note": ""})
        assert r.status_code == 302 and r["Location"].startswith("/accounts/reauthenticate/")
        req.refresh_from_db()
        assert req.state == ApprovalRequest.State.PENDING
        client.post("/accounts/reauthenticate/", {"password": "pitboss-demo-2026"})
        r = client.post(url, {"approve": "1", "note": ""})
    assert r.status_code == 302
    req.refresh_from_db()
    assert req.state == ApprovalRequest.State.APPROVED
