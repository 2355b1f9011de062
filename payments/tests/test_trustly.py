"""Trustly end to end: the deposit API signs a `Deposit` to the sandbox double, which
answers a signed checkout URL; its signed notifications credit once whatever the order or
the repeats; our answers are signed JSON-RPC results; a tampered notification is refused
(401), kept as rejected, and moves no money; a debit after a credit reverses the deposit;
`account` records the bank account."""

import json
from pathlib import Path

import pytest

from payments.models import Notification, Payment, PaymentMethod
from payments.providers import trustly as t
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import deposit, depositor

pytestmark = pytest.mark.django_db
URL = "/webhooks/trustly/"


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
    def post(notification: dict | bytes, expect: int = 200):
        body = notification if isinstance(notification, bytes) else json.dumps(notification).encode()
        r = client.post(URL, data=body, content_type="application/json")
        assert r.status_code == expect, r.content
        return r

    return post


def _started(api, trustly, player, amount="25.00") -> Payment:
    r = api({"player_id": player.public_id, "provider": "trustly", "amount": amount, "currency": "EUR"})
    assert r.status_code == 201, r.content
    return Payment.objects.get(reference=r.json()["reference"])


def _merchant_public_key(settings):
    return t.load_private_key(Path(settings.TRUSTLY_PRIVATE_KEY_FILE).read_bytes()).public_key()


def test_the_deposit_api_sends_a_signed_deposit_and_answers_the_checkout_url(api, trustly, settings):
    player = depositor()
    p = _started(api, trustly, player)
    assert (
        p.redirect_url.startswith(trustly.root_url + "/checkout/") and p.provider_reference in trustly.orders
    )
    sent = trustly.requests[-1].json()
    assert sent["method"] == "Deposit"
    data = sent["params"]["Data"]
    assert data["MessageID"] == p.reference and data["EndUserID"] == player.public_id
    assert data["Attributes"]["Amount"] == "25.00" and data["Attributes"]["Currency"] == "EUR"
    assert data["NotificationURL"].endswith("/webhooks/trustly/")
    assert t.verify(
        "Deposit", sent["params"]["UUID"], data, sent["params"]["Signature"], _merchant_public_key(settings)
    )


def test_a_signed_credit_credits_once_and_is_answered_with_our_signed_ok(api, trustly, send, settings):
    player = depositor()
    p = _started(api, trustly, player)
    note = trustly.notification("credit", trustly.data(p.reference))
    for _ in range(3):  # Trustly retries until it has our OK
        answer = send(note).json()
    result = answer["result"]
    assert answer["version"] == "1.1" and result["data"] == {"status": "OK"}
    assert result["uuid"] == note["params"]["uuid"] and result["method"] == "credit"
    assert t.verify(
        "credit", result["uuid"], result["data"], result["signature"], _merchant_public_key(settings)
    )
    p.refresh_from_db()
    assert p.state == "succeeded" and player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="deposit").count() == 1
    keys = set(Notification.objects.values_list("idempotency_key", flat=True))
    assert keys == {f"trustly:{note['params']['data']['notificationid']}"}
    assert ledger_check().ok


def test_out_of_order_pending_after_credit_changes_nothing(api, trustly, send):
    player = depositor()
    p = _started(api, trustly, player)
    send(trustly.notification("credit", trustly.data(p.reference)))
    send(trustly.notification("pending", trustly.data(p.reference)))
    send(trustly.notification("credit", trustly.data(p.reference)))  # a second notificationid
    p.refresh_from_db()
    assert p.state == "succeeded" and player_balances(player)["cash"] == 2500
    assert [e.to_state for e in p.events.all()] == ["initiated", "succeeded"]


def test_pending_then_credit(api, trustly, send):
    player = depositor()
    p = _started(api, trustly, player)
    send(trustly.notification("pending", trustly.data(p.reference)))
    send(trustly.notification("credit", trustly.data(p.reference)))
    assert [e.to_state for e in p.events.all()] == ["initiated", "pending", "succeeded"]


def test_a_tampered_notification_is_refused_stored_and_moves_no_money(api, trustly, send):
    player = depositor()
    p = _started(api, trustly, player)
    note = trustly.notification("credit", trustly.data(p.reference))
    note["params"]["data"]["amount"] = "2500.00"
    send(note, expect=401)
    n = Notification.objects.get()
    assert (n.verdict, n.state) == ("invalid", "rejected") and "2500.00" in n.body
    p.refresh_from_db()
    assert p.state == "initiated" and Transaction.objects.count() == 0


def test_a_notification_signed_with_another_key_is_refused(trustly, send):
    p = deposit(depositor(), provider="trustly")
    trustly.orders["1"] = {"MessageID": p.reference, "Attributes": {"Amount": "25.00", "Currency": "EUR"}}
    other = t.sign("credit", "u-1", trustly.data(p.reference), t.load_private_key(_throwaway_pem()))
    note = trustly.notification("credit", trustly.data(p.reference), uuid="u-1")
    note["params"]["signature"] = other
    send(note, expect=401)
    assert Transaction.objects.count() == 0


def _throwaway_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[]", b'{"method":"credit"}', b'{"method":"refund","params":{}}', b""],
)
def test_a_malformed_body_answers_400_and_is_stored(send, body):
    send(body, expect=400)
    n = Notification.objects.get()
    assert n.state == "rejected" and n.outcome.startswith("malformed") and n.body == body.decode()


def test_a_debit_after_the_credit_reverses_the_deposit(api, trustly, send):
    player = depositor()
    p = _started(api, trustly, player)
    send(trustly.notification("credit", trustly.data(p.reference)))
    send(trustly.notification("debit", trustly.data(p.reference)))
    p.refresh_from_db()
    assert p.state == "reversed" and player_balances(player)["cash"] == 0
    assert Notification.objects.filter(flagged=True).count() == 1  # finance sees the failed settlement
    assert ledger_check().ok


def test_cancel_before_credit_cancels(api, trustly, send):
    p = _started(api, trustly, depositor())
    send(
        trustly.notification("cancel", {k: v for k, v in trustly.data(p.reference).items() if k != "amount"})
    )
    p.refresh_from_db()
    assert p.state == "cancelled"


def test_the_account_notification_records_the_bank_account(api, trustly, send):
    player = depositor()
    p = _started(api, trustly, player)
    data = trustly.data(p.reference, accountid="4567891234", verified="1")
    data["attributes"] = {
        "clearinghouse": "SWEDEN",
        "bank": "SEB",
        "descriptor": "**4057",
        "lastdigits": "664057",
    }
    data["attributes"]["name"] = "Sven  Svensson"
    send(trustly.notification("account", data))
    m = PaymentMethod.objects.get()
    assert (m.player_id, m.type, m.bank, m.last_four, m.holder_name) == (
        player.pk,
        "bank_account",
        "SEB",
        "4057",
        "Sven Svensson",
    )
    p.refresh_from_db()
    assert p.payment_method_id == m.pk and p.state == "initiated"


def test_an_unknown_messageid_is_stored_flagged_and_answered_ok(trustly, send):
    trustly.orders["1"] = {"MessageID": "PBNOSUCH", "Attributes": {"Amount": "1.00", "Currency": "EUR"}}
    r = send(trustly.notification("credit", trustly.data("PBNOSUCH")))
    assert r.json()["result"]["data"] == {"status": "OK"}
    n = Notification.objects.get()
    assert n.flagged and n.state == "ignored"


def test_the_provider_refusing_fails_the_payment(api, trustly):
    trustly.fail_next = True
    r = api({"player_id": depositor().public_id, "provider": "trustly", "amount": "5.00", "currency": "EUR"})
    assert r.status_code == 502 and r.json()["error"]["code"] == "provider_error"
    assert Payment.objects.get().state == "failed"
