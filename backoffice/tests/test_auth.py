import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from backoffice.middleware import has_second_factor
from backoffice.models import User
from backoffice.testing import client_login, totp_now

pytestmark = pytest.mark.django_db


def test_no_self_signup(client):
    r = client.get("/accounts/signup/")
    assert r.status_code == 200 and b"closed" in r.content.lower()
    client.post(
        "/accounts/signup/",
        {"email": "x@y.z", "password1": "a-very-long-pass-1", "password2": "a-very-long-pass-1"},
    )
    assert not User.objects.filter(email="x@y.z").exists()


def test_signed_in_without_second_factor_only_reaches_enrolment(client, db):
    User.objects.create_user("plain@pitboss.test", "a-long-first-password")
    r = client.post("/accounts/login/", {"login": "plain@pitboss.test", "password": "a-long-first-password"})
    assert r.status_code == 302
    for url in ["/admin/", "/admin/backoffice/auditevent/"]:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/totp/activate/"), url
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200


def test_operator_cannot_remove_their_last_second_factor(client, operators):
    client_login(client, operators["support"])
    # Reauthenticate, then try to deactivate TOTP.
    client.post("/accounts/reauthenticate/", {"password": "pitboss-demo-2026"})
    client.post("/accounts/2fa/totp/deactivate/", {})
    assert has_second_factor(operators["support"])


def test_failed_sign_ins_are_rate_limited(client, operators):
    for _ in range(5):
        client.post("/accounts/login/", {"login": "support@pitboss.test", "password": "wrong"})
    r = client.post("/accounts/login/", {"login": "support@pitboss.test", "password": "pitboss-demo-2026"})
    assert r.status_code in (200, 429)
    assert b"Too many failed" in r.content or r.status_code == 429
    assert "_auth_user_id" not in client.session


def test_idle_timeout_is_a_sliding_session_expiry():
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_TIMEOUT_MINUTES * 60 == 30 * 60


def test_session_expires_after_idle_timeout(client, operators):
    from datetime import timedelta

    import time_machine
    from django.core.cache import cache
    from django.utils import timezone

    client_login(client, operators["support"])
    assert client.get("/admin/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=29), tick=False):
        assert client.get("/admin/").status_code == 200  # activity renews the session
    with time_machine.travel(timezone.now() + timedelta(minutes=29 + 31), tick=False):
        # Redis drops a cached session on its own TTL (real time, which frozen time cannot
        # move): empty the cache so the stored session's expiry date decides.
        cache.clear()
        r = client.get("/admin/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_totp_code_command_only_for_demo_operators(operators, capsys):
    call_command("totp_code", "support@pitboss.test")
    out = capsys.readouterr().out.strip()
    assert out in {totp_now("support@pitboss.test", d) for d in (-1, 0, 1)}
    User.objects.create_user("real@pitboss.test", "a-long-first-password")
    with pytest.raises(CommandError):
        call_command("totp_code", "real@pitboss.test")


def test_create_operator_command(db, capsys):
    call_command("create_operator", "new@pitboss.test", "--role", "finance", "--name", "Nina New")
    out = capsys.readouterr().out
    assert "One-time password:" in out
    user = User.objects.get(email="new@pitboss.test")
    assert user.role_names == ["finance"] and user.has_usable_password() and not user.is_demo


def test_create_operator_unknown_role_exits_non_zero_listing_roles(db, capsys):
    with pytest.raises(SystemExit) as exc:
        call_command("create_operator", "x@pitboss.test", "--role", "croupier")
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "croupier" in err and "support, compliance, finance, marketing, risk, administrator" in err
    assert not User.objects.filter(email="x@pitboss.test").exists()


def test_second_factor_code_entry_is_rate_limited(client, operators):
    client.post("/accounts/login/", {"login": "support@pitboss.test", "password": "pitboss-demo-2026"})
    for _ in range(5):
        client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    r = client.post("/accounts/2fa/authenticate/", {"code": totp_now("support@pitboss.test")})
    assert r.status_code == 200 and b"Too many failed" in r.content
    assert "_auth_user_id" not in client.session


def test_enrolling_a_second_factor_is_audited(client, db, django_capture_on_commit_callbacks):
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    from backoffice.models import AuditEvent

    user = User.objects.create_user("enrol@pitboss.test", "a-long-first-password")
    client.post("/accounts/login/", {"login": "enrol@pitboss.test", "password": "a-long-first-password"})
    page = client.get("/accounts/2fa/totp/activate/")
    secret = page.context["form"].secret
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    with django_capture_on_commit_callbacks(execute=True):  # allauth announces it after commit
        r = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert r.status_code == 302
    assert has_second_factor(user)
    added = AuditEvent.objects.filter(action="backoffice.mfa.add", actor=user)
    assert sorted(e.after["type"] for e in added) == ["recovery_codes", "totp"]
    assert client.get("/admin/").status_code == 200
