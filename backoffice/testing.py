"""Helpers for tests that sign operators in for real (password, then TOTP)."""

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from .demo import DEMO_PASSWORD, demo_totp_secret


def totp_now(email: str, offset: int = 0) -> str:
    return format_hotp_value(hotp_value(demo_totp_secret(email), int(time.time()) // 30 + offset))


def client_login(client, user, password: str = DEMO_PASSWORD):
    """Sign in through allauth exactly as a browser does: password form, then the code."""
    r = client.post("/accounts/login/", {"login": user.email, "password": password})
    assert r.status_code == 302, r.content[:500]
    if r["Location"].startswith("/accounts/2fa/authenticate"):
        r = client.post("/accounts/2fa/authenticate/", {"code": totp_now(user.email)})
        assert r.status_code == 302, r.content[:500]
    return r
