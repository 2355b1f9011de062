"""Refunds we initiate through Trustly, Nuvei, Zimpler and Payz, each against its sandbox
double: Trustly gets a signed `Refund` on the deposit's order and confirms with a signed
`debit` (read as the refund while ours awaits it); Nuvei gets a checksummed
`refundTransaction.do` against the deposit's transaction and confirms with a Credit DMN.
Each confirmation reverses the credit exactly once however often it arrives. Zimpler and
Payz have no refunds: finance is told so in plain words and nothing is sent."""

import json

import pytest
from django.urls import reverse

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from payments.models import Notification, Payment
from payments.providers import nuvei as n
from payments.refunds import NOT_SUPPORTED, deposit_refund
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import depositor

pytestmark = pytest.mark.django_db


def _started(deposit_api, provider: str) -> Payment:
    r = deposit_api(depositor(), provider, "25.00")
    assert r.status_code == 201, r.content
    return Payment.objects.get(reference=r.json()["reference"])


def _reversed_once(p: Payment, cash: int) -> None:
    p.refresh_from_db()
    assert p.state == "reversed" and p.provider_data["refund"]["state"] == "confirmed"
    assert p.provider_data["refund"]["confirmed_amount"] == 2500 - cash
    assert player_balances(p.player)["cash"] == cash
    assert Transaction.objects.filter(kind="reversal").count() == 1
    assert ledger_check().ok


# --- Trustly ----------------------------------------------------------------------------------------


def _trustly_post(client, notification: dict):
    r = client.post("/webhooks/trustly/", data=json.dumps(notification), content_type="application/json")
    assert r.status_code == 200, r.content
    return r


def _trustly_funded(client, deposit_api, trustly) -> Payment:
    p = _started(deposit_api, "trustly")
    _trustly_post(client, trustly.notification("credit", trustly.data(p.reference)))
    p.refresh_from_db()
    assert p.state == "succeeded"
    return p


def _trustly_refund_calls(trustly) -> list[dict]:
    calls = [r.json() for r in trustly.requests]
    return [c for c in calls if c.get("method") == "Refund"]


def test_trustly_refund_is_a_signed_refund_and_its_debit_reverses_once(
    client, deposit_api, trustly, operators
):
    p = _trustly_funded(client, deposit_api, trustly)
    orderid = p.provider_reference
    p = deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="10.00", reason="duplicate")
    assert p.provider_data["refund"]["state"] == "sent" and "awaits its confirmation" in p.status_note
    [call] = _trustly_refund_calls(trustly)  # the double checked its signature with our key
    data = call["params"]["Data"]
    assert (data["OrderID"], data["Amount"], data["Currency"]) == (orderid, "10.00", "EUR")
    assert data["Attributes"]["ExternalReference"] == f"refund:{p.reference}"
    assert player_balances(p.player)["cash"] == 2500  # nothing moves before Trustly confirms

    debit = trustly.refund_notification(p.reference)
    for _ in range(3):  # Trustly redelivers the same notification
        _trustly_post(client, debit)
    _trustly_post(client, trustly.refund_notification(p.reference))  # and a second, new one
    _reversed_once(p, cash=1500)
    first = Notification.objects.filter(provider="trustly", body__contains='"debit"').order_by("id").first()
    assert not first.flagged  # the refund we asked for, not a transfer that failed to settle


def test_trustly_refused_refund_moves_nothing_and_may_be_asked_again(client, deposit_api, trustly, operators):
    p = _trustly_funded(client, deposit_api, trustly)
    trustly.fail_next = True
    with pytest.raises(DomainError) as exc:
        deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="25.00", reason="x")
    assert exc.value.code == "refund_refused"
    p.refresh_from_db()
    assert p.provider_data["refund"]["state"] == "refused" and player_balances(p.player)["cash"] == 2500
    deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="25.00", reason="again")
    _trustly_post(client, trustly.refund_notification(p.reference))
    _reversed_once(p, cash=0)


def test_trustly_debit_without_a_refund_request_is_still_a_flagged_reversal(client, deposit_api, trustly):
    p = _trustly_funded(client, deposit_api, trustly)
    _trustly_post(client, trustly.notification("debit", trustly.data(p.reference)))
    p.refresh_from_db()
    assert p.state == "reversed" and "refund" not in p.provider_data
    assert (
        Notification.objects.filter(provider="trustly", flagged=True, body__contains='"debit"').count() == 1
    )
    assert ledger_check().ok


# --- Nuvei ------------------------------------------------------------------------------------------


def _nuvei_post(client, nuvei, fields: dict):
    r = client.post(
        "/webhooks/nuvei/", data=nuvei.body(fields), content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 200, r.content
    return r


def _nuvei_funded(client, deposit_api, nuvei) -> Payment:
    p = _started(deposit_api, "nuvei")
    _nuvei_post(client, nuvei, nuvei.dmn(p.reference, "25.00", "EUR"))
    p.refresh_from_db()
    assert p.state == "succeeded"
    return p


def test_nuvei_refund_is_a_checksummed_refund_transaction_and_its_credit_dmn_reverses_once(
    client, deposit_api, nuvei, operators
):
    p = _nuvei_funded(client, deposit_api, nuvei)
    sale = p.provider_reference
    p = deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="10.00", reason="duplicate")
    assert p.provider_data["refund"]["state"] == "sent", p.status_note
    [request] = [r for r in nuvei.requests if r.path.endswith("/refundTransaction.do")]
    sent = request.json()
    assert sent["checksum"] == n.refund_checksum(sent, nuvei.secret)
    assert (sent["relatedTransactionId"], sent["clientUniqueId"]) == (sale, p.reference)
    assert (sent["amount"], sent["currency"], sent["clientRequestId"]) == (
        "10.00",
        "EUR",
        f"refund-{p.reference}",
    )
    assert p.provider_data["refund"]["psp_reference"] in nuvei.refunds
    assert player_balances(p.player)["cash"] == 2500

    credit = nuvei.refund_dmn(p.reference)
    for _ in range(3):  # Nuvei redelivers
        _nuvei_post(client, nuvei, credit)
    _nuvei_post(client, nuvei, nuvei.refund_dmn(p.reference))  # same TransactionID, new PPP id
    _reversed_once(p, cash=1500)


def test_nuvei_declined_refund_moves_nothing(client, deposit_api, nuvei, operators):
    p = _nuvei_funded(client, deposit_api, nuvei)
    nuvei.refuse_next_refund = True
    with pytest.raises(DomainError) as exc:
        deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="25.00", reason="x")
    assert exc.value.code == "refund_refused" and "declined by the sandbox" in exc.value.message
    p.refresh_from_db()
    assert p.state == "succeeded" and player_balances(p.player)["cash"] == 2500 and ledger_check().ok


# --- Zimpler and Payz: no refunds ---------------------------------------------------------------------


def _zimpler_funded(client, deposit_api, zimpler) -> Payment:
    p = _started(deposit_api, "zimpler")
    zimpler.set_state(p.provider_reference, "authorized")
    body = zimpler.notification_body(p.provider_reference)
    assert client.post("/webhooks/zimpler/", data=body, content_type="application/json").status_code == 204
    p.refresh_from_db()
    assert p.state == "succeeded"
    return p


def _payz_funded(client, deposit_api, payz) -> Payment:
    p = _started(deposit_api, "payz")
    body = payz.body(payz.notification_xml(p.reference, "25.00", "EUR"))
    r = client.post("/webhooks/payz/", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200, r.content
    p.refresh_from_db()
    assert p.state == "succeeded"
    return p


@pytest.mark.parametrize("provider,name", [("zimpler", "Zimpler"), ("payz", "Payz")])
def test_a_provider_without_refunds_says_so_and_sends_nothing(
    request, client, deposit_api, operators, monkeypatch, provider, name
):
    double = request.getfixturevalue(provider)
    p = (_zimpler_funded if provider == "zimpler" else _payz_funded)(client, deposit_api, double)
    sent_before = len(double.requests)
    with pytest.raises(DomainError) as exc:
        deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="25.00", reason="x")
    assert exc.value.code == "refund_not_supported"
    assert exc.value.message == NOT_SUPPORTED.format(provider=name)
    assert len(double.requests) == sent_before  # nothing was sent
    p.refresh_from_db()
    assert p.state == "succeeded" and p.provider_data["refund"]["state"] == "unsupported"
    assert AuditEvent.objects.filter(action="payments.payment.refund_refused", target_id=str(p.pk)).exists()

    # The console shows it in plain words on the refund form.
    monkeypatch.setattr("backoffice.security.recently_authenticated", lambda request: True)
    client.force_login(operators["finance"])
    url = reverse("admin:payments_payment_refund", kwargs={"payment_id": p.pk})
    r = client.post(url, {"amount": "25.00", "reason": "player asked"})
    assert r.status_code == 200
    assert f"{name} does not offer refunds of a deposit" in r.content.decode()
    assert player_balances(p.player)["cash"] == 2500 and ledger_check().ok
