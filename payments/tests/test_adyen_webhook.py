"""Adyen's webhook end to end through the Django stack: notifications generated and
signed with the official `Adyen` package (via the sandbox double) are accepted and
credit once; a changed amount is refused (401), stored as rejected, and moves no money;
malformed bodies and unknown references are stored, never lost; duplicates and
out-of-order deliveries credit exactly once."""

import json

import pytest

from backoffice.models import AuditEvent
from payments.models import Notification, Payment, PaymentMethod
from players.models import Player
from wallet import selectors
from wallet.models import Account, Posting, Transaction
from wallet.verify import ledger_check

from .factories import deposit, depositor

pytestmark = pytest.mark.django_db


def _cash(player) -> int:
    return selectors.player_balances(player)["cash"]


def _house(kind: str, code: str = "") -> int:
    return sum(
        Posting.objects.filter(account__kind=kind, account__code=code).values_list("amount", flat=True)
    )


def _deliver(adyen, post_webhook, *items, expect=200):
    r = post_webhook(adyen.body(*items))
    assert r.status_code == expect, r.content
    return r


def test_signed_authorisation_is_accepted_and_credits_the_player(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    r = _deliver(
        adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="PSP1")
    )
    assert r.content == b"[accepted]"
    p.refresh_from_db()
    assert p.state == "succeeded" and p.provider_reference == "PSP1" and p.method == "visa"
    assert _cash(player) == 2500
    assert _house("house_psp", "adyen") == -2500
    assert p.credit_txn.kind == Transaction.Kind.DEPOSIT and p.credit_txn.reference == p.reference
    assert [(e.from_state, e.to_state) for e in p.events.all()] == [
        ("", "initiated"),
        ("initiated", "succeeded"),
    ]
    n = Notification.objects.get()
    assert (n.verdict, n.state, n.payment_id, n.flagged) == ("valid", "processed", p.pk, False)
    assert n.idempotency_key == "adyen:AUTHORISATION:PSP1:true"
    assert (
        json.loads(n.body)["notificationItems"][0]["NotificationRequestItem"]["merchantReference"]
        == p.reference
    )
    assert ledger_check().ok


def test_the_card_is_recorded_masked_with_a_fingerprint_shared_across_players(adyen, post_webhook):
    a, b = depositor(), depositor()
    for player in (a, b):
        p = deposit(player, 1000)
        _deliver(
            adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 1000, "EUR", card_summary="4242")
        )
    methods = list(PaymentMethod.objects.order_by("player_id"))
    assert [(m.player_id, m.last_four, m.brand, m.type) for m in methods] == [
        (a.pk, "4242", "visa", "card"),
        (b.pk, "4242", "visa", "card"),
    ]
    assert methods[0].fingerprint == methods[1].fingerprint and len(methods[0].fingerprint) == 64
    assert Payment.objects.filter(payment_method__isnull=False).count() == 2


def test_a_changed_amount_is_refused_stored_as_rejected_and_moves_no_money(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    item = adyen.item("AUTHORISATION", p.reference, 2500, "EUR")
    item["amount"]["value"] = 250000  # signed for 25.00, tampered to 2,500.00
    r = _deliver(adyen, post_webhook, item, expect=401)
    assert b"accepted" not in r.content
    n = Notification.objects.get()
    assert (n.verdict, n.state) == ("invalid", "rejected") and "hmacSignature" in n.outcome
    assert "250000" in n.body  # stored exactly as it came
    p.refresh_from_db()
    assert p.state == "initiated" and p.credit_txn_id is None
    assert Transaction.objects.count() == 0


def test_an_unsigned_item_is_refused(adyen, post_webhook):
    p = deposit(depositor(), 2500)
    _deliver(
        adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2500, "EUR", sign=False), expect=401
    )
    assert Notification.objects.get().state == "rejected"


def test_one_bad_item_refuses_the_whole_delivery(adyen, post_webhook):
    player = depositor()
    good, bad = deposit(player, 1000), deposit(player, 2000)
    bad_item = adyen.item("AUTHORISATION", bad.reference, 2000, "EUR")
    bad_item["merchantReference"] = good.reference
    _deliver(
        adyen, post_webhook, adyen.item("AUTHORISATION", good.reference, 1000, "EUR"), bad_item, expect=401
    )
    assert _cash(player) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"live":"false"}',
        b'{"notificationItems":[{"NotificationRequestItem":{"x":1}}]}',
        b"",
    ],
)
def test_a_malformed_body_answers_400_and_is_stored(post_webhook, body):
    r = post_webhook(body)
    assert r.status_code == 400
    n = Notification.objects.get()
    assert n.state == "rejected" and n.outcome.startswith("malformed") and n.body == body.decode()


def test_an_unknown_reference_is_stored_flagged_and_acknowledged(adyen, post_webhook):
    r = _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", "PBNOSUCHPAYMENT", 2500, "EUR"))
    assert r.content == b"[accepted]"  # the provider stops retrying: the row keeps it
    n = Notification.objects.get()
    assert (n.verdict, n.state, n.flagged, n.payment_id) == ("valid", "ignored", True, None)
    assert "unknown reference 'PBNOSUCHPAYMENT'" in n.outcome
    assert Transaction.objects.count() == 0


def test_duplicates_credit_once(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    item = adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="PSPDUP")
    for _ in range(3):
        assert _deliver(adyen, post_webhook, item).content == b"[accepted]"
    assert _cash(player) == 2500
    states = list(Notification.objects.order_by("id").values_list("state", flat=True))
    assert states == ["processed", "ignored", "ignored"]
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert Payment.objects.get().events.count() == 2


def test_a_late_failure_after_a_success_is_ignored(adyen, post_webhook):
    # The player's first card was declined, the second authorised; the decline arrives last.
    player = depositor()
    p = deposit(player, 2500)
    _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="OK1"))
    _deliver(
        adyen,
        post_webhook,
        adyen.item("AUTHORISATION", p.reference, 2500, "EUR", success=False, psp_reference="NO1"),
    )
    p.refresh_from_db()
    assert p.state == "succeeded" and _cash(player) == 2500
    late = Notification.objects.order_by("-id").first()
    assert late.state == "ignored" and not late.flagged and "failure while succeeded" in late.outcome


def test_a_failure_then_a_retry_that_succeeds_credits_once(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2500, "EUR", success=False))
    p.refresh_from_db()
    assert p.state == "failed" and _cash(player) == 0
    _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2500, "EUR"))
    p.refresh_from_db()
    assert p.state == "succeeded" and _cash(player) == 2500
    assert [e.to_state for e in p.events.all()] == ["initiated", "failed", "succeeded"]


def test_a_success_after_a_cancel_is_not_credited_and_is_flagged(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    _deliver(adyen, post_webhook, adyen.item("CANCELLATION", p.reference, 2500, "EUR"))
    _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2500, "EUR"))
    p.refresh_from_db()
    assert p.state == "cancelled" and _cash(player) == 0
    late = Notification.objects.order_by("-id").first()
    assert late.flagged and "success after a cancel" in late.outcome


def test_a_success_for_another_amount_is_not_credited_and_is_flagged(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, 2600, "EUR"))
    p.refresh_from_db()
    assert p.state == "initiated" and _cash(player) == 0
    assert Notification.objects.get().flagged


def _credited(adyen, post_webhook, player, amount=2500, psp="PSPORIG") -> Payment:
    p = deposit(player, amount)
    _deliver(adyen, post_webhook, adyen.item("AUTHORISATION", p.reference, amount, "EUR", psp_reference=psp))
    p.refresh_from_db()
    return p


def test_a_refund_reverses_the_credit(adyen, post_webhook):
    player = depositor()
    p = _credited(adyen, post_webhook, player)
    refund = adyen.item("REFUND", p.reference, 2500, "EUR", original_reference="PSPORIG")
    _deliver(adyen, post_webhook, refund)
    _deliver(adyen, post_webhook, refund)  # a retry changes nothing
    p.refresh_from_db()
    assert p.state == "reversed" and p.reversal_txn.kind == "reversal"
    assert _cash(player) == 0 and _house("house_psp", "adyen") == 0
    assert Player.objects.get(pk=player.pk).status == "active"
    assert ledger_check().ok


def test_a_chargeback_debits_up_to_the_balance_books_the_rest_as_a_loss_and_suspends(adyen, post_webhook):
    player = depositor()
    p = _credited(adyen, post_webhook, player, 2500)
    # The player has since spent 20.00 of it.
    from wallet.tests.factories import bet

    bet(player, 2000)
    _deliver(
        adyen, post_webhook, adyen.item("CHARGEBACK", p.reference, 2500, "EUR", original_reference="PSPORIG")
    )
    p.refresh_from_db()
    assert p.state == "reversed" and p.reversal_txn.kind == "chargeback"
    assert _cash(player) == 0
    assert _house("house_chargeback_losses") == -2000
    assert _house("house_psp", "adyen") == 0
    player.refresh_from_db()
    assert player.status == "suspended" and p.reference in player.status_reason
    event = AuditEvent.objects.get(action="payments.payment.chargeback")
    assert event.after["from_player_cash"] == 500 and event.after["to_chargeback_losses"] == 2000
    assert AuditEvent.objects.filter(action="players.player.suspend").count() == 1
    assert Notification.objects.order_by("-id").first().flagged  # a loss: finance looks
    assert ledger_check().ok


def test_a_chargeback_before_any_credit_moves_nothing_and_is_flagged(adyen, post_webhook):
    player = depositor()
    p = deposit(player, 2500)
    _deliver(adyen, post_webhook, adyen.item("CHARGEBACK", p.reference, 2500, "EUR"))
    p.refresh_from_db()
    assert p.state == "initiated" and Notification.objects.get().flagged
    assert not Account.objects.filter(kind="house_chargeback_losses").exists()


def test_a_cancellation_after_a_credit_reverses_it(adyen, post_webhook):
    player = depositor()
    p = _credited(adyen, post_webhook, player)
    _deliver(
        adyen,
        post_webhook,
        adyen.item("CANCELLATION", p.reference, 2500, "EUR", original_reference="PSPORIG"),
    )
    p.refresh_from_db()
    assert p.state == "reversed" and _cash(player) == 0


def test_events_we_do_not_act_on_are_stored_and_attention_ones_flagged(adyen, post_webhook):
    p = deposit(depositor(), 2500)
    _deliver(adyen, post_webhook, adyen.item("REPORT_AVAILABLE", p.reference, 0, "EUR"))
    n = Notification.objects.get()
    assert (n.state, n.flagged) == ("ignored", False) and "REPORT_AVAILABLE" in n.outcome
    _deliver(adyen, post_webhook, adyen.item("CHARGEBACK_REVERSED", p.reference, 2500, "EUR"))
    assert Notification.objects.order_by("-id").first().flagged


def test_an_unknown_provider_has_no_webhook(client):
    assert client.post("/webhooks/paypal/", data=b"{}", content_type="application/json").status_code == 404
    assert Notification.objects.count() == 0


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/adyen/").status_code == 405
