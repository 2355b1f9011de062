"""Payment services: the state machine, starting a deposit, and applying a provider's
event to a payment (crediting or debiting the player through the ledger).

Invariants:
1. a payment changes state only along TRANSITIONS; every change writes one PaymentEvent
   (an invalid transition is DomainError invalid_transition);
2. a deposit credits the player's cash at most once: the payment row is locked FOR UPDATE
   while an event is applied, the credit happens only on the transition into succeeded,
   and the ledger's idempotency key (payment:<reference>:credit) guards it again;
3. duplicate, late and out-of-order events never move money twice: a success after a
   success is a no-op, a pending or failure after a success is ignored, a success after
   a cancel is ignored and flagged for an operator;
4. a reversal after success (refund, cancellation, chargeback, Trustly debit after
   credit) debits the player's cash up to its balance and books the rest to
   house_chargeback_losses: a player balance never goes negative and the PSP's claim is
   still booked in full. A chargeback also suspends the player pending review (audited).
Withdrawals (request, checks, approval, payout, confirmation) are payments.withdrawals;
deposit_apply_event hands it the events that name a withdrawal."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import Money
from compliance.gates import can_deposit
from players.models import Player
from wallet.models import Transaction

from .ledger import credit, debit_back, record_method
from .models import Notification, Payment, PaymentEvent, Provider
from .provider_settings import provider_terms
from .providers import get_adapter
from .providers.base import EventType, ProviderError, ProviderEvent

logger = logging.getLogger(__name__)

S = Payment.State
TRANSITIONS: dict[str, dict[str, set[str]]] = {
    Payment.Kind.DEPOSIT: {
        S.INITIATED: {S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED},
        S.PENDING: {S.SUCCEEDED, S.FAILED, S.CANCELLED},
        # Adyen lets the player try again in the same session (another card): a later
        # attempt on the same merchant reference may succeed after one failed.
        S.FAILED: {S.SUCCEEDED},
        S.SUCCEEDED: {S.REVERSED},
        S.CANCELLED: set(),
        S.REVERSED: set(),
    },
    Payment.Kind.WITHDRAWAL: {
        S.REQUESTED: {S.IN_REVIEW, S.APPROVED, S.REJECTED, S.CANCELLED},
        S.IN_REVIEW: {S.APPROVED, S.REJECTED, S.CANCELLED},
        S.APPROVED: {S.SENT, S.FAILED},
        S.SENT: {S.PAID, S.FAILED},
        S.PAID: set(),
        S.REJECTED: set(),
        S.FAILED: set(),
        S.CANCELLED: set(),
    },
}

INVALID_TRANSITION = "A {kind} cannot go from {from_state} to {to_state}."
UNKNOWN_PROVIDER = "Unknown provider {provider!r}."
WRONG_CURRENCY = "The player's currency is {player_currency}; the deposit is in {currency}."
NOT_POSITIVE = "The amount must be greater than zero."
BAD_AMOUNT = "{error}"
PROVIDER_FAILED = "{provider} could not start the deposit: {error}"


def transition_allowed(kind: str, from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS[kind].get(from_state, set())


def _transition(
    payment: Payment,
    to: str,
    *,
    source: str,
    notification: Notification | None = None,
    actor=None,
    note: str = "",
) -> PaymentEvent:
    """Move a payment the caller has locked; one PaymentEvent."""
    if not transition_allowed(payment.kind, payment.state, to):
        raise DomainError(
            "invalid_transition",
            INVALID_TRANSITION.format(
                kind=payment.get_kind_display().lower(), from_state=payment.state, to_state=to
            ),
            status=409,
        )
    now = timezone.now()
    event = PaymentEvent.objects.create(
        payment=payment,
        from_state=payment.state,
        to_state=to,
        at=now,
        source=source,
        notification=notification,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:2000],
    )
    payment.state, payment.state_changed_at = to, now
    payment.save(update_fields=["state", "state_changed_at", "updated_at"])
    return event


@transaction.atomic
def payment_transition(
    *,
    payment_id: int,
    to: str,
    source: str,
    actor=None,
    note: str = "",
    notification: Notification | None = None,
) -> Payment:
    """Move a payment to `to` if the state machine allows it (DomainError invalid_transition
    otherwise). No money moves here: deposits move money through deposit_apply_event."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    _transition(payment, to, source=source, notification=notification, actor=actor, note=note)
    return payment


# --- starting a deposit ----------------------------------------------------------------------------


def _aml_check_deposit(player: Player) -> None:
    """The cheap AML rules for this player at a deposit request: alerts for compliance only,
    never a refusal (a failure is logged and the deposit goes on)."""
    from compliance.aml.services import aml_check_player

    try:
        aml_check_player(player, trigger="deposit")
    except Exception:
        logger.exception("AML inline check failed for player %s at a deposit", player.pk)


def deposit_start(*, player: Player, provider: str, amount: str, currency: str) -> Payment:
    """The platform API's deposit: gates, then a payment in state initiated, then the
    provider's session (outside any database transaction: no lock is held over HTTP).
    Raises DomainError: unknown_provider, provider_unavailable, bad_amount,
    wrong_currency, the deposit gate's own code (403), provider_error (502)."""
    if provider not in Provider.values:
        raise DomainError("unknown_provider", UNKNOWN_PROVIDER.format(provider=provider), field="provider")
    adapter = get_adapter(provider)
    try:
        money = Money.parse(amount, currency)
    except (ValueError, TypeError) as exc:
        raise DomainError("bad_amount", BAD_AMOUNT.format(error=exc), field="amount") from None
    if money.amount <= 0:
        raise DomainError("bad_amount", NOT_POSITIVE, field="amount")
    if currency != player.currency:
        raise DomainError(
            "wrong_currency",
            WRONG_CURRENCY.format(player_currency=player.currency, currency=currency),
            field="currency",
        )
    decision = can_deposit(player, money.amount)
    if not decision:
        raise DomainError(decision.code, decision.message, status=403)
    # The provider in the player's market: enabled, within its limits, and its fee.
    terms = provider_terms(provider=provider, player=player, kind="deposit", amount=money.amount)
    with transaction.atomic():
        payment = Payment.objects.create(
            kind=Payment.Kind.DEPOSIT,
            player=player,
            provider=provider,
            amount=money.amount,
            currency=currency,
            fee=terms.fee,
            state=S.INITIATED,
        )
        PaymentEvent.objects.create(payment=payment, to_state=S.INITIATED, source=PaymentEvent.Source.API)
    _aml_check_deposit(player)
    try:
        start = adapter.start_deposit(payment)
    except ProviderError as exc:
        payment_transition(
            payment_id=payment.pk, to=S.FAILED, source=PaymentEvent.Source.SYSTEM, note=str(exc)
        )
        raise DomainError(
            "provider_error", PROVIDER_FAILED.format(provider=adapter.name, error=exc), status=502
        ) from None
    payment.redirect_url = start.redirect_url
    payment.provider_reference = start.provider_reference
    payment.provider_data = start.data
    payment.save(update_fields=["redirect_url", "provider_reference", "provider_data", "updated_at"])
    return payment


# --- applying a provider's event ---------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    payment: Payment | None
    changed: bool  # a state moved (and maybe money)
    flagged: bool  # an operator should look
    text: str


def _noop(payment: Payment, text: str, *, flagged: bool = False) -> Applied:
    return Applied(payment, False, flagged, f"{payment.reference}: {text}")


def _succeed(payment: Payment, event: ProviderEvent, notification: Notification | None) -> Applied:
    if event.amount != payment.amount:
        return _noop(
            payment,
            f"success for {event.amount} but the payment is for {payment.amount} minor units: not credited",
            flagged=True,
        )
    previous = payment.state
    payment.provider_reference = event.provider_reference or payment.provider_reference
    payment.method = event.method or payment.method
    if event.instrument is not None:
        payment.payment_method = record_method(payment, notification.provider, event.instrument)
    _transition(
        payment,
        S.SUCCEEDED,
        source=PaymentEvent.Source.NOTIFICATION,
        notification=notification,
        note=event.reason,
    )
    txn = credit(payment)
    payment.credit_txn = txn
    payment.save(update_fields=["provider_reference", "method", "payment_method", "credit_txn", "updated_at"])
    return Applied(
        payment, True, False, f"{payment.reference}: {previous} -> succeeded, credited (txn #{txn.pk})"
    )


def _reverse(payment: Payment, event: ProviderEvent, notification: Notification | None) -> Applied:
    amount = payment.amount if event.type == EventType.CANCELLED or event.amount is None else event.amount
    if amount <= 0 or amount > payment.amount:
        return _noop(
            payment, f"{event.type} of {amount} exceeds the deposit of {payment.amount}", flagged=True
        )
    chargeback = event.type == EventType.CHARGEBACK
    kind = Transaction.Kind.CHARGEBACK if chargeback else Transaction.Kind.REVERSAL
    txn, taken = debit_back(payment, amount, kind, f"{event.type} {event.provider_reference}")
    note = f"{event.type} {event.provider_reference}: {amount} back to the provider, {taken} from the player's cash"
    _transition(
        payment, S.REVERSED, source=PaymentEvent.Source.NOTIFICATION, notification=notification, note=note
    )
    payment.reversal_txn = txn
    payment.save(update_fields=["reversal_txn", "updated_at"])
    if chargeback:
        _chargeback_consequences(payment, amount, taken, txn)
    if event.type == EventType.REFUND:  # a refund finance asked for (payments.refunds), confirmed
        from .refunds import refund_confirmed

        refund_confirmed(payment, amount=amount, provider_reference=event.provider_reference)
    # A Trustly debit after credit (a bank transfer that never settled) is a loss too,
    # but not a fraud signal: flagged for finance, the player is not suspended.
    flagged = event.type == EventType.REVERSED or amount > taken
    return Applied(
        payment, True, flagged, f"{payment.reference}: succeeded -> reversed ({note}, txn #{txn.pk})"
    )


def _chargeback_consequences(payment: Payment, amount: int, taken: int, txn: Transaction) -> None:
    from players.services import player_suspend

    player = Player.objects.select_for_update().get(pk=payment.player_id)
    was_active = player.status == Player.Status.ACTIVE
    if was_active:
        player_suspend(
            player_id=player.pk,
            reason=f"Chargeback on deposit {payment.reference}: pending review",
            actor=None,
            actor_label=f"payments: {payment.provider} chargeback",
        )
    audit.record(
        actor=None,
        actor_label=f"payments: {payment.provider} chargeback",
        action="payments.payment.chargeback",
        target=payment,
        after={
            "amount": amount,
            "currency": payment.currency,
            "from_player_cash": taken,
            "to_chargeback_losses": amount - taken,
            "transaction_id": txn.pk,
            "player_suspended": was_active,
        },
    )
    from .alerts import chargeback_alert_open

    chargeback_alert_open(payment=payment, amount=amount, from_player=taken)


def deposit_apply_event(*, event: ProviderEvent, notification: Notification) -> Applied:
    """Apply one verified provider event to the deposit it names, exactly once (see the
    module's invariants). Unknown references and mismatches are answered, flagged, and
    move nothing."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("player")
            .filter(reference=event.payment_reference, provider=notification.provider)
            .first()
        )
        if payment is None:
            return Applied(
                None, False, True, f"unknown reference {event.payment_reference!r}: nothing applied"
            )
        if event.currency and event.currency != payment.currency:
            return _noop(
                payment, f"currency {event.currency} but the payment is in {payment.currency}", flagged=True
            )
        if payment.kind != Payment.Kind.DEPOSIT:
            from .withdrawals import withdrawal_apply_event  # payout confirmations

            return withdrawal_apply_event(payment=payment, event=event, notification=notification)
        return _apply(payment, event, notification)


def _account(payment: Payment, event: ProviderEvent, notification: Notification) -> Applied:
    """The instrument a deposit is paid from, named before the money (Trustly `account`)."""
    if event.instrument is None:
        return _noop(payment, "account notification without an account")
    payment.payment_method = record_method(payment, notification.provider, event.instrument)
    payment.save(update_fields=["payment_method", "updated_at"])
    return Applied(payment, True, False, f"{payment.reference}: paid from {payment.payment_method}")


def _apply(payment: Payment, event: ProviderEvent, notification: Notification) -> Applied:
    state, kind = payment.state, event.type
    src = PaymentEvent.Source.NOTIFICATION
    if kind == EventType.ACCOUNT:
        return _account(payment, event, notification)
    if kind == EventType.PENDING:
        if state == S.INITIATED:
            _transition(payment, S.PENDING, source=src, notification=notification)
            return Applied(payment, True, False, f"{payment.reference}: initiated -> pending")
        return _noop(payment, f"pending while {state}: ignored")
    if kind == EventType.SUCCEEDED:
        if state in (S.INITIATED, S.PENDING, S.FAILED):
            return _succeed(payment, event, notification)
        if state == S.CANCELLED:
            return _noop(
                payment, "success after a cancel: not credited, check with the provider", flagged=True
            )
        return _noop(payment, f"success while {state}: already applied")
    if kind == EventType.FAILED:
        if state in (S.INITIATED, S.PENDING):
            _transition(payment, S.FAILED, source=src, notification=notification, note=event.reason)
            return Applied(payment, True, False, f"{payment.reference}: {state} -> failed")
        # After a success: an earlier attempt's failure arriving late (another pspReference).
        same = bool(event.provider_reference) and event.provider_reference == payment.provider_reference
        return _noop(payment, f"failure while {state}: ignored", flagged=state == S.SUCCEEDED and same)
    if kind == EventType.CANCELLED and state in (S.INITIATED, S.PENDING):
        _transition(payment, S.CANCELLED, source=src, notification=notification, note=event.reason)
        return Applied(payment, True, False, f"{payment.reference}: {state} -> cancelled")
    if kind in (EventType.CANCELLED, EventType.REFUND, EventType.CHARGEBACK, EventType.REVERSED):
        if state == S.SUCCEEDED:
            return _reverse(payment, event, notification)
        if state in (S.REVERSED, S.CANCELLED) or (kind == EventType.CANCELLED and state == S.FAILED):
            return _noop(payment, f"{kind} while {state}: already applied")
        return _noop(payment, f"{kind} while {state}: nothing was credited", flagged=True)
    return _noop(payment, f"{kind}: not handled", flagged=True)
