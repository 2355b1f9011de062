"""Withdrawals: the player's request, the automatic checks, finance's decision (four-eyes
above PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR), the payout through the provider's
adapter, and the provider's confirmation.

Money (wallet.services.transaction_post, keys `payment:<reference>:<step>`):
- request: player cash -> player withdrawal-pending (`withdrawal_request`);
- paid: withdrawal-pending -> house_psp/<provider> (`withdrawal`), the provider's payout
  fee booked to house_fees (the player receives the full amount);
- cancelled by the player, rejected by finance, refused or failed at the provider:
  withdrawal-pending -> cash (`withdrawal_cancel`). A player's own cancel carries no
  `returned_by` in its metadata: the reversed-withdrawals marker of harm counts only those.

Invariants:
1. the payment row is locked FOR UPDATE by every step, and each step checks the state
   first: a cancel racing an approval, two approvals, a late or duplicated confirmation
   move the money exactly once (the ledger keys guard it again);
2. the payout is claimed (a conditional UPDATE touching one row) before the provider is
   called, outside any database transaction: one send per approval, however often the
   task runs; an unknown outcome (timeout, 5xx) releases the claim for a retry with the
   same idempotency key, and returns no money;
3. at or above the threshold the approver is not the operator who asked for the second
   approval (backoffice.approvals; the database refuses it too)."""

from __future__ import annotations

import logging
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from backoffice import approvals, audit
from backoffice.errors import DomainError
from backoffice.models import ApprovalRequest
from backoffice.money import Money
from compliance.gates import can_withdraw
from players.models import Player
from wallet.models import Account, Transaction
from wallet.services import Leg, house_account, player_accounts_ensure, transaction_post

from .models import Notification, Payment, PaymentEvent, PaymentMethod, Provider, WithdrawalCheck
from .provider_settings import provider_terms
from .providers import get_adapter
from .providers.base import EventType, PayoutRefused, ProviderError, ProviderEvent
from .services import Applied, _noop, _transition

logger = logging.getLogger(__name__)

S = Payment.State
K = Payment.Kind
R = WithdrawalCheck.Result
SRC = PaymentEvent.Source
APPROVE_ACTION = "payments.withdrawal.approve"
PENDING_STATES = (S.REQUESTED, S.IN_REVIEW)

UNKNOWN_PROVIDER = "Unknown provider {provider!r}."
WRONG_CURRENCY = "The player's currency is {player_currency}; the withdrawal is in {currency}."
NOT_POSITIVE = "The amount must be greater than zero."
INSUFFICIENT = "Insufficient funds: the player's cash is {balance}, the withdrawal is {amount}."
NOT_A_WITHDRAWAL = "No withdrawal with this reference."
NOT_IN_REVIEW = "This withdrawal is {state}: only a withdrawal in review can be approved."
NOT_PENDING = "This withdrawal is {state}: it can no longer be {verb}."
NOT_HELD = "Only a held withdrawal (requested) can be checked again."
REASON_REQUIRED = "Say why: a reason is required."
FORBIDDEN = "You do not hold the permission to decide withdrawals."
FOUR_EYES = approvals.FOUR_EYES_SAME_OPERATOR
NOT_APPROVED = "Only an approved withdrawal whose payout is not under way can be sent."


def approval_threshold_minor() -> int:
    """At or above this many minor units a withdrawal needs a second finance approver."""
    return int(getattr(settings, "PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR", 100_000))


def _locked(payment_id: int) -> Payment:
    payment = Payment.objects.select_for_update().select_related("player").filter(pk=payment_id).first()
    if payment is None or payment.kind != K.WITHDRAWAL:
        raise DomainError("withdrawal_not_found", NOT_A_WITHDRAWAL, status=404)
    return payment


def _may_decide(actor) -> None:
    if not actor.has_perm("payments.approve_withdrawal"):
        raise DomainError("forbidden", FORBIDDEN, status=403)


# --- the request and its checks ------------------------------------------------------------------


def withdrawal_request(*, player: Player, provider: str, amount: str, currency: str) -> Payment:
    """The platform API's withdrawal. Refusals (nothing created, no money moved):
    unknown_provider, bad_amount, wrong_currency (400), the withdrawal gate's code (403),
    provider_disabled (403), amount_below_minimum / amount_above_maximum,
    insufficient_funds (400). Then the amount moves to withdrawal-pending, the checks
    run, and the withdrawal is either in review (finance's queue) or held (requested,
    with the reasons in status_note)."""
    if provider not in Provider.values:
        raise DomainError("unknown_provider", UNKNOWN_PROVIDER.format(provider=provider), field="provider")
    try:
        money = Money.parse(amount, currency)
    except (ValueError, TypeError) as exc:
        raise DomainError("bad_amount", str(exc), field="amount") from None
    if money.amount <= 0:
        raise DomainError("bad_amount", NOT_POSITIVE, field="amount")
    if currency != player.currency:
        raise DomainError(
            "wrong_currency",
            WRONG_CURRENCY.format(player_currency=player.currency, currency=currency),
            field="currency",
        )
    decision = can_withdraw(player)
    if not decision:
        raise DomainError(decision.code, decision.message, status=403)
    terms = provider_terms(provider=provider, player=player, kind="withdrawal", amount=money.amount)
    accounts = player_accounts_ensure(player)
    with transaction.atomic():
        payment = Payment.objects.create(
            kind=K.WITHDRAWAL,
            player=player,
            provider=provider,
            amount=money.amount,
            currency=currency,
            fee=terms.fee,
            state=S.REQUESTED,
        )
        PaymentEvent.objects.create(payment=payment, to_state=S.REQUESTED, source=SRC.API)
        try:
            payment.request_txn = transaction_post(
                kind=Transaction.Kind.WITHDRAWAL_REQUEST,
                idempotency_key=f"payment:{payment.reference}:request",
                legs=[
                    Leg(accounts[Account.Kind.PLAYER_CASH], -money.amount),
                    Leg(accounts[Account.Kind.PLAYER_WITHDRAWAL_PENDING], money.amount),
                ],
                reference=payment.reference,
                metadata={"payment": payment.reference, "provider": provider},
            )
        except DomainError as exc:
            if exc.code != "insufficient_funds":
                raise
            balance = Account.objects.get(pk=accounts[Account.Kind.PLAYER_CASH].pk).balance
            raise DomainError(
                "insufficient_funds",
                INSUFFICIENT.format(balance=Money(balance, currency), amount=money),
                field="amount",
            ) from None
        payment.save(update_fields=["request_txn", "updated_at"])
        _check_and_route(payment)
        audit.record(
            actor=None,
            actor_label=f"player {player.public_id}",
            action="payments.withdrawal.request",
            target=payment,
            after={
                "amount": payment.amount,
                "currency": payment.currency,
                "provider": provider,
                "state": payment.state,
                "held": payment.status_note,
            },
        )
    return payment


def _checks(payment: Payment) -> list[tuple[str, str, str]]:
    """(code, result, reason) for each automatic check, in the order finance reads them."""
    from compliance.kyc import cdd_check, cdd_meter
    from compliance.models import KycLevel, KycProfile
    from compliance.selectors import rule_value

    player = payment.player
    out = []
    # KYC level: operator floor (identity before any payout), raised by the market's rule.
    floor = int(getattr(settings, "PAYMENTS_WITHDRAWAL_KYC_LEVEL", KycLevel.BASIC))
    market = rule_value(jurisdiction=player.jurisdiction, key="kyc_level_before_play", default=0) or 0
    needed = max(floor, int(market))
    level = KycProfile.objects.filter(player=player).values_list("level", flat=True).first() or 0
    need_label, have_label = KycLevel(needed).label, KycLevel(level).label
    if level >= needed:
        out.append(
            ("kyc_level", R.PASS, f"KYC level '{have_label}' meets '{need_label}' ({player.jurisdiction}).")
        )
    else:
        out.append(
            ("kyc_level", R.HOLD, f"KYC level '{have_label}'; '{need_label}' is required before a payout.")
        )
    # CDD meter: crossing the threshold opens a requirement (audited by compliance).
    prof = cdd_check(player_id=player.pk)
    meter = cdd_meter(player)
    if prof.requirement_open:
        out.append(("cdd", R.HOLD, f"Due diligence open: {prof.required_reason}."))
    else:
        status = "crossed, requirement met" if meter["crossed"] else "below the threshold"
        out.append(
            (
                "cdd",
                R.PASS,
                f"CDD meter {status}: {Money(meter['lifetime'], meter['currency'])} deposited lifetime.",
            )
        )
    out.append(_aml_check(player))
    # Closed loop: pay out to a provider (and instrument) the player deposited with.
    method = (
        PaymentMethod.objects.filter(player=player, provider=payment.provider)
        .order_by("-last_used_at")
        .first()
    )
    deposited = Payment.objects.filter(
        player=player, provider=payment.provider, kind=K.DEPOSIT, state__in=[S.SUCCEEDED, S.REVERSED]
    ).exists()
    name = payment.get_provider_display()
    if method is not None:
        payment.payment_method = method
        payment.save(update_fields=["payment_method", "updated_at"])
        out.append(("same_method", R.PASS, f"Paid out to {method}, used to deposit through {name}."))
    elif deposited:
        out.append(("same_method", R.PASS, f"The player deposited through {name} (instrument not named)."))
    else:
        out.append(
            ("same_method", R.HOLD, f"The player never deposited through {name}: pay out where they paid in.")
        )
    # Open complaints: shown to finance; a complaint alone holds no one's money.
    from disputes.models import Complaint

    n = Complaint.objects.filter(player=player, status=Complaint.Status.OPEN).count()
    if n:
        out.append(
            ("complaints", R.NOTE, f"{n} open complaint{'s' if n > 1 else ''}: read before approving.")
        )
    else:
        out.append(("complaints", R.PASS, "No open complaints."))
    return out


def _aml_check(player: Player) -> tuple[str, str, str]:
    """The cheap AML rules run now for this player (compliance.aml.services.aml_check_player);
    an open high-severity alert, raised now or by an earlier scan, holds the payout until
    compliance closes it. A check that cannot run holds too (compliance looks)."""
    from compliance.aml.services import alert_title, aml_check_player

    try:
        alerts = aml_check_player(player, trigger="withdrawal")
    except Exception:
        logger.exception("AML inline check failed for player %s", player.pk)
        return ("aml", R.HOLD, "The AML check could not run: compliance must look before a payout.")
    if not alerts:
        return ("aml", R.PASS, "No open high-severity AML alert.")
    named = "; ".join(f"{alert_title(a)} (alert #{a.pk}, raised {a.created_at:%Y-%m-%d})" for a in alerts)
    many = len(alerts) > 1
    return (
        "aml",
        R.HOLD,
        f"Open high-severity AML alert{'s' if many else ''}: {named}. "
        f"Compliance must close {'them' if many else 'it'} before a payout.",
    )


def _check_and_route(payment: Payment, actor=None) -> None:
    """Run the checks (a new run), then in review when nothing holds, else held with the
    reasons. The caller holds the payment's lock."""
    run = (payment.checks.aggregate(m=Max("run"))["m"] or 0) + 1
    results = _checks(payment)
    WithdrawalCheck.objects.bulk_create(
        [WithdrawalCheck(payment=payment, run=run, code=c, result=r, reason=why) for c, r, why in results]
    )
    holds = [why for _c, r, why in results if r == R.HOLD]
    payment.status_note = "Held: " + " ".join(holds) if holds else ""
    payment.save(update_fields=["status_note", "payment_method", "updated_at"])
    if not holds:
        _transition(
            payment,
            S.IN_REVIEW,
            source=SRC.OPERATOR if actor else SRC.SYSTEM,
            actor=actor,
            note="Automatic checks passed",
        )


@transaction.atomic
def withdrawal_recheck(*, payment_id: int, actor) -> Payment:
    """Run the checks again for a held withdrawal (after KYC, say); audited."""
    _may_decide(actor)
    payment = _locked(payment_id)
    if payment.state != S.REQUESTED:
        raise DomainError("withdrawal_not_held", NOT_HELD, status=409)
    _check_and_route(payment, actor=actor)
    audit.record(
        actor=actor,
        action="payments.withdrawal.recheck",
        target=payment,
        before={"state": S.REQUESTED},
        after={"state": payment.state, "held": payment.status_note},
    )
    return payment


# --- finance's decision -----------------------------------------------------------------------------


def withdrawal_approve(*, payment_id: int, actor, note: str = "") -> Payment:
    """Approve a withdrawal in review. Below the threshold it is approved at once and the
    payout queued. At or above it, the first approval asks for a second one (an
    ApprovalRequest; the payment stays in review) and another operator's approval carries
    it out. Refusals: forbidden (403), withdrawal_not_in_review (409), four_eyes."""
    _may_decide(actor)
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.state != S.IN_REVIEW:
            raise DomainError(
                "withdrawal_not_in_review",
                NOT_IN_REVIEW.format(state=payment.get_state_display().lower()),
                status=409,
            )
        if payment.amount < approval_threshold_minor():
            return _approve(payment, actor=actor, note=note)
        req = payment.approval_request
        if req is None or req.state != ApprovalRequest.State.PENDING:
            return _ask_second(payment, actor=actor, note=note)
        if req.requested_by_id == actor.pk:
            raise DomainError("four_eyes", FOUR_EYES)
    # The second approval: approvals locks the request, checks four-eyes and the
    # permission, and runs _execute_approval (which locks the payment again).
    req = approvals.approval_approve(request_id=req.pk, actor=actor, note=note)
    if req.state == ApprovalRequest.State.FAILED:
        raise DomainError("approval_failed", req.error, status=409)
    return Payment.objects.get(pk=payment_id)


def _ask_second(payment: Payment, *, actor, note: str) -> Payment:
    money = Money(payment.amount, payment.currency)
    req = approvals.approval_request_create(
        action=APPROVE_ACTION,
        payload={"payment_id": payment.pk, "reference": payment.reference},
        summary=f"Withdrawal {payment.reference}: {money} to player {payment.player.public_id}",
        reason=note.strip() or f"Approved by {actor.email}: at or above the four-eyes threshold",
        actor=actor,
    )
    payment.approval_request = req
    payment.status_note = f"Awaits a second approver (first approval by {actor.email})."
    payment.save(update_fields=["approval_request", "status_note", "updated_at"])
    audit.record(
        actor=actor,
        action="payments.withdrawal.approval_request",
        target=payment,
        after={"approval_id": req.pk, "amount": payment.amount, "currency": payment.currency},
        note=note,
    )
    return payment


def _approve(payment: Payment, *, actor, note: str, first=None) -> Payment:
    before = {"state": payment.state}
    text = note or ("Second approval" if first else "Approved")
    if first is not None:
        text += f" (first approval by {first.email})"
    _transition(payment, S.APPROVED, source=SRC.OPERATOR, actor=actor, note=text)
    payment.status_note = "Approved: payout queued."
    payment.save(update_fields=["status_note", "updated_at"])
    audit.record(
        actor=actor,
        action="payments.withdrawal.approve",
        target=payment,
        before=before,
        after={"state": payment.state, "first_approver": getattr(first, "email", None)},
        note=note,
    )
    pid = payment.pk
    transaction.on_commit(lambda: _queue_payout(pid))
    return payment


def _queue_payout(payment_id: int) -> None:
    from .tasks import withdrawal_payout_send_task

    withdrawal_payout_send_task.delay(payment_id=payment_id)


def _execute_approval(payload: dict, requested_by, approved_by) -> dict:
    payment = _locked(payload["payment_id"])
    if payment.state != S.IN_REVIEW:
        raise DomainError(
            "withdrawal_not_in_review", NOT_IN_REVIEW.format(state=payment.get_state_display().lower())
        )
    _approve(payment, actor=approved_by, note="", first=requested_by)
    return {"payment": payment.reference, "state": payment.state}


approvals.register(
    approvals.ApprovalAction(
        key=APPROVE_ACTION,
        permission="payments.approve_withdrawal",
        execute=_execute_approval,
        label="Withdrawal above the four-eyes threshold",
    )
)


def _return_money(payment: Payment, *, why: str, returned_by: str | None, actor=None) -> Transaction:
    """Withdrawal-pending back to cash, once (key payment:<reference>:return)."""
    accounts = player_accounts_ensure(payment.player)
    metadata = {"payment": payment.reference, "why": why}
    if returned_by:
        metadata["returned_by"] = returned_by
    txn = transaction_post(
        kind=Transaction.Kind.WITHDRAWAL_CANCEL,
        idempotency_key=f"payment:{payment.reference}:return",
        legs=[
            Leg(accounts[Account.Kind.PLAYER_WITHDRAWAL_PENDING], -payment.amount),
            Leg(accounts[Account.Kind.PLAYER_CASH], payment.amount),
        ],
        actor=actor,
        reference=payment.reference,
        metadata=metadata,
    )
    payment.settle_txn = txn
    payment.save(update_fields=["settle_txn", "updated_at"])
    return txn


@transaction.atomic
def withdrawal_reject(*, payment_id: int, actor, reason: str) -> Payment:
    """Reject a held or in-review withdrawal: the money goes back to the player's cash."""
    _may_decide(actor)
    if not reason.strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    payment = _locked(payment_id)
    if payment.state not in PENDING_STATES:
        raise DomainError(
            "withdrawal_not_pending",
            NOT_PENDING.format(state=payment.get_state_display().lower(), verb="rejected"),
            status=409,
        )
    before = {"state": payment.state}
    txn = _return_money(payment, why="rejected", returned_by="finance", actor=actor)
    _transition(payment, S.REJECTED, source=SRC.OPERATOR, actor=actor, note=reason)
    payment.status_note = f"Rejected: {reason}"
    payment.save(update_fields=["status_note", "updated_at"])
    audit.record(
        actor=actor,
        action="payments.withdrawal.reject",
        target=payment,
        before=before,
        after={"state": payment.state, "transaction_id": txn.pk},
        note=reason,
    )
    return payment


@transaction.atomic
def withdrawal_cancel(*, reference: str, player: Player) -> Payment:
    """The player takes back a withdrawal still requested or in review: the money goes
    back to cash (a reversed withdrawal: compliance's marker of harm counts these)."""
    payment = (
        Payment.objects.select_for_update()
        .select_related("player")
        .filter(reference=reference, kind=K.WITHDRAWAL, player=player)
        .first()
    )
    if payment is None:
        raise DomainError("withdrawal_not_found", NOT_A_WITHDRAWAL, status=404)
    if payment.state not in PENDING_STATES:
        raise DomainError(
            "withdrawal_not_pending",
            NOT_PENDING.format(state=payment.get_state_display().lower(), verb="cancelled"),
            status=409,
        )
    before = {"state": payment.state}
    txn = _return_money(payment, why="player_cancel", returned_by=None)
    _transition(payment, S.CANCELLED, source=SRC.API, note="Cancelled by the player")
    payment.status_note = "Cancelled by the player."
    payment.save(update_fields=["status_note", "updated_at"])
    audit.record(
        actor=None,
        actor_label=f"player {player.public_id}",
        action="payments.withdrawal.cancel",
        target=payment,
        before=before,
        after={"state": payment.state, "transaction_id": txn.pk},
    )
    return payment


# --- the payout and its confirmation ------------------------------------------------------------


def withdrawal_payout_send(*, payment_id: int) -> Payment:
    """Send an approved withdrawal through its provider's adapter, once (see invariant 2).
    No payouts in the adapter yet: stays approved, with a note saying so."""
    claimed = Payment.objects.filter(
        pk=payment_id, kind=K.WITHDRAWAL, state=S.APPROVED, payout_claimed_at__isnull=True
    ).update(payout_claimed_at=timezone.now())
    payment = Payment.objects.select_related("player").get(pk=payment_id)
    if claimed != 1:
        return payment
    adapter = get_adapter(payment.provider)
    try:
        psp_reference = adapter.send_payout(payment)
    except NotImplementedError as exc:
        return _payout_not_sent(
            payment_id, f"Approved; payouts through {adapter.name} are not built yet ({exc})."
        )
    except PayoutRefused as exc:
        return _payout_refused(payment_id, str(exc))
    except ProviderError as exc:
        logger.warning("payments: payout %s: outcome unknown: %s", payment.reference, exc)
        return _payout_not_sent(payment_id, f"Payout not confirmed sent ({exc}): retry, it is idempotent.")
    with transaction.atomic():
        payment = _locked(payment_id)
        payment.provider_reference = payment.provider_reference or psp_reference
        payment.save(update_fields=["provider_reference", "updated_at"])
        if payment.state == S.APPROVED:
            _transition(
                payment, S.SENT, source=SRC.SYSTEM, note=f"Payout {psp_reference} sent to {adapter.name}"
            )
            payment.status_note = f"Sent to {adapter.name}: awaits its confirmation."
            payment.save(update_fields=["status_note", "updated_at"])
    return payment


@transaction.atomic
def _payout_not_sent(payment_id: int, note: str) -> Payment:
    payment = _locked(payment_id)
    payment.status_note, payment.payout_claimed_at = note, None
    payment.save(update_fields=["status_note", "payout_claimed_at", "updated_at"])
    audit.record(
        actor=None,
        actor_label=f"payments: {payment.provider} payout",
        action="payments.withdrawal.payout_not_sent",
        target=payment,
        note=note,
    )
    return payment


@transaction.atomic
def _payout_refused(payment_id: int, why: str) -> Payment:
    payment = _locked(payment_id)
    if payment.state == S.APPROVED:
        _return_money(payment, why="payout_refused", returned_by="provider")
        _transition(payment, S.FAILED, source=SRC.SYSTEM, note=why)
        payment.status_note = f"Payout refused, money returned to the player: {why}"
        payment.save(update_fields=["status_note", "updated_at"])
    return payment


@transaction.atomic
def withdrawal_payout_retry(*, payment_id: int, actor) -> None:
    """Finance sends again a payout whose outcome was unknown or whose adapter was
    missing (the provider dedups on our reference)."""
    _may_decide(actor)
    payment = _locked(payment_id)
    if payment.state != S.APPROVED or payment.payout_claimed_at is not None:
        raise DomainError("withdrawal_not_approved", NOT_APPROVED, status=409)
    audit.record(actor=actor, action="payments.withdrawal.payout_retry", target=payment)
    transaction.on_commit(lambda: _queue_payout(payment_id))


def _settle(payment: Payment) -> Transaction:
    accounts = player_accounts_ensure(payment.player)
    fee = payment.fee if 0 < payment.fee < payment.amount else 0
    legs = [
        Leg(accounts[Account.Kind.PLAYER_WITHDRAWAL_PENDING], -payment.amount),
        Leg(house_account(Account.Kind.HOUSE_PSP, payment.provider, payment.currency), payment.amount + fee),
    ]
    if fee:
        legs.append(Leg(house_account(Account.Kind.HOUSE_FEES, "", payment.currency), -fee))
    return transaction_post(
        kind=Transaction.Kind.WITHDRAWAL,
        idempotency_key=f"payment:{payment.reference}:paid",
        legs=legs,
        reference=payment.reference,
        metadata={
            "payment": payment.reference,
            "provider": payment.provider,
            "psp": payment.provider_reference,
        },
    )


# A provider's deposit-shaped event that means something else on a payout: Trustly returns
# a payout it could not pay with a `credit` on the payout's messageid; Payz confirms a
# payout with the status notification on its TxID (Status 4 paid, 3 failed) [I].
_ON_A_PAYOUT = {
    (Provider.TRUSTLY, EventType.SUCCEEDED): EventType.PAYOUT_FAILED,
    (Provider.PAYZ, EventType.SUCCEEDED): EventType.PAYOUT_PAID,
    (Provider.PAYZ, EventType.FAILED): EventType.PAYOUT_FAILED,
}


def withdrawal_apply_event(*, payment: Payment, event: ProviderEvent, notification: Notification) -> Applied:
    """A provider's payout confirmation or refusal, on a withdrawal the caller has locked
    (services.deposit_apply_event). Paid: pending -> the provider; failed: pending ->
    cash; duplicates are no-ops, contradictions are flagged for finance."""
    meaning = _ON_A_PAYOUT.get((notification.provider, event.type))
    if meaning is not None:
        event = replace(
            event, type=meaning, reason=event.reason or f"{notification.provider}: payout returned"
        )
    state, kind, src = payment.state, event.type, SRC.NOTIFICATION
    if kind == EventType.PENDING:  # the provider is still working on it (Payz Status 1, 2)
        return _noop(payment, "payout in progress at the provider")
    if kind not in (EventType.PAYOUT_PAID, EventType.PAYOUT_FAILED):
        return _noop(payment, f"{kind} for a withdrawal: not applicable", flagged=True)
    if event.amount is not None and event.amount != payment.amount:
        return _noop(
            payment, f"{kind} for {event.amount} but the withdrawal is {payment.amount}", flagged=True
        )
    if kind == EventType.PAYOUT_PAID:
        if state == S.PAID:
            return _noop(payment, "paid again: already applied")
        if state not in (S.APPROVED, S.SENT):
            return _noop(
                payment, f"the provider paid a withdrawal that is {state}: check with it", flagged=True
            )
        payment.provider_reference = payment.provider_reference or event.provider_reference
        if state == S.APPROVED:  # the confirmation overtook our own record of the send
            _transition(
                payment, S.SENT, source=src, notification=notification, note="confirmed before recorded"
            )
        payment.settle_txn = _settle(payment)
        _transition(payment, S.PAID, source=src, notification=notification, note=event.reason)
        payment.status_note = ""
        payment.save(update_fields=["provider_reference", "settle_txn", "status_note", "updated_at"])
        return Applied(
            payment, True, False, f"{payment.reference}: {state} -> paid (txn #{payment.settle_txn_id})"
        )
    if state in (S.FAILED, S.CANCELLED, S.REJECTED):
        return _noop(payment, f"payout failure while {state}: already applied")
    if state == S.PAID:
        return _noop(payment, "payout failure after it was paid: check with the provider", flagged=True)
    if state not in (S.APPROVED, S.SENT):
        return _noop(payment, f"payout failure while {state}: nothing was sent", flagged=True)
    txn = _return_money(payment, why="payout_failed", returned_by="provider")
    _transition(payment, S.FAILED, source=src, notification=notification, note=event.reason)
    payment.status_note = f"Payout failed, money returned to the player: {event.reason or 'no reason given'}"
    payment.save(update_fields=["status_note", "updated_at"])
    return Applied(payment, True, False, f"{payment.reference}: {state} -> failed, returned (txn #{txn.pk})")
