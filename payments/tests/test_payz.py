"""Payz end to end: the payment-page redirect carries the MD5 request checksum (the
sandbox page accepts it); the XML status notification credits once and is answered with
our checksummed XML (Confirmed); a notification checksummed with another password is
refused (401), stored, and moves no money."""

import re
import urllib.request

import pytest

from payments.models import Notification, Payment
from payments.providers.payz import notification_valid
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import depositor

pytestmark = pytest.mark.django_db
URL = "/webhooks/payz/"


@pytest.fixture
def send(client):
    def post(body: bytes, expect: int = 200):
        r = client.post(URL, data=body, content_type="application/x-www-form-urlencoded")
        assert r.status_code == expect, r.content
        return r

    return post


def _started(deposit_api, player, amount="25.00") -> Payment:
    r = deposit_api(player, "payz", amount)
    assert r.status_code == 201, r.content
    return Payment.objects.get(reference=r.json()["reference"])


def _status(response) -> str:
    return re.search(rb"<Status>([^<]*)</Status>", response.content).group(1).decode()


def test_the_redirect_is_a_checksummed_payment_page_the_sandbox_accepts(deposit_api, payz):
    player = depositor()
    p = _started(deposit_api, player)
    assert payz.page_valid(p.redirect_url)
    with urllib.request.urlopen(p.redirect_url, timeout=5) as r:  # noqa: S310 - the loopback sandbox
        assert r.status == 200
    page = payz.pages[p.reference]
    assert (page["Amount"], page["Currency"], page["CustomerIdAtMerchant"]) == (
        "25.00",
        "EUR",
        player.public_id,
    )
    assert page["TransferUrl"].endswith("/webhooks/payz/")
    assert not payz.page_valid(p.redirect_url.replace("Amount=25.00", "Amount=2500.00"))


def test_status_4_credits_once_and_is_answered_confirmed_with_our_checksum(deposit_api, payz, send, settings):
    player = depositor()
    p = _started(deposit_api, player)
    body = payz.body(payz.notification_xml(p.reference, "25.00", "EUR", payz_id="9001"))
    for _ in range(3):
        r = send(body)
    assert _status(r) == "Confirmed" and r["Content-Type"].startswith("text/xml")
    assert notification_valid(r.content.decode(), settings.PAYZ_MERCHANT_PASSWORD)
    p.refresh_from_db()
    assert (
        p.state == "succeeded" and p.provider_reference == "9001" and player_balances(player)["cash"] == 2500
    )
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert ledger_check().ok


def test_in_progress_then_success_then_a_late_in_progress(deposit_api, payz, send):
    player = depositor()
    p = _started(deposit_api, player)
    assert _status(send(payz.body(payz.notification_xml(p.reference, "25.00", "EUR", status="1")))) == "OK"
    send(payz.body(payz.notification_xml(p.reference, "25.00", "EUR", status="4")))
    send(payz.body(payz.notification_xml(p.reference, "25.00", "EUR", status="2")))
    assert [e.to_state for e in p.events.all()] == ["initiated", "pending", "succeeded"]
    assert player_balances(player)["cash"] == 2500


def test_status_3_with_an_error_code_fails(deposit_api, payz, send):
    p = _started(deposit_api, depositor())
    send(payz.body(payz.notification_xml(p.reference, "25.00", "EUR", status="3", result_code="11007")))
    p.refresh_from_db()
    assert p.state == "failed"


def test_a_wrong_checksum_is_refused_stored_and_moves_no_money(deposit_api, payz, send):
    p = _started(deposit_api, depositor())
    r = send(
        payz.body(payz.notification_xml(p.reference, "25.00", "EUR", password="not-the-password")), expect=401
    )
    assert _status(r) == "InvalidRequest"
    n = Notification.objects.get()
    assert (n.verdict, n.state) == ("invalid", "rejected")
    assert Transaction.objects.count() == 0


def test_a_changed_amount_is_refused(deposit_api, payz, send):
    p = _started(deposit_api, depositor())
    xml = payz.notification_xml(p.reference, "25.00", "EUR").replace("<Amount>25.00<", "<Amount>2500.00<")
    send(payz.body(xml), expect=401)
    assert Transaction.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"XML=",
        b"XML=%3Cnot-xml",
        b"XML=%3CSomethingElse%2F%3E",
        b"XML=%3C%21DOCTYPE+x+%5B%3C%21ENTITY+a+%22b%22%3E%5D%3E%3CSVSPurchaseStatusNotificationRequest%2F%3E",
    ],
)
def test_a_malformed_body_answers_400_and_is_stored(send, body):
    send(body, expect=400)
    assert Notification.objects.get().state == "rejected"
