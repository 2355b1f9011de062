"""What an operator does in a browser: sign in with password and TOTP, enrol a second
factor when they have none, be refused a screen their role does not grant."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from backoffice import services
from backoffice.demo import DEMO_PASSWORD
from backoffice.testing import totp_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def test_demo_operator_signs_in_with_password_and_totp(page: Page, live_server, operators):
    _sign_in(page, live_server.url, "finance@pitboss.test")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label("Code").fill(totp_now("finance@pitboss.test"))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    expect(page.get_by_test_id("operator-identity")).to_contain_text("Finn Finance")
    expect(page.get_by_test_id("operator-identity")).to_contain_text("Finance")
    _shot(page, "dashboard-finance")


def test_wrong_totp_code_keeps_the_console_closed(page: Page, live_server, operators):
    _sign_in(page, live_server.url, "support@pitboss.test")
    page.get_by_label("Code").fill("000000" if totp_now("support@pitboss.test") != "000000" else "111111")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text("Incorrect code")).to_be_visible()
    page.goto(f"{live_server.url}/admin/")
    # Still in the sign-in flow (login page or the code page), never the console.
    expect(page).to_have_url(re.compile(r"/accounts/(login|2fa/authenticate)/"))
    expect(page.get_by_test_id("dashboard")).to_have_count(0)


def test_operator_without_second_factor_is_sent_to_enrolment(page: Page, live_server, db):
    services.operator_create(
        email="new@pitboss.test",
        full_name="New Person",
        role_names=["support"],
        password="a-long-first-password",
        actor=None,
    )
    _sign_in(page, live_server.url, "new@pitboss.test", "a-long-first-password")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    # Any console page sends them back to enrolment until they have a second factor.
    page.goto(f"{live_server.url}/admin/backoffice/auditevent/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    _shot(page, "enrolment")
    # Enrol: read the secret the page shows, answer with its current code.
    secret = (
        page.locator("#authenticator_secret").input_value()
        if page.locator("#authenticator_secret").count()
        else page.get_by_label("Authenticator secret").input_value()
    )
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    page.get_by_label("Authenticator code").fill(
        format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    )
    page.get_by_role("button", name="Activate").click()
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_test_id("dashboard")).to_be_visible()


def test_support_agent_is_refused_an_administrator_screen(page: Page, live_server, operators):
    _sign_in(page, live_server.url, "support@pitboss.test")
    page.get_by_label("Code").fill(totp_now("support@pitboss.test"))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    response = page.goto(f"{live_server.url}/admin/backoffice/user/")
    assert response is not None and response.status == 403
    # Nor is it offered in the navigation.
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("link", name="Operators")).to_have_count(0)
