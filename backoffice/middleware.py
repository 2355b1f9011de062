import re
import uuid

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from . import context

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address the last trusted proxy saw (TRUSTED_PROXY_COUNT)."""
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        parts = [p.strip() for p in forwarded.split(",") if p.strip()]
        if len(parts) >= hops:
            return parts[-hops]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (X-Request-ID, or a new one) and records the client IP,
    for the audit log, and echoes the id in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.headers.get("X-Request-ID") or ""
        if not _REQUEST_ID.fullmatch(rid):  # a caller's id is kept only if it is a plain token
            rid = uuid.uuid4().hex
        request.request_id = rid
        token = context.set_current(context.RequestContext(request_id=rid, ip=client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = rid
        return response


def has_second_factor(user) -> bool:
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


class RequireSecondFactorMiddleware:
    """Every signed-in operator without a second factor is sent to enrol one before any
    other page (allauth does not force enrolment itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not self._exempt(request.path):
            cached = request.session.get("_pitboss_mfa_ok")
            if not cached:
                if has_second_factor(user):
                    request.session["_pitboss_mfa_ok"] = True
                else:
                    return redirect(f"{reverse('mfa_activate_totp')}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        return any(path.startswith(p) for p in settings.MFA_ENROLMENT_EXEMPT_PREFIXES)
