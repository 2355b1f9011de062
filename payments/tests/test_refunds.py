"""Refunds we initiate (payments.refunds): finance refunds a succeeded Adyen deposit, full
or partial, from the payment's page (a fresh sign-in, a reason); the request reaches the
Adyen double (`/payments/{pspReference}/refunds`, idempotency key); Adyen's signed REFUND
webhook reverses the credit exactly once; refusals move nothing."""

import pytest
from django.urls import reverse

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from payments.models import Notification, Payment
from payments.refunds import deposit_refund
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .factories import deposit, depositor

pytestmark = pytest.mark.django_db
WEBHOOK = "/webhooks/adyen/"


def _funded(client, adyen, amount: int = 5000) -> Payment:
    player = depositor()
    p = deposit(player, amount)
    r = client.post(
        WEBHOOK,
        data=adyen.body(adyen.item("AUTHORISATION", p.reference, amount, "EUR")),
        content_type="application/json",
    )
    assert r.status_code == 200
    p.refresh_from_db()
    assert p.state == "succeeded"
    return p


def _confirm(client, adyen, p: Payment, *, success: bool = True):
    body = adyen.body(adyen.refund_item(p.reference, success=success))
    r = client.post(WEBHOOK, data=body, content_type="application/json")
    assert r.status_code == 200, r.content
    return r


def test_a_partial_refund_reaches_adyen_and_its_confirmation_reverses_once(client, adyen, operators):
    p = _funded(client, adyen)
    psp = p.provider_reference
    p = deposit_refund(
        payment_id=p.pk, actor=operators["finance"], amount="20.00", reason="duplicate deposit"
    )
    assert p.state == "succeeded" and "awaits its confirmation" in p.status_note
    path, headers, sent = adyen.requests[-1]
    assert path.endswith(f"/payments/{psp}/refunds") and headers["idempotency-key"] == f"refund:{p.reference}"
    assert sent["amount"] == {"value": 2000, "currency": "EUR"} and sent["reference"] == p.reference
    assert player_balances(p.player)["cash"] == 5000  # nothing moves before Adyen confirms
    assert AuditEvent.objects.filter(action="payments.payment.refund", note="duplicate deposit").count() == 1

    for _ in range(3):  # Adyen redelivers
        _confirm(client, adyen, p)
    p.refresh_from_db()
    assert p.state == "reversed" and p.provider_data["refund"]["state"] == "confirmed"
    assert player_balances(p.player)["cash"] == 3000
    assert Transaction.objects.filter(kind="reversal").count() == 1
    assert ledger_check().ok


def test_refusals_move_nothing(client, adyen, operators):
    p = _funded(client, adyen)
    finance = operators["finance"]
    cases = [
        (dict(actor=operators["support"], amount="10.00", reason="x"), "forbidden"),
        (dict(actor=finance, amount="10.00", reason=" "), "reason_required"),
        (dict(actor=finance, amount="50.01", reason="x"), "bad_amount"),
        (dict(actor=finance, amount="0", reason="x"), "bad_amount"),
        (dict(actor=finance, amount="ten", reason="x"), "bad_amount"),
    ]
    for kwargs, code in cases:
        with pytest.raises(DomainError) as exc:
            deposit_refund(payment_id=p.pk, **kwargs)
        assert exc.value.code == code
    adyen.fail_next = True  # Adyen answers 422: refused, nothing moved, finance may try again
    with pytest.raises(DomainError) as exc:
        deposit_refund(payment_id=p.pk, actor=finance, amount="10.00", reason="x")
    assert exc.value.code == "refund_refused"
    deposit_refund(payment_id=p.pk, actor=finance, amount="50.00", reason="full")
    with pytest.raises(DomainError) as exc:  # one refund per deposit
        deposit_refund(payment_id=p.pk, actor=finance, amount="50.00", reason="again")
    assert exc.value.code == "refund_in_progress"
    assert sum(1 for r in adyen.requests if r[0].endswith("/refunds")) == 2
    assert player_balances(p.player)["cash"] == 5000 and ledger_check().ok


def test_a_refund_cannot_take_more_than_the_players_cash(client, adyen, operators):
    p = _funded(client, adyen)
    from payments import withdrawals

    withdrawals.withdrawal_request(player=p.player, provider="adyen", amount="40.00", currency="EUR")
    with pytest.raises(DomainError) as exc:
        deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="20.00", reason="x")
    assert exc.value.code == "refund_exceeds_cash"
    assert not any(r[0].endswith("/refunds") for r in adyen.requests)


def test_finance_refunds_in_full_from_the_payment_page(client, adyen, operators, monkeypatch):
    p = _funded(client, adyen)
    url = reverse("admin:payments_payment_refund", kwargs={"payment_id": p.pk})
    client.force_login(operators["finance"])
    html = client.get(reverse("admin:payments_payment_change", args=[p.pk])).content.decode()
    assert f"/admin/payments/payment/{p.pk}/refund/" in html  # the Refund button on the payment's page
    r = client.post(url, {"amount": "50.00", "reason": "player asked"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauthenticate/")
    monkeypatch.setattr("backoffice.security.recently_authenticated", lambda request: True)
    r = client.post(url, {"amount": "50.00", "reason": ""})
    assert r.status_code == 200 and "required" in r.content.decode()
    r = client.post(url, {"amount": "50.00", "reason": "player asked"})
    assert r.status_code == 302
    _confirm(client, adyen, p)
    p.refresh_from_db()
    assert p.state == "reversed" and player_balances(p.player)["cash"] == 0 and ledger_check().ok
    client.force_login(operators["support"])
    assert client.get(url).status_code == 403


def test_a_failed_refund_is_flagged_and_moves_nothing(client, adyen, operators):
    p = _funded(client, adyen)
    deposit_refund(payment_id=p.pk, actor=operators["finance"], amount="50.00", reason="x")
    _confirm(client, adyen, p, success=False)
    p.refresh_from_db()
    flagged = Notification.objects.filter(provider="adyen", flagged=True, body__contains=p.reference)
    assert p.state == "succeeded" and flagged.count() == 1
    assert player_balances(p.player)["cash"] == 5000 and ledger_check().ok
