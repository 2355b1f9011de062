"""A support agent answers "my win was not paid": finds the round by the id the player
quotes, opens it, and sees the provider's bet and win calls with our answers and the
ledger postings they made."""

import re

import pytest
from playwright.sync_api import Page, expect

from games.models import Round
from games.tests.aggregator import make_world, tx
from tests.e2e.test_approvals import sign_in
from tests.e2e.test_console_signin import _shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_support_finds_a_round_by_its_id_and_sees_the_bet_and_win_calls(
    page: Page, live_server, operators, client
):
    w = make_world(client)
    w.bet(100, txid=tx(), round_id="other-round")  # another round the search must leave out
    bet_id, win_id = tx(), tx()
    assert w.bet(250, txid=bet_id, round_id="hub-77421")["status"] == "OK"
    assert w.win(900, bet_id, txid=win_id, round_id="hub-77421", round_closed=True)["status"] == "OK"
    rnd = Round.objects.get(external_id="hub-77421")

    sign_in(page, live_server.url, "support@pitboss.test")
    page.get_by_role("link", name=re.compile(r"\bRounds$")).click()
    page.locator("#searchbar").fill("hub-77421")
    page.locator("#searchbar").press("Enter")
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("EUR 2.50")
    expect(results.first).to_contain_text("EUR 9.00")
    results.first.get_by_role("link", name="hub-77421").click()

    expect(page).to_have_url(re.compile(rf"/admin/games/round/{rnd.pk}/change/"))
    calls = page.get_by_test_id("round-call")
    expect(calls).to_have_count(2)
    expect(calls.nth(0)).to_contain_text("Bet")
    expect(calls.nth(0)).to_contain_text(bet_id)
    expect(calls.nth(0)).to_contain_text("OK")
    expect(calls.nth(1)).to_contain_text("Win")
    expect(calls.nth(1)).to_contain_text(win_id)
    # The request and answer open on demand; the session token stays hidden.
    page.get_by_text("Request and answer").nth(1).click()
    expect(page.get_by_test_id("call-request").nth(1)).to_contain_text('"reference_transaction_id"')
    expect(page.get_by_test_id("call-response").nth(1)).to_contain_text('"status": "OK"')
    expect(page.get_by_test_id("round-posting")).to_have_count(4)
    expect(page.get_by_text(w.session.token)).to_have_count(0)
    _shot(page, "round-page")
