"""Four-eyes approvals: a registry of actions that need a second operator, and the
services that request, approve, reject and cancel them.

An app registers an action once (at import of its services module):

    approvals.register(ApprovalAction(
        key="wallet.adjustment", permission="wallet.approve_adjustment",
        execute=_execute_adjustment, label="Manual ledger adjustment"))

`execute(payload, requested_by, approved_by)` runs inside the approving transaction and
returns a JSON-able result; a DomainError from it marks the request failed with the
message, and nothing else it wrote is kept."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import audit
from .errors import DomainError
from .models import ApprovalRequest, User

FOUR_EYES_SAME_OPERATOR = "You asked for this yourself: a second operator must approve it."
NOT_PENDING = "This request has already been decided."
NO_PERMISSION = "You do not hold the permission to approve this kind of request."
UNKNOWN_ACTION = "Unknown approval action."
REASON_REQUIRED = "Say why: a reason is required."


@dataclass(frozen=True)
class ApprovalAction:
    key: str
    permission: str
    execute: Callable[[dict, User, User], Any]
    label: str


_registry: dict[str, ApprovalAction] = {}


def register(action: ApprovalAction) -> ApprovalAction:
    _registry[action.key] = action
    return action


def get_action(key: str) -> ApprovalAction:
    try:
        return _registry[key]
    except KeyError:
        raise DomainError("approval_unknown_action", UNKNOWN_ACTION) from None


def registered_actions() -> dict[str, ApprovalAction]:
    return dict(_registry)


def can_approve(user: User, request: ApprovalRequest) -> bool:
    action = _registry.get(request.action)
    return bool(
        action
        and request.state == ApprovalRequest.State.PENDING
        and request.requested_by_id != user.pk
        and user.has_perm(action.permission)
    )


@transaction.atomic
def approval_request_create(
    *, action: str, payload: dict, summary: str, reason: str, actor: User
) -> ApprovalRequest:
    get_action(action)
    if not reason.strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    req = ApprovalRequest.objects.create(
        action=action, payload=payload, summary=summary[:300], reason=reason, requested_by=actor
    )
    audit.record(
        actor=actor,
        action="backoffice.approval.request",
        target=req,
        after={"action": action, "payload": payload},
        note=reason,
    )
    return req


def _lock_pending(request_id: int) -> ApprovalRequest:
    req = ApprovalRequest.objects.select_for_update().get(pk=request_id)
    if req.state != ApprovalRequest.State.PENDING:
        raise DomainError("approval_not_pending", NOT_PENDING)
    return req


def approval_approve(*, request_id: int, actor: User, note: str = "") -> ApprovalRequest:
    """Approve and execute. Invariants: the approver is not the requester and holds the
    action's permission; the request is executed at most once (row lock + state)."""
    with transaction.atomic():
        req = _lock_pending(request_id)
        action = get_action(req.action)
        if req.requested_by_id == actor.pk:
            raise DomainError("four_eyes", FOUR_EYES_SAME_OPERATOR)
        if not actor.has_perm(action.permission):
            raise DomainError("approval_forbidden", NO_PERMISSION, status=403)
        try:
            with transaction.atomic():
                result = action.execute(req.payload, req.requested_by, actor)
        except DomainError as exc:
            req.state, req.error = ApprovalRequest.State.FAILED, exc.message
            result = None
        else:
            req.state, req.result = ApprovalRequest.State.APPROVED, result if isinstance(result, dict) else {}
        req.decided_by, req.decided_at, req.decision_note = actor, timezone.now(), note
        req.save(update_fields=["state", "result", "error", "decided_by", "decided_at", "decision_note"])
        audit.record(
            actor=actor,
            action="backoffice.approval.approve",
            target=req,
            before={"state": "pending"},
            after={"state": req.state, "error": req.error},
            note=note,
        )
    return req


@transaction.atomic
def approval_reject(*, request_id: int, actor: User, note: str) -> ApprovalRequest:
    req = _lock_pending(request_id)
    action = get_action(req.action)
    if req.requested_by_id == actor.pk:
        raise DomainError("four_eyes", FOUR_EYES_SAME_OPERATOR)
    if not actor.has_perm(action.permission):
        raise DomainError("approval_forbidden", NO_PERMISSION, status=403)
    if not note.strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="note")
    req.state, req.decided_by, req.decided_at, req.decision_note = (
        ApprovalRequest.State.REJECTED,
        actor,
        timezone.now(),
        note,
    )
    req.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="backoffice.approval.reject",
        target=req,
        before={"state": "pending"},
        after={"state": req.state},
        note=note,
    )
    return req


@transaction.atomic
def approval_cancel(*, request_id: int, actor: User) -> ApprovalRequest:
    req = _lock_pending(request_id)
    if req.requested_by_id != actor.pk:
        raise DomainError("approval_not_requester", "Only the requester may cancel a request.", status=403)
    req.state = ApprovalRequest.State.CANCELLED
    req.save(update_fields=["state"])
    audit.record(
        actor=actor,
        action="backoffice.approval.cancel",
        target=req,
        before={"state": "pending"},
        after={"state": req.state},
    )
    return req
