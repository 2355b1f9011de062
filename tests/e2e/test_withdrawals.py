"""Finance's withdrawal queue in the browser: an operator approves a withdrawal and the
payout goes to the Adyen double; above the ceiling the first approval only asks for a
second one, the requester gets no Approve button, and a second operator approves."""

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from payments import withdrawals
from payments.models import Payment
from payments.tests.withdrawal_helpers import adyen_double, funded
from tests.e2e.test_approvals import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def payouts(settings):
    with adyen_double(settings) as sandbox:
        yield sandbox


def _withdrawal(player, amount: str) -> Payment:
    p = withdrawals.withdrawal_request(player=player, provider="adyen", amount=amount, currency="EUR")
    assert p.state == "in_review", p.status_note
    return p


def test_finance_approves_and_above_the_ceiling_a_second_operator_must(
    page: Page,
    live_server,
    operators,
    browser,
    payouts,
    settings,
):
    settings.PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR = 10000  # EUR 100.00
    player = funded(Client(), payouts, amount=50000, first_name="Wanda", last_name="Draw")
    small = _withdrawal(player, "50.00")

    sign_in(page, live_server.url, "finance@pitboss.test")
    page.get_by_role("link", name="Withdrawal queue").click()
    expect(page.get_by_test_id("withdrawal-detail")).to_contain_text(small.reference)
    expect(page.get_by_test_id("withdrawal-checks")).to_contain_text("same_method")
    expect(page.get_by_test_id("withdrawal-position")).to_contain_text("500.00")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved: payout queued").first).to_be_visible()
    small.refresh_from_db()
    assert small.state == "sent" and small.provider_reference == payouts.payouts[small.reference]

    # Above the ceiling: the first approval asks for a second one.
    big = _withdrawal(player, "150.00")
    page.goto(f"{live_server.url}/admin/payments/withdrawals/{big.pk}/review/")
    page.get_by_label("Reason").fill("Winnings from last week, documents on file")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("awaits a second approver").first).to_be_visible()
    expect(page.get_by_test_id("withdrawal-requester")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    big.refresh_from_db()
    assert big.state == "in_review" and big.approval_request.requested_by == operators["finance"]

    # A second finance operator, in their own browser session, approves it.
    other = browser.new_context().new_page()
    sign_in(other, live_server.url, "finance2@pitboss.test")
    other.goto(f"{live_server.url}/admin/payments/withdrawals/queue/")
    expect(other.get_by_test_id("withdrawal-four-eyes")).to_contain_text("finance@pitboss.test")
    other.get_by_role("button", name="Approve (second)").click()
    expect(other.get_by_text("approved: payout queued").first).to_be_visible()
    big.refresh_from_db()
    assert big.state == "sent"
    assert big.events.get(to_state="approved").actor == operators["finance2"]
