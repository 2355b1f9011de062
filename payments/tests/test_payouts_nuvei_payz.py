"""Payouts through Nuvei and Payz, each against its sandbox double: finance approves a
withdrawal, the payout reaches the double (Nuvei withdrawal/submitRequest.do to the UPO
of the player's deposit; Payz SOAP Payout to the player's Payz account), the provider's
signed confirmation (Nuvei checksummed withdrawal DMN; Payz checksummed status
notification on our TxID) pays it exactly once, and a decline returns the money."""

import pytest

from backoffice.celery import app
from payments import withdrawals
from payments.models import Notification, Payment
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import depositor

pytestmark = pytest.mark.django_db
NURL = "/webhooks/nuvei/"


@pytest.fixture
def eager():
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _withdraw(player, provider: str, amount: str = "10.00") -> Payment:
    p = withdrawals.withdrawal_request(player=player, provider=provider, amount=amount, currency="EUR")
    assert p.state == "in_review", p.status_note
    return p


def _approve(p: Payment, operators, capture) -> Payment:
    with capture(execute=True):
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"], note="ok")
    p.refresh_from_db()
    return p


def _nuvei_post(client, fields: dict, nuvei, expect: int = 200):
    r = client.post(NURL, data=nuvei.body(fields), content_type="application/x-www-form-urlencoded")
    assert r.status_code == expect, r.content
    return r


def _nuvei_funded(client, deposit_api, nuvei, upo="8001"):
    player = depositor()
    r = deposit_api(player, "nuvei", "25.00")
    assert r.status_code == 201, r.content
    ref = r.json()["reference"]
    _nuvei_post(client, nuvei.dmn(ref, "25.00", "EUR", upo=upo), nuvei)
    assert Payment.objects.get(reference=ref).state == "succeeded"
    return player


def test_nuvei_payout_is_submitted_approved_on_its_dmn_and_paid_once(
    client, deposit_api, nuvei, operators, eager, django_capture_on_commit_callbacks
):
    player = _nuvei_funded(client, deposit_api, nuvei, upo="UPO-42")
    p = _approve(_withdraw(player, "nuvei"), operators, django_capture_on_commit_callbacks)
    assert p.state == "sent" and p.provider_reference in nuvei.withdrawals, p.status_note
    sent = nuvei.withdrawals[p.provider_reference]
    assert (sent["merchantWDRequestId"], sent["amount"], sent["currency"]) == (p.reference, "10.00", "EUR")
    assert sent["userPMId"] == "UPO-42" and sent["userTokenId"] == player.public_id
    assert sent["notificationUrl"].endswith("/webhooks/nuvei/")

    # Nuvei asks whether to approve the pending request: it is ours, so Approve.
    pending = nuvei.withdrawal_dmn(p.provider_reference, status="Pending", order_status="")
    assert _nuvei_post(client, pending, nuvei).content == b"action=Approve"
    # A forged approval is refused and moves nothing.
    forged = nuvei.withdrawal_dmn(p.provider_reference, secret="not-the-secret")
    _nuvei_post(client, forged, nuvei, expect=401)
    p.refresh_from_db()
    assert p.state == "sent"

    settled = nuvei.withdrawal_dmn(p.provider_reference)
    for _ in range(3):
        assert _nuvei_post(client, settled, nuvei).content == b"OK"
    p.refresh_from_db()
    assert p.state == "paid" and p.settle_txn.kind == "withdrawal"
    assert Transaction.objects.filter(kind="withdrawal").count() == 1
    assert player_balances(player)["cash"] == 1500 and player_balances(player)["withdrawal_pending"] == 0
    assert ledger_check().ok


def test_nuvei_declined_payout_returns_the_money_and_a_refusal_fails_at_once(
    client, deposit_api, nuvei, operators, eager, django_capture_on_commit_callbacks
):
    player = _nuvei_funded(client, deposit_api, nuvei)
    p = _approve(_withdraw(player, "nuvei"), operators, django_capture_on_commit_callbacks)
    declined = nuvei.withdrawal_dmn(p.provider_reference, status="Declined", order_status="")
    for _ in range(2):
        _nuvei_post(client, declined, nuvei)
    p.refresh_from_db()
    assert p.state == "failed" and player_balances(player)["cash"] == 2500

    nuvei.refuse_next_payout = True
    q = _approve(_withdraw(player, "nuvei"), operators, django_capture_on_commit_callbacks)
    assert q.state == "failed" and "refused" in q.status_note
    assert player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="withdrawal_cancel").count() == 2
    assert ledger_check().ok


def test_nuvei_pending_request_that_is_not_ours_is_postponed_and_flagged(
    client, deposit_api, nuvei, operators, eager, django_capture_on_commit_callbacks
):
    player = _nuvei_funded(client, deposit_api, nuvei)
    p = _approve(_withdraw(player, "nuvei"), operators, django_capture_on_commit_callbacks)
    other = nuvei.withdrawal_dmn(p.provider_reference, status="Pending", order_status="", amount="99.00")
    assert _nuvei_post(client, other, nuvei).content == b"action=Postpone"
    assert Notification.objects.filter(provider="nuvei", flagged=True).count() == 1
    # A settled DMN for a different amount is flagged and moves nothing.
    _nuvei_post(client, nuvei.withdrawal_dmn(p.provider_reference, amount="99.00"), nuvei)
    p.refresh_from_db()
    assert p.state == "sent" and ledger_check().ok


def test_nuvei_payout_without_a_known_upo_is_refused(
    client, deposit_api, nuvei, operators, eager, django_capture_on_commit_callbacks
):
    player = _nuvei_funded(client, deposit_api, nuvei, upo="")
    p = _approve(_withdraw(player, "nuvei"), operators, django_capture_on_commit_callbacks)
    assert p.state == "failed" and "UPO" in p.status_note
    assert player_balances(player)["cash"] == 2500 and not nuvei.withdrawals and ledger_check().ok


# --- Payz -------------------------------------------------------------------------------------------

ZURL = "/webhooks/payz/"


def _payz_post(client, payz, xml: str, expect: int = 200):
    r = client.post(ZURL, data=payz.body(xml), content_type="application/x-www-form-urlencoded")
    assert r.status_code == expect, r.content
    return r


def _payz_funded(client, deposit_api, payz):
    player = depositor()
    r = deposit_api(player, "payz", "25.00")
    assert r.status_code == 201, r.content
    ref = r.json()["reference"]
    _payz_post(client, payz, payz.notification_xml(ref, "25.00", "EUR"))
    assert Payment.objects.get(reference=ref).state == "succeeded"
    return player


def test_payz_payout_is_a_soap_payout_and_its_status_notification_pays_it_once(
    client, deposit_api, payz, operators, eager, django_capture_on_commit_callbacks
):
    player = _payz_funded(client, deposit_api, payz)
    p = _approve(_withdraw(player, "payz"), operators, django_capture_on_commit_callbacks)
    assert p.state == "sent", p.status_note
    sent = payz.payouts[p.reference]
    assert (sent["Amount"], sent["Currency"], sent["ClientAccountNumber"]) == ("1000", "EUR", "1100185585")
    assert p.provider_reference == sent["SvsTxID"]

    forged = payz.notification_xml(p.reference, "10.00", "EUR", password="wrong", payz_id=sent["SvsTxID"])
    _payz_post(client, payz, forged, expect=401)
    for _ in range(3):
        r = _payz_post(client, payz, payz.payout_notification(p.reference))
        assert b"<Status>Confirmed</Status>" in r.content
    p.refresh_from_db()
    assert p.state == "paid" and Transaction.objects.filter(kind="withdrawal").count() == 1
    assert player_balances(player)["cash"] == 1500 and player_balances(player)["withdrawal_pending"] == 0
    assert ledger_check().ok


def test_payz_failed_or_refused_payout_returns_the_money(
    client, deposit_api, payz, operators, eager, django_capture_on_commit_callbacks
):
    player = _payz_funded(client, deposit_api, payz)
    p = _approve(_withdraw(player, "payz"), operators, django_capture_on_commit_callbacks)
    _payz_post(client, payz, payz.payout_notification(p.reference, status="1"))  # in progress: nothing
    p.refresh_from_db()
    assert p.state == "sent"
    for _ in range(2):
        _payz_post(client, payz, payz.payout_notification(p.reference, status="3", result_code="11007"))
    p.refresh_from_db()
    assert p.state == "failed" and player_balances(player)["cash"] == 2500

    payz.refuse_next_payout = True
    q = _approve(_withdraw(player, "payz"), operators, django_capture_on_commit_callbacks)
    assert q.state == "failed" and "11007" in q.status_note
    assert player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="withdrawal_cancel").count() == 2 and ledger_check().ok
