"""The state machine and the money rules of payments.services, without HTTP."""

import pytest
from django.db import DatabaseError, transaction

from backoffice.errors import DomainError
from payments import services
from payments.models import Notification, Payment, PaymentEvent
from payments.providers.base import EventType, ProviderEvent
from wallet import selectors
from wallet.models import Posting

from .factories import deposit, depositor

pytestmark = pytest.mark.django_db

DEPOSIT_ALLOWED = {
    ("initiated", "pending"),
    ("initiated", "succeeded"),
    ("initiated", "failed"),
    ("initiated", "cancelled"),
    ("pending", "succeeded"),
    ("pending", "failed"),
    ("pending", "cancelled"),
    ("failed", "succeeded"),
    ("succeeded", "reversed"),
}
WITHDRAWAL_ALLOWED = {
    ("requested", "in_review"),
    ("requested", "approved"),
    ("requested", "rejected"),
    ("requested", "cancelled"),
    ("in_review", "approved"),
    ("in_review", "rejected"),
    ("in_review", "cancelled"),
    ("approved", "sent"),
    ("approved", "failed"),
    ("sent", "paid"),
    ("sent", "failed"),
}


def test_the_transition_table_is_exactly_the_documented_one():
    for kind, allowed in (("deposit", DEPOSIT_ALLOWED), ("withdrawal", WITHDRAWAL_ALLOWED)):
        got = {(a, b) for a, targets in services.TRANSITIONS[kind].items() for b in targets}
        assert got == allowed, kind


@pytest.mark.parametrize(
    "from_state", ["initiated", "pending", "succeeded", "failed", "cancelled", "reversed"]
)
@pytest.mark.parametrize("to_state", ["pending", "succeeded", "failed", "cancelled", "reversed"])
def test_deposit_transitions_are_enforced_and_each_writes_an_event(from_state, to_state):
    p = deposit(depositor(), state=from_state)
    if (from_state, to_state) in DEPOSIT_ALLOWED:
        services.payment_transition(payment_id=p.pk, to=to_state, source="operator", note="t")
        p.refresh_from_db()
        assert p.state == to_state
        last = p.events.last()
        assert (last.from_state, last.to_state, last.source, last.note) == (
            from_state,
            to_state,
            "operator",
            "t",
        )
    else:
        with pytest.raises(DomainError) as exc:
            services.payment_transition(payment_id=p.pk, to=to_state, source="operator")
        assert exc.value.code == "invalid_transition" and exc.value.status == 409
        assert Payment.objects.get(pk=p.pk).state == from_state and p.events.count() == 1


def test_withdrawal_states_are_defined_and_enforced():
    player = depositor()
    w = Payment.objects.create(
        kind="withdrawal", player=player, provider="trustly", amount=100, currency="EUR", state="requested"
    )
    for to in ("in_review", "approved", "sent", "paid"):
        services.payment_transition(payment_id=w.pk, to=to, source="operator")
    with pytest.raises(DomainError):
        services.payment_transition(payment_id=w.pk, to="failed", source="operator")
    assert [e.to_state for e in w.events.all()] == ["in_review", "approved", "sent", "paid"]


def test_a_deposit_state_on_a_withdrawal_is_refused_by_the_database():
    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.create(
            kind="withdrawal",
            player=depositor(),
            provider="adyen",
            amount=1,
            currency="EUR",
            state="succeeded",
        )


def test_the_event_history_is_append_only_in_postgres():
    p = deposit(depositor())
    event = p.events.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        PaymentEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        PaymentEvent.objects.filter(pk=event.pk).delete()


def _event(p: Payment, kind: EventType, amount: int | None = None, psp: str = "PSP") -> ProviderEvent:
    return ProviderEvent(
        payment_reference=p.reference,
        provider_reference=psp,
        type=kind,
        amount=p.amount if amount is None else amount,
        currency=p.currency,
        notification_id=f"test:{kind}:{psp}",
    )


def _apply(p, kind, **kw):
    n = Notification.objects.create(provider=p.provider, body="{}")
    return services.deposit_apply_event(event=_event(p, kind, **kw), notification=n)


def test_a_fee_goes_to_house_fees_in_the_same_transaction():
    player = depositor()
    p = deposit(player, 10000)
    Payment.objects.filter(pk=p.pk).update(fee=250)
    _apply(p, EventType.SUCCEEDED)
    p.refresh_from_db()
    legs = {
        (x.account.kind, x.amount)
        for x in Posting.objects.filter(transaction=p.credit_txn).select_related("account")
    }
    assert legs == {("player_cash", 10000), ("house_psp", -9750), ("house_fees", -250)}


def test_pending_then_success_then_pending_again():
    player = depositor()
    p = deposit(player)
    assert _apply(p, EventType.PENDING).changed
    assert _apply(p, EventType.SUCCEEDED).changed
    late = _apply(p, EventType.PENDING)
    assert not late.changed and not late.flagged
    p.refresh_from_db()
    assert [e.to_state for e in p.events.all()] == ["initiated", "pending", "succeeded"]
    assert selectors.player_balances(player)["cash"] == p.amount


def test_a_partial_refund_debits_the_refunded_amount():
    player = depositor()
    p = deposit(player, 5000)
    _apply(p, EventType.SUCCEEDED)
    applied = _apply(p, EventType.REFUND, amount=2000)
    assert applied.changed
    assert selectors.player_balances(player)["cash"] == 3000


def test_a_refund_larger_than_the_deposit_is_flagged_and_moves_nothing():
    player = depositor()
    p = deposit(player, 5000)
    _apply(p, EventType.SUCCEEDED)
    applied = _apply(p, EventType.REFUND, amount=5001)
    assert not applied.changed and applied.flagged
    assert selectors.player_balances(player)["cash"] == 5000


def test_a_trustly_style_debit_after_credit_takes_what_is_left_and_books_the_rest():
    # A bank transfer that never settled (Trustly `debit` after `credit`): the player keeps
    # playing money meanwhile; we take what is left, the rest is a loss, no suspension.
    from wallet.tests.factories import bet

    player = depositor()
    p = deposit(player, 5000, provider="trustly")
    _apply(p, EventType.SUCCEEDED)
    bet(player, 4500)
    applied = _apply(p, EventType.REVERSED)
    assert applied.changed and applied.flagged
    assert selectors.player_balances(player)["cash"] == 0
    losses = Posting.objects.filter(account__kind="house_chargeback_losses").values_list("amount", flat=True)
    assert list(losses) == [-4500]
    player.refresh_from_db()
    assert player.status == "active"


def test_an_event_in_another_currency_is_flagged():
    p = deposit(depositor())
    n = Notification.objects.create(provider="adyen", body="{}")
    event = ProviderEvent(p.reference, "PSP", EventType.SUCCEEDED, p.amount, "SEK", "k")
    applied = services.deposit_apply_event(event=event, notification=n)
    assert applied.flagged and not applied.changed


def test_an_event_from_another_provider_does_not_match():
    p = deposit(depositor(), provider="adyen")
    n = Notification.objects.create(provider="nuvei", body="{}")
    applied = services.deposit_apply_event(event=_event(p, EventType.SUCCEEDED), notification=n)
    assert applied.payment is None and applied.flagged
