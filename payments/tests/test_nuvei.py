"""Nuvei end to end: openOrder on the sandbox double (checksummed request), DMNs with
advanceResponseChecksum credit once; refunds and chargebacks reverse; a tampered DMN is
refused (401), stored, and moves no money; withdrawal DMNs are postponed for the
withdrawal flow."""

import pytest

from payments.models import Notification, Payment
from payments.providers.nuvei import withdrawal_dmn_answer
from players.models import Player
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import depositor

pytestmark = pytest.mark.django_db
URL = "/webhooks/nuvei/"


@pytest.fixture
def send(client):
    def post(body: bytes, expect: int = 200):
        r = client.post(URL, data=body, content_type="application/x-www-form-urlencoded")
        assert r.status_code == expect, r.content
        return r

    return post


def _started(deposit_api, player, amount="25.00") -> Payment:
    r = deposit_api(player, "nuvei", amount)
    assert r.status_code == 201, r.content
    return Payment.objects.get(reference=r.json()["reference"])


def test_the_deposit_api_opens_an_order_and_answers_the_payment_page(deposit_api, nuvei):
    player = depositor()
    p = _started(deposit_api, player)
    order = nuvei.orders[p.reference]
    assert (order["amount"], order["currency"], order["userTokenId"]) == ("25.00", "EUR", player.public_id)
    assert p.provider_reference == order["orderId"]
    assert p.redirect_url.startswith(
        nuvei.root_url + "/ppp/purchase.do?sessionToken=" + order["sessionToken"]
    )
    assert order["urlDetails"]["notificationUrl"].endswith("/webhooks/nuvei/")


def test_an_approved_dmn_credits_once_however_often_it_arrives(deposit_api, nuvei, send):
    player = depositor()
    p = _started(deposit_api, player)
    body = nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", transaction_id="T1"))
    for _ in range(3):
        assert send(body).content == b"OK"
    p.refresh_from_db()
    assert p.state == "succeeded" and p.provider_reference == "T1" and player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert Notification.objects.filter(idempotency_key="nuvei:T1:Sale:APPROVED").count() == 3
    assert ledger_check().ok


def test_a_late_pending_or_decline_after_approval_changes_nothing(deposit_api, nuvei, send):
    player = depositor()
    p = _started(deposit_api, player)
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", transaction_id="T1")))
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", status="PENDING")))
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", status="DECLINED")))
    p.refresh_from_db()
    assert p.state == "succeeded" and player_balances(player)["cash"] == 2500


@pytest.mark.parametrize(
    ("status", "state"), [("DECLINED", "failed"), ("ERROR", "failed"), ("PENDING", "pending")]
)
def test_other_statuses(deposit_api, nuvei, send, status, state):
    p = _started(deposit_api, depositor())
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", status=status)))
    p.refresh_from_db()
    assert p.state == state and Transaction.objects.count() == 0


def test_a_tampered_dmn_is_refused_stored_and_moves_no_money(deposit_api, nuvei, send):
    p = _started(deposit_api, depositor())
    fields = nuvei.dmn(p.reference, "25.00", "EUR")
    fields["totalAmount"] = "2500.00"
    send(nuvei.body(fields), expect=401)
    n = Notification.objects.get()
    assert (n.verdict, n.state) == ("invalid", "rejected") and "2500.00" in n.body
    assert Transaction.objects.count() == 0


@pytest.mark.parametrize("body", [b"", b"a=1&b", b"Status=APPROVED", b"%ZZ=1"])
def test_a_malformed_body_answers_400_and_is_stored(send, body):
    send(body, expect=400)
    assert Notification.objects.get().state == "rejected"


def test_a_chargeback_dmn_debits_the_player_and_suspends_them(deposit_api, nuvei, send):
    player = depositor()
    p = _started(deposit_api, player)
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", transaction_id="T1")))
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", transaction_type="Chargeback", related="T1")))
    p.refresh_from_db()
    player.refresh_from_db()
    assert p.state == "reversed" and player_balances(player)["cash"] == 0
    assert player.status == Player.Status.SUSPENDED
    assert ledger_check().ok


def test_a_refund_dmn_reverses(deposit_api, nuvei, send):
    player = depositor()
    p = _started(deposit_api, player)
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", transaction_id="T1")))
    send(nuvei.body(nuvei.dmn(p.reference, "25.00", "EUR", transaction_type="Credit", related="T1")))
    p.refresh_from_db()
    assert p.state == "reversed" and player_balances(player)["cash"] == 0


def test_a_withdrawal_dmn_is_postponed_and_flagged(send):
    r = send(b"wdRequestId=77&wdRequestStatus=Pending&amount=10.00&currency=EUR")
    assert r.content == b"action=Postpone"
    n = Notification.objects.get()
    assert n.flagged and n.state == "ignored"


def test_withdrawal_dmn_answers():
    assert withdrawal_dmn_answer("Approve").content == b"action=Approve"
    with pytest.raises(ValueError):
        withdrawal_dmn_answer("Maybe")


def test_the_provider_refusing_fails_the_payment(deposit_api, nuvei):
    nuvei.fail_next = True
    r = deposit_api(depositor(), "nuvei")
    assert r.status_code == 502 and Payment.objects.get().state == "failed"
