"""Audit of sign-in events. Django and allauth only announce these through signals, so
this is the one place where the audit log is written from signal receivers; each
receiver only records what happened and changes nothing else."""

from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals

from . import audit


def _on_login(sender, request, user, **kwargs):
    audit.record(actor=user, action="backoffice.auth.login", target=user)


def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(actor=user, action="backoffice.auth.logout", target=user)


def _on_login_failed(sender, credentials, request=None, **kwargs):
    tried = str(credentials.get("email") or credentials.get("username") or "?")[:254]
    audit.record(
        actor=None,
        actor_label=f"anonymous:{tried}",
        action="backoffice.auth.login_failed",
        after={"email": tried},
    )


def _on_mfa_failed(sender, request, user, **kwargs):
    audit.record(actor=user, action="backoffice.auth.mfa_failed", target=user)


def _on_authenticator_added(sender, request, user, authenticator, **kwargs):
    audit.record(actor=user, action="backoffice.mfa.add", target=user, after={"type": authenticator.type})


def _on_authenticator_removed(sender, request, user, authenticator, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session.pop("_pitboss_mfa_ok", None)
    audit.record(actor=user, action="backoffice.mfa.remove", target=user, before={"type": authenticator.type})


def connect() -> None:
    auth_signals.user_logged_in.connect(_on_login, dispatch_uid="pitboss_audit_login")
    auth_signals.user_logged_out.connect(_on_logout, dispatch_uid="pitboss_audit_logout")
    auth_signals.user_login_failed.connect(_on_login_failed, dispatch_uid="pitboss_audit_login_failed")
    mfa_signals.authentication_failed.connect(_on_mfa_failed, dispatch_uid="pitboss_audit_mfa_failed")
    mfa_signals.authenticator_added.connect(_on_authenticator_added, dispatch_uid="pitboss_audit_mfa_add")
    mfa_signals.authenticator_removed.connect(_on_authenticator_removed, dispatch_uid="pitboss_audit_mfa_rm")
