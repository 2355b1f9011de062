"""Payouts through Trustly and Zimpler, each against its sandbox double: finance approves
a withdrawal, the payout reaches the double (signed AccountPayout to the accountid of the
player's `account` notification; Zimpler POST /v4/withdrawals to the user of the player's
deposit), the provider's confirmation (signed payoutconfirmation; Zimpler's notification
re-fetched and approved) pays it exactly once however often it arrives, and a refusal
returns the money. The Adyen payout is in test_withdrawals.py."""

import json

import pytest

from backoffice.celery import app
from payments import withdrawals
from payments.models import Notification, Payment
from payments.providers import trustly as t
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import depositor

pytestmark = pytest.mark.django_db


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


# --- Trustly ----------------------------------------------------------------------------------------


def _post_trustly(client, notification: dict):
    r = client.post("/webhooks/trustly/", data=json.dumps(notification), content_type="application/json")
    assert r.status_code == 200, r.content
    return r


def _trustly_funded(client, deposit_api, trustly, accountid="4567891234"):
    player = depositor()
    r = deposit_api(player, "trustly", "25.00")
    assert r.status_code == 201, r.content
    ref = r.json()["reference"]
    _post_trustly(client, trustly.account(ref, accountid))
    _post_trustly(client, trustly.notification("credit", trustly.data(ref)))
    assert Payment.objects.get(reference=ref).state == "succeeded"
    return player


def test_trustly_payout_is_a_signed_account_payout_and_the_confirmation_pays_it_once(
    client, deposit_api, trustly, operators, eager, django_capture_on_commit_callbacks, settings
):
    player = _trustly_funded(client, deposit_api, trustly)
    p = _approve(_withdraw(player, "trustly"), operators, django_capture_on_commit_callbacks)
    assert p.state == "sent" and p.provider_reference in trustly.payouts, p.status_note
    sent = trustly.requests[-1].json()
    data = sent["params"]["Data"]
    assert sent["method"] == "AccountPayout" and data["AccountID"] == "4567891234"
    assert (data["MessageID"], data["Amount"], data["Currency"]) == (p.reference, "10.00", "EUR")
    assert data["EndUserID"] == player.public_id and data["NotificationURL"].endswith("/webhooks/trustly/")
    ours = t.load_private_key(open(settings.TRUSTLY_PRIVATE_KEY_FILE, "rb").read()).public_key()
    assert t.verify("AccountPayout", sent["params"]["UUID"], data, sent["params"]["Signature"], ours)

    confirmation = trustly.payout_notification(p.reference)
    for _ in range(3):  # Trustly retries; each delivery is answered with our signed OK
        r = _post_trustly(client, confirmation)
        assert r.json()["result"]["data"] == {"status": "OK"}
    p.refresh_from_db()
    assert p.state == "paid" and p.settle_txn.kind == "withdrawal"
    assert Transaction.objects.filter(kind="withdrawal").count() == 1
    assert player_balances(player)["cash"] == 1500 and player_balances(player)["withdrawal_pending"] == 0
    assert ledger_check().ok


def test_trustly_refused_payout_returns_the_money_and_a_returned_payout_fails(
    client, deposit_api, trustly, operators, eager, django_capture_on_commit_callbacks
):
    player = _trustly_funded(client, deposit_api, trustly)
    trustly.fail_next = True  # a signed error answer: a definite refusal
    p = _approve(_withdraw(player, "trustly"), operators, django_capture_on_commit_callbacks)
    assert p.state == "failed" and "refused" in p.status_note
    assert player_balances(player)["cash"] == 2500

    q = _approve(_withdraw(player, "trustly"), operators, django_capture_on_commit_callbacks)
    assert q.state == "sent"
    # Trustly could not pay it: it credits the money back on the payout's messageid.
    for _ in range(2):
        _post_trustly(client, trustly.payout_notification(q.reference, method="credit"))
    q.refresh_from_db()
    assert q.state == "failed" and player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="withdrawal_cancel").count() == 2
    assert ledger_check().ok


def test_trustly_payout_without_a_known_account_is_refused(
    client, deposit_api, trustly, operators, eager, django_capture_on_commit_callbacks
):
    player = depositor()
    r = deposit_api(player, "trustly", "25.00")
    ref = r.json()["reference"]
    _post_trustly(client, trustly.notification("credit", trustly.data(ref)))  # no account notification
    p = _approve(_withdraw(player, "trustly"), operators, django_capture_on_commit_callbacks)
    assert p.state == "failed" and "accountid" in p.status_note
    assert player_balances(player)["cash"] == 2500 and ledger_check().ok


# --- Zimpler ----------------------------------------------------------------------------------------

ZURL = "/webhooks/zimpler/"


def _zimpler_funded(client, deposit_api, zimpler):
    player = depositor()
    r = deposit_api(player, "zimpler", "25.00")
    assert r.status_code == 201, r.content
    p = Payment.objects.get(reference=r.json()["reference"])
    zimpler.set_state(p.provider_reference, "authorized")
    assert (
        client.post(
            ZURL, data=zimpler.notification_body(p.provider_reference), content_type="application/json"
        ).status_code
        == 204
    )
    assert Payment.objects.get(pk=p.pk).state == "succeeded"
    return player, zimpler.deposits[p.provider_reference]["user_id"]


def _zimpler_notify(client, zimpler, withdrawal_id: str):
    return client.post(
        ZURL + "?resource=withdrawal",
        data=zimpler.withdrawal_notification_body(withdrawal_id),
        content_type="application/json",
    )


def test_zimpler_payout_is_created_approved_on_its_notification_and_paid_once(
    client, deposit_api, zimpler, operators, eager, django_capture_on_commit_callbacks
):
    player, user_id = _zimpler_funded(client, deposit_api, zimpler)
    p = _approve(_withdraw(player, "zimpler"), operators, django_capture_on_commit_callbacks)
    assert p.state == "sent", p.status_note
    w = zimpler.withdrawals[p.provider_reference]
    assert (w["ref"], w["amount"], w["currency"], w["user_id"]) == (p.reference, "10.00", "EUR", user_id)
    assert w["notification_url"].endswith("/webhooks/zimpler/?resource=withdrawal")

    # A posted body claiming "approved" is not believed: the API still says pending.
    r = client.post(
        ZURL + "?resource=withdrawal",
        data=zimpler.withdrawal_notification_body(w["id"], state="approved"),
        content_type="application/json",
    )
    assert r.status_code == 204
    p.refresh_from_db()
    assert p.state == "sent"

    zimpler.set_withdrawal_state(w["id"], "authorized")  # the player confirmed at Zimpler
    for _ in range(3):
        assert _zimpler_notify(client, zimpler, w["id"]).status_code == 204
    p.refresh_from_db()
    assert p.state == "paid" and zimpler.withdrawals[w["id"]]["state"] == "approved"
    approvals = [r for r in zimpler.requests if r.path.endswith(f"/withdrawals/{w['id']}/approve")]
    assert len(approvals) == 1
    assert Transaction.objects.filter(kind="withdrawal").count() == 1
    assert player_balances(player)["cash"] == 1500 and ledger_check().ok


def test_zimpler_rejected_payout_returns_the_money_and_a_refusal_fails_at_once(
    client, deposit_api, zimpler, operators, eager, django_capture_on_commit_callbacks
):
    player, _user = _zimpler_funded(client, deposit_api, zimpler)
    p = _approve(_withdraw(player, "zimpler"), operators, django_capture_on_commit_callbacks)
    zimpler.set_withdrawal_state(p.provider_reference, "rejected")
    assert _zimpler_notify(client, zimpler, p.provider_reference).status_code == 204
    p.refresh_from_db()
    assert p.state == "failed" and player_balances(player)["cash"] == 2500

    zimpler.refuse_next_withdrawal = True  # 422: Zimpler refuses the withdrawal
    q = _approve(_withdraw(player, "zimpler"), operators, django_capture_on_commit_callbacks)
    assert q.state == "failed" and "refused" in q.status_note
    assert player_balances(player)["cash"] == 2500 and ledger_check().ok


def test_zimpler_does_not_approve_a_withdrawal_that_is_not_ours(
    client, deposit_api, zimpler, operators, eager, django_capture_on_commit_callbacks
):
    player, _user = _zimpler_funded(client, deposit_api, zimpler)
    p = _approve(_withdraw(player, "zimpler"), operators, django_capture_on_commit_callbacks)
    w = zimpler.withdrawals[p.provider_reference]
    w["amount"] = "99.00"  # Zimpler's record no longer matches ours
    zimpler.set_withdrawal_state(w["id"], "authorized")
    assert _zimpler_notify(client, zimpler, w["id"]).status_code == 204
    assert zimpler.withdrawals[w["id"]]["state"] == "authorized"
    assert Notification.objects.filter(provider="zimpler", flagged=True).count() == 1
    p.refresh_from_db()
    assert p.state == "sent" and ledger_check().ok
