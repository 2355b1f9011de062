"""The console's list of wallet calls: every bet, win and rollback including refused ones
that opened no round; searchable by transaction id or player; the session token never
stored; a fixed number of queries whatever the number of calls."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from games.models import WalletTransaction

from .aggregator import make_world

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:games_wallettransaction_changelist")


@pytest.fixture
def w(client):
    return make_world(client, cash=1_000)


def _get(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return len(ctx.captured_queries), r.content.decode()


def test_a_refused_bet_without_a_round_is_findable_with_its_reason(client, operators, w):
    assert w.bet(5_000, txid="too-big", round_id="never-opened")["status"] == "INSUFFICIENT_FUNDS"
    call = WalletTransaction.objects.get(transaction_id="too-big")
    assert call.round is None
    client.force_login(operators["support"])
    _, html = _get(client, f"{CALLS}?q=too-big")
    assert "too-big" in html and "INSUFFICIENT_FUNDS" in html
    _, page = _get(client, reverse("admin:games_wallettransaction_change", args=[call.pk]))
    assert "balance does not cover the bet" in page
    # The launch token is a credential: never stored, so never shown.
    assert "token" not in call.request and w.session.token not in page


def test_search_by_player_lists_only_their_calls(client, operators, w):
    w.bet(100, txid="mine")
    client.force_login(operators["compliance"])
    _, html = _get(client, f"{CALLS}?q={w.player.public_id.lower()}")
    assert "mine" in html
    _, html = _get(client, f"{CALLS}?q=PNOBODY123")
    assert "mine" not in html


def test_the_calls_list_runs_a_fixed_number_of_queries(client, operators, w):
    client.force_login(operators["finance"])
    for i in range(2):
        w.bet(10, txid=f"a{i}", round_id=f"r{i}")
    client.get(CALLS)
    few, _ = _get(client, CALLS)
    for i in range(2, 20):
        w.bet(10, txid=f"a{i}", round_id=f"r{i}")
    many, html = _get(client, CALLS)
    assert few == many and "a19" in html


def test_marketing_may_not_read_wallet_calls(client, operators, w):
    client.force_login(operators["marketing"])
    assert client.get(CALLS).status_code == 403
