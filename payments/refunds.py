"""Refunds we initiate: finance returns (part of) a succeeded deposit to the instrument it
came from. The provider's REFUND confirmation reverses the credit (services._reverse:
the provider takes the amount back, the player's cash is debited).

Invariants:
1. only a succeeded deposit, only by an operator holding `payments.approve_withdrawal`
   (finance's money-out permission, until a refund permission of its own exists), with a
   reason; 0 < amount <= the deposit, and no more than the player's cash now (a refund
   must not become a chargeback loss);
2. one refund per deposit: the request is claimed under the payment's lock
   (`provider_data["refund"]`) before the provider is called outside any transaction, so
   two operators or a double click send one request; the provider dedups a retry on the
   idempotency key `refund:<reference>` (a retry after an unknown outcome must ask the
   same amount);
3. nothing moves in the ledger until the provider confirms (REFUND event): the ledger
   key payment:<reference>:reverse guards it once;
4. audited `payments.payment.refund` (the request) and `payments.payment.refund_sent` /
   `refund_refused` / `refund_unknown` (the provider's answer)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import Money
from wallet.models import Account

from .models import Payment
from .providers import get_adapter
from .providers.base import PayoutRefused, ProviderError, RefundNotSupported

logger = logging.getLogger(__name__)

S = Payment.State
FORBIDDEN = "You do not hold the permission to refund a deposit."
REASON_REQUIRED = "Say why: a reason is required."
NOT_REFUNDABLE = "This payment is a {kind} that is {state}: only a succeeded deposit can be refunded."
BAD_AMOUNT = "The refund must be more than zero and at most the deposit ({deposit})."
EXCEEDS_CASH = "The player's cash is {cash}: a refund of {amount} would take more than the player has."
IN_PROGRESS = "A refund of {amount} is already {state} for this deposit."
RETRY_SAME = "The last refund request ({amount}) had an unknown outcome: retry it with the same amount."
NOT_BUILT = "Refunds through {provider} are not built yet."
NOT_SUPPORTED = (
    "{provider} does not offer refunds of a deposit, so nothing was sent. "
    "To return the money, pay it to the player as a withdrawal."
)


def _state(payment: Payment) -> dict:
    return dict((payment.provider_data or {}).get("refund") or {})


def _save_refund(payment: Payment, refund: dict, note: str) -> None:
    payment.provider_data = {**(payment.provider_data or {}), "refund": refund}
    payment.status_note = note
    payment.save(update_fields=["provider_data", "status_note", "updated_at"])


@transaction.atomic
def _claim(*, payment_id: int, actor, money: Money, reason: str) -> Payment:
    payment = Payment.objects.select_for_update().select_related("player").get(pk=payment_id)
    if payment.kind != Payment.Kind.DEPOSIT or payment.state != S.SUCCEEDED:
        raise DomainError(
            "not_refundable",
            NOT_REFUNDABLE.format(kind=payment.get_kind_display().lower(), state=payment.state),
            status=409,
        )
    if money.currency != payment.currency or not 0 < money.amount <= payment.amount:
        raise DomainError(
            "bad_amount", BAD_AMOUNT.format(deposit=Money(payment.amount, payment.currency)), field="amount"
        )
    previous = _state(payment)
    if previous.get("state") in ("requested", "sent"):
        shown = Money(previous["amount"], payment.currency)
        raise DomainError(
            "refund_in_progress", IN_PROGRESS.format(amount=shown, state=previous["state"]), status=409
        )
    if previous.get("state") == "unknown" and previous.get("amount") != money.amount:
        raise DomainError(
            "refund_retry_same_amount",
            RETRY_SAME.format(amount=Money(previous["amount"], payment.currency)),
            field="amount",
        )
    cash = (
        Account.objects.filter(
            player_id=payment.player_id, kind=Account.Kind.PLAYER_CASH, currency=payment.currency
        )
        .values_list("balance", flat=True)
        .first()
        or 0
    )
    if cash < money.amount:
        raise DomainError(
            "refund_exceeds_cash",
            EXCEEDS_CASH.format(cash=Money(cash, payment.currency), amount=money),
            field="amount",
        )
    refund = {
        "state": "requested",
        "amount": money.amount,
        "reason": reason,
        "requested_by": actor.email,
        "requested_at": timezone.now().isoformat(),
    }
    _save_refund(payment, refund, f"Refund of {money} requested by {actor.email}: {reason}")
    audit.record(
        actor=actor,
        action="payments.payment.refund",
        target=payment,
        before={"refund": previous or None},
        after={"refund": refund},
        note=reason,
    )
    return payment


@transaction.atomic
def _record(payment_id: int, refund: dict, note: str, action: str) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    _save_refund(payment, {**_state(payment), **refund}, note)
    audit.record(
        actor=None,
        actor_label=f"payments: {payment.provider} refund",
        action=action,
        target=payment,
        after={"refund": _state(payment)},
        note=note,
    )
    return payment


def deposit_refund(*, payment_id: int, actor, amount: str, reason: str) -> Payment:
    """Ask the provider to refund `amount` (a decimal string in the deposit's currency)
    of a succeeded deposit. Returns the payment, still succeeded: the provider's REFUND
    confirmation reverses it. Refusals: forbidden (403), reason_required, bad_amount,
    not_refundable (409), refund_in_progress (409), refund_retry_same_amount,
    refund_exceeds_cash, refund_not_supported (the provider has no refunds: Zimpler, Payz),
    refund_unavailable (the adapter has none built), refund_refused
    (the provider refused; nothing moved), refund_unknown (502: retry)."""
    if not actor.has_perm("payments.approve_withdrawal"):
        raise DomainError("forbidden", FORBIDDEN, status=403)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    currency = Payment.objects.values_list("currency", flat=True).get(pk=payment_id)
    try:
        money = Money.parse(str(amount).strip(), currency)
    except (TypeError, ValueError) as exc:
        raise DomainError("bad_amount", str(exc), field="amount") from None
    payment = _claim(payment_id=payment_id, actor=actor, money=money, reason=reason)
    adapter = get_adapter(payment.provider)
    try:
        psp = adapter.refund(payment, money.amount)
    except RefundNotSupported:
        message = NOT_SUPPORTED.format(provider=adapter.name)
        _record(payment_id, {"state": "unsupported"}, message, "payments.payment.refund_refused")
        raise DomainError("refund_not_supported", message, status=409) from None
    except NotImplementedError:
        _record(
            payment_id,
            {"state": "unavailable"},
            NOT_BUILT.format(provider=adapter.name),
            "payments.payment.refund_refused",
        )
        raise DomainError("refund_unavailable", NOT_BUILT.format(provider=adapter.name), status=409) from None
    except PayoutRefused as exc:
        _record(
            payment_id,
            {"state": "refused", "error": str(exc)},
            f"Refund refused: {exc}",
            "payments.payment.refund_refused",
        )
        raise DomainError("refund_refused", str(exc), status=409) from None
    except ProviderError as exc:
        logger.warning("payments: refund %s: outcome unknown: %s", payment.reference, exc)
        note = f"Refund of {money}: outcome unknown ({exc}); retry with the same amount."
        _record(payment_id, {"state": "unknown", "error": str(exc)}, note, "payments.payment.refund_unknown")
        raise DomainError("refund_unknown", note, status=502) from None
    note = f"Refund of {money} sent to {adapter.name} ({psp}): awaits its confirmation."
    return _record(payment_id, {"state": "sent", "psp_reference": psp}, note, "payments.payment.refund_sent")


def refund_confirmed(payment: Payment, *, amount: int, provider_reference: str) -> None:
    """The provider's REFUND was applied (services._reverse, payment locked): note it."""
    refund = _state(payment)
    if not refund:
        return  # a refund made in the provider's own console: the reversal says it all
    shown = Money(amount, payment.currency)
    done = {**refund, "state": "confirmed", "confirmed_amount": amount, "confirmation": provider_reference}
    _save_refund(payment, done, f"Refunded {shown} ({provider_reference}).")
