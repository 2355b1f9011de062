"""Operator accounts and roles. Every write here is audited; granting the administrator
role always goes through a four-eyes approval."""

import secrets

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from . import approvals, audit, roles
from .errors import DomainError
from .models import ApprovalRequest, User

UNKNOWN_ROLE = "Unknown role {role!r}. Valid roles: {valid}."
ADMIN_NEEDS_APPROVAL = "Granting the administrator role needs a second administrator's approval."
EMAIL_TAKEN = "An operator with this email already exists."
GRANT_ADMIN = "backoffice.grant_administrator"


def _check_roles(role_names: list[str]) -> None:
    for r in role_names:
        if r not in roles.ROLES:
            raise DomainError(
                "unknown_role", UNKNOWN_ROLE.format(role=r, valid=", ".join(roles.ROLES)), field="roles"
            )


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def operator_create(
    *,
    email: str,
    full_name: str = "",
    role_names: list[str],
    password: str | None,
    actor: User | None,
    is_demo: bool = False,
) -> User:
    """Create an operator. The administrator role cannot be given here by a console
    operator (it needs an approval); the shell (actor None) may bootstrap the first one."""
    _check_roles(role_names)
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError("email_taken", EMAIL_TAKEN, field="email")
    if actor is not None and roles.ADMINISTRATOR in role_names:
        raise DomainError("four_eyes", ADMIN_NEEDS_APPROVAL, field="roles")
    user = User.objects.create_user(email, password, full_name=full_name, is_demo=is_demo)
    user.groups.set(Group.objects.filter(name__in=role_names))
    audit.record(
        actor=actor,
        action="backoffice.operator.create",
        target=user,
        after={"email": email, "roles": sorted(role_names)},
    )
    return user


@transaction.atomic
def operator_set_roles(*, user_id: int, role_names: list[str], actor: User | None, note: str = "") -> User:
    """Set an operator's roles. Adding the administrator role is refused here: use
    `operator_request_administrator` (four-eyes)."""
    _check_roles(role_names)
    user = User.objects.select_for_update().get(pk=user_id)
    before = user.role_names
    if roles.ADMINISTRATOR in role_names and roles.ADMINISTRATOR not in before and actor is not None:
        raise DomainError("four_eyes", ADMIN_NEEDS_APPROVAL, field="roles")
    user.groups.set(Group.objects.filter(name__in=role_names))
    audit.record(
        actor=actor,
        action="backoffice.operator.roles_change",
        target=user,
        before={"roles": before},
        after={"roles": sorted(role_names)},
        note=note,
    )
    return user


@transaction.atomic
def operator_set_active(*, user_id: int, active: bool, actor: User, note: str = "") -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    if user.pk == actor.pk and not active:
        raise DomainError("self_deactivate", "You cannot deactivate your own account.")
    before = user.is_active
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(
        actor=actor,
        action="backoffice.operator.activate" if active else "backoffice.operator.deactivate",
        target=user,
        before={"is_active": before},
        after={"is_active": active},
        note=note,
    )
    return user


def operator_request_administrator(*, user_id: int, actor: User, reason: str) -> ApprovalRequest:
    user = User.objects.get(pk=user_id)
    if roles.ADMINISTRATOR in user.role_names:
        raise DomainError("already_administrator", f"{user.email} is already an administrator.")
    return approvals.approval_request_create(
        action=GRANT_ADMIN,
        payload={"user_id": user.pk},
        summary=f"Grant the administrator role to {user.email}",
        reason=reason,
        actor=actor,
    )


def _execute_grant_administrator(payload: dict, requested_by: User, approved_by: User) -> dict:
    user = User.objects.select_for_update().get(pk=payload["user_id"])
    if user.pk == approved_by.pk:
        raise DomainError("four_eyes", "An operator cannot approve their own promotion.")
    before = user.role_names
    user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    audit.record(
        actor=approved_by,
        action="backoffice.operator.roles_change",
        target=user,
        before={"roles": before},
        after={"roles": user.role_names},
        note=f"administrator granted; requested by {requested_by.email}",
    )
    return {"user_id": user.pk, "roles": user.role_names}


approvals.register(
    approvals.ApprovalAction(
        key=GRANT_ADMIN,
        permission="backoffice.approve_grant_administrator",
        execute=_execute_grant_administrator,
        label="Grant the administrator role",
    )
)


@transaction.atomic
def operator_reset_second_factor(*, user_id: int, actor: User, note: str) -> User:
    """Remove every authenticator of an operator (lost phone): at next sign-in they must
    enrol again. Their sessions are ended."""
    from importlib import import_module

    from allauth.mfa.models import Authenticator
    from django.conf import settings
    from django.contrib.sessions.models import Session

    if not note.strip():
        raise DomainError("reason_required", approvals.REASON_REQUIRED, field="note")
    user = User.objects.select_for_update().get(pk=user_id)
    if user.pk == actor.pk:
        raise DomainError("four_eyes", "Ask another administrator to reset your own second factor.")
    types = sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    Authenticator.objects.filter(user=user).delete()
    for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if s.get_decoded().get("_auth_user_id") == str(user.pk):
            import_module(settings.SESSION_ENGINE).SessionStore(session_key=s.session_key).delete()
    audit.record(
        actor=actor,
        action="backoffice.mfa.reset",
        target=user,
        before={"authenticators": types},
        after={"authenticators": []},
        note=note,
    )
    return user
