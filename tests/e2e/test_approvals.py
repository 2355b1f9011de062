"""Four-eyes in the browser: an administrator asks for the administrator role for a
colleague; they cannot approve it themselves; a second administrator approves it."""

import re

import pytest
from playwright.sync_api import Page, expect

from backoffice.demo import DEMO_PASSWORD
from backoffice.models import ApprovalRequest, User
from backoffice.testing import totp_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(totp_now(email))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()


def test_granting_administrator_needs_a_second_administrator(page: Page, live_server, operators, browser):
    support = operators["support"]
    sign_in(page, live_server.url, "admin@pitboss.test")
    page.goto(f"{live_server.url}/admin/backoffice/user/{support.pk}/change/")
    page.get_by_role("link", name="Change roles").click()
    page.get_by_role("checkbox", name="Administrator").check()
    page.get_by_label("Reason (when asking for the administrator role)").fill("Covers the weekend on-call")
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_text("awaits a second administrator's approval")).to_be_visible()
    assert not User.objects.get(pk=support.pk).groups.filter(name="administrator").exists()

    # The requester sees the request but no Approve button.
    req = ApprovalRequest.objects.get()
    page.goto(f"{live_server.url}/admin/approvals/{req.pk}/decide/")
    expect(page.get_by_text("You made this request")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # A second administrator, in their own browser session, approves it from the queue.
    other = browser.new_context().new_page()
    sign_in(other, live_server.url, "admin2@pitboss.test")
    other.goto(f"{live_server.url}/admin/backoffice/approvalrequest/")
    other.get_by_role("link", name="Review").click()
    expect(other.get_by_test_id("approval-summary")).to_contain_text("support@pitboss.test")
    other.get_by_role("button", name="Approve").click()
    expect(other.get_by_text("approved and carried out")).to_be_visible()
    expect(other).to_have_url(re.compile(r"/admin/backoffice/approvalrequest/"))

    req.refresh_from_db()
    assert req.state == ApprovalRequest.State.APPROVED and req.decided_by == operators["admin2"]
    assert User.objects.get(pk=support.pk).groups.filter(name="administrator").exists()
