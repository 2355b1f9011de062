"""Zimpler end to end: the deposit API creates the deposit on the sandbox double; a
notification is only a trigger: the deposit is re-fetched with our API key and its fetched
state decides (an authorised deposit is approved, then credited once). A posted body that
claims success while the API says pending moves no money."""

import json

import pytest

from payments.models import Notification, Payment
from payments.notifications import notification_replay
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import depositor

pytestmark = pytest.mark.django_db
URL = "/webhooks/zimpler/"


@pytest.fixture
def api(client):
    from backoffice.apiclients import api_client_create

    _c, key = api_client_create(name="frontend")

    def call(body):
        return client.post(
            "/api/platform/v1/deposits",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


@pytest.fixture
def send(client):
    def post(body: bytes, expect: int = 204):
        r = client.post(URL, data=body, content_type="application/json")
        assert r.status_code == expect, r.content
        return r

    return post


def _started(api, player, amount="25.00") -> Payment:
    r = api({"player_id": player.public_id, "provider": "zimpler", "amount": amount, "currency": "EUR"})
    assert r.status_code == 201, r.content
    return Payment.objects.get(reference=r.json()["reference"])


def test_the_deposit_api_creates_the_zimpler_deposit(api, zimpler):
    player = depositor()
    p = _started(api, player)
    dep = zimpler.deposits[p.provider_reference]
    assert p.redirect_url == dep["user_form_url"] and dep["ref"] == p.reference
    assert (dep["amount"], dep["currency"], dep["country_code"]) == ("25.00", "EUR", "MT")
    sent = zimpler.requests[-1]
    assert (sent.method, sent.path, sent.headers["authorization"]) == (
        "POST",
        "/v4/deposits",
        "Bearer test-zimpler-api-key",
    )
    assert sent.json()["notification_url"].endswith("/webhooks/zimpler/")


def test_an_authorised_deposit_is_fetched_approved_and_credited_once(api, zimpler, send):
    player = depositor()
    p = _started(api, player)
    zimpler.set_state(p.provider_reference, "authorized")
    for _ in range(3):
        send(zimpler.notification_body(p.provider_reference))
    p.refresh_from_db()
    assert p.state == "succeeded" and player_balances(player)["cash"] == 2500
    assert zimpler.deposits[p.provider_reference]["state"] == "approved"
    assert Transaction.objects.filter(kind="deposit").count() == 1
    gets = [r for r in zimpler.requests if r.method == "GET"]
    assert len(gets) == 3 and all(r.headers["authorization"] == "Bearer test-zimpler-api-key" for r in gets)
    assert set(Notification.objects.values_list("verdict", flat=True)) == {"unsigned"}
    assert ledger_check().ok


def test_a_body_claiming_success_while_the_api_says_pending_moves_no_money(api, zimpler, send):
    player = depositor()
    p = _started(api, player)
    send(zimpler.notification_body(p.provider_reference, state="approved", amount="2500.00"))
    p.refresh_from_db()
    assert p.state == "pending" and player_balances(player)["cash"] == 0
    assert Transaction.objects.count() == 0


def test_the_fetched_reference_and_amount_are_used_not_the_posted_ones(api, zimpler, send):
    a, b = depositor(), depositor()
    pa, pb = _started(api, a), _started(api, b)
    zimpler.set_state(pa.provider_reference, "approved")
    # A forged body names A's deposit id but B's reference and a bigger amount.
    send(zimpler.notification_body(pa.provider_reference, ref=pb.reference, amount="999.00"))
    assert player_balances(a)["cash"] == 2500 and player_balances(b)["cash"] == 0


def test_a_rejected_deposit_fails(api, zimpler, send):
    p = _started(api, depositor())
    zimpler.set_state(p.provider_reference, "rejected")
    send(zimpler.notification_body(p.provider_reference))
    p.refresh_from_db()
    assert p.state == "failed"


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"state":"approved"}', b'{"id":7}', b""])
def test_a_malformed_body_answers_400_and_is_stored(send, body):
    send(body, expect=400)
    n = Notification.objects.get()
    assert n.state == "rejected" and n.body == body.decode()


def test_zimpler_unreachable_answers_500_keeps_the_delivery_and_a_replay_credits(
    api, zimpler, send, settings, operators
):
    player = depositor()
    p = _started(api, player)
    zimpler.set_state(p.provider_reference, "approved")
    base = settings.ZIMPLER_API_BASE_URL
    settings.ZIMPLER_API_BASE_URL = "http://127.0.0.1:9/v4"  # nothing listens there
    send(zimpler.notification_body(p.provider_reference), expect=500)
    n = Notification.objects.get()
    assert n.state == "failed" and "unreachable" in n.outcome and player_balances(player)["cash"] == 0
    settings.ZIMPLER_API_BASE_URL = base
    notification_replay(notification_id=n.pk, actor=operators["finance"])
    assert player_balances(player)["cash"] == 2500
