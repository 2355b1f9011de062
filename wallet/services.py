"""Ledger services: the only code that moves money.

`transaction_post` is the one posting primitive; deposits, bets, wins, bonuses,
withdrawals and adjustments are all a kind plus a list of legs that sum to zero.
Invariants (DESIGN.md, "Money and the ledger"), each also guarded by PostgreSQL:

1. a transaction's legs sum to zero, in one currency (checked here before any SQL;
   the deferred trigger of migration 0002 checks again at commit);
2. a player account's stored balance moves with its postings, in the same statement
   order, and `balance_after` records it (ledger_verify proves the sum);
3. a player balance never goes below zero: one conditional UPDATE (`... WHERE balance
   + x >= 0`), backed by `CHECK (balance >= 0)`;
4. nothing is updated or deleted: a correction is `transaction_reverse`;
5. an idempotency key posts at most once: the transaction row is inserted first with
   `ON CONFLICT DO NOTHING`, in the same database transaction as the postings; a
   replay with the same content returns the first transaction, different content is
   refused.

House accounts get appended postings only, never a row update: a house row updated
per bet would serialise every bet in the casino on one lock."""

import hashlib
import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from backoffice import approvals, audit
from backoffice.errors import DomainError
from backoffice.money import Money, exponent
from players.models import Player

from . import posting
from .models import PLAYER_KINDS, Account, Transaction

ADJUSTMENT_THRESHOLD_DEFAULT_MINOR = 50_000
ADJUST = "wallet.adjustment"

TOO_FEW_LEGS = "A transaction needs at least two legs."
ZERO_LEG = "A leg of zero moves nothing: leave it out."
DUPLICATE_ACCOUNT = "An account appears twice in the same transaction."
MIXED_CURRENCY = "All legs of a transaction must be in one currency (got {currencies})."
UNBALANCED = "The legs of a transaction must sum to zero (they sum to {total})."
KEY_REQUIRED = "An idempotency key is required."
UNKNOWN_KIND = "Unknown transaction kind {kind!r}."
IDEMPOTENCY_CONFLICT = "The key {key!r} was already used for a different transaction (#{txn_id})."
INSUFFICIENT_FUNDS = "Insufficient funds: {account} holds {balance}, {amount} is needed."
NOT_FOUND = "No such transaction."
ALREADY_REVERSED = "Transaction #{txn_id} has already been reversed (by #{by_id})."
REVERSAL_OF_REVERSAL = "A reversal cannot itself be reversed: post a new adjustment instead."
REASON_REQUIRED = "Say why: a reason is required."
NOT_A_HOUSE_KIND = "{kind!r} is not a house account kind."
WRONG_CURRENCY = "The player's currency is {player_currency}; the amount is in {currency}."
NOT_POSITIVE = "Enter an amount greater than zero."
REFERENCE_REQUIRED = "Give the ticket, case or complaint number this adjustment answers."
BAD_DIRECTION = "Direction is credit or debit."
NO_ADJUST_PERMISSION = "You do not hold the permission to post manual adjustments."


_KINDS = frozenset(Transaction.Kind.values)


@dataclass(frozen=True, slots=True)
class Leg:
    account: Account
    amount: int  # signed minor units in the account's currency: + credits, - debits


def adjustment_threshold_minor() -> int:
    """At or above this many minor units a manual adjustment needs a second operator."""
    return int(
        getattr(settings, "WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR", ADJUSTMENT_THRESHOLD_DEFAULT_MINOR)
    )


def _check_legs(legs: list[Leg]) -> str:
    if len(legs) < 2:
        raise DomainError("legs_too_few", TOO_FEW_LEGS)
    seen: set[int] = set()
    for leg in legs:
        if isinstance(leg.amount, float):
            raise TypeError("Ledger amounts are ints of minor units, never floats.")
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int):
            raise TypeError(f"Ledger amounts are ints of minor units, not {type(leg.amount).__name__}.")
        if leg.account.pk is None:
            raise ValueError("Leg account is not saved.")
        if leg.amount == 0:
            raise DomainError("zero_leg", ZERO_LEG)
        if leg.account.pk in seen:
            raise DomainError("duplicate_account", DUPLICATE_ACCOUNT)
        seen.add(leg.account.pk)
    currencies = sorted({leg.account.currency for leg in legs})
    if len(currencies) != 1:
        raise DomainError("mixed_currency", MIXED_CURRENCY.format(currencies=", ".join(currencies)))
    total = sum(leg.amount for leg in legs)
    if total != 0:
        raise DomainError("unbalanced", UNBALANCED.format(total=Money(total, currencies[0])))
    return currencies[0]


def _request_hash(kind: str, legs: list[Leg], reference: str, reverses_id: int | None) -> str:
    # Metadata and the actor are left out on purpose: a retry may carry a new trace id or
    # come from another worker, and is still the same money movement.
    content = {
        "kind": kind,
        "legs": sorted([leg.account.pk, leg.amount] for leg in legs),
        "reference": reference,
        "reverses": reverses_id,
    }
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def _replay(*, key: str, request_hash: str) -> Transaction:
    first = Transaction.objects.get(idempotency_key=key)
    if first.request_hash != request_hash:
        raise DomainError(
            "idempotency_conflict", IDEMPOTENCY_CONFLICT.format(key=key, txn_id=first.pk), status=409
        )
    first.replayed = True
    return first


def transaction_post(
    *,
    kind: str,
    idempotency_key: str,
    legs: list[Leg],
    actor=None,
    reference: str = "",
    metadata: dict | None = None,
    reverses: Transaction | None = None,
    savepoint: bool = True,
) -> Transaction:
    """Post one balanced transaction atomically and return it (`.replayed` is True when
    the key had already posted the same content). Raises DomainError: legs_too_few,
    zero_leg, duplicate_account, mixed_currency, unbalanced, idempotency_key_required,
    unknown_kind, idempotency_conflict, insufficient_funds. Not audited here: operator
    actions are audited by the service that calls this, machine postings carry their
    provenance (kind, reference, metadata) in the transaction row itself."""
    if kind not in _KINDS:
        raise DomainError("unknown_kind", UNKNOWN_KIND.format(kind=kind))
    if not idempotency_key:
        raise DomainError("idempotency_key_required", KEY_REQUIRED)
    currency = _check_legs(legs)
    reverses_id = reverses.pk if reverses is not None else None
    request_hash = _request_hash(kind, legs, reference, reverses_id)
    fields = {
        "kind": kind,
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
        "reference": reference,
        "metadata": metadata or {},
        "initiated_by_id": getattr(actor, "pk", None),
        "reverses_id": reverses_id,
    }
    # Player accounts in id order: two transfers between the same players lock in the
    # same order and cannot deadlock.
    player_legs = sorted((g for g in legs if g.account.kind in PLAYER_KINDS), key=lambda g: g.account.pk)
    # savepoint=False: a caller whose own transaction is the unit (the wallet API) saves two
    # round trips; an error here then dooms the caller's whole transaction.
    with transaction.atomic(savepoint=savepoint):
        out = posting.write(fields=fields, legs=legs, player_legs=player_legs)
        if out.txn_id is None:
            return _replay(key=idempotency_key, request_hash=request_hash)
        if out.short_leg is not None:
            _insufficient(out.short_leg, currency)  # raises: the atomic block rolls back
    txn = Transaction(id=out.txn_id, created_at=out.created_at, **fields)
    txn._state.adding, txn._state.db = False, "default"
    txn.replayed = False
    return txn


def _insufficient(leg: Leg, currency: str):
    held = Account.objects.values_list("balance", flat=True).get(pk=leg.account.pk)
    raise DomainError(
        "insufficient_funds",
        INSUFFICIENT_FUNDS.format(
            account=leg.account.get_kind_display().lower(),
            balance=Money(held, currency),
            amount=Money(-leg.amount, currency),
        ),
    )


@transaction.atomic
def transaction_reverse(*, transaction_id: int, actor, reason: str, idempotency_key: str) -> Transaction:
    """Post the mirror image of a transaction, linked to it. Invariants: a transaction is
    reversed at most once (row lock on the original, and `reverses` is unique); a
    reversal is not reversed; a replay of the same key returns the first reversal."""
    if not reason.strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    earlier = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if earlier is not None and earlier.reverses_id == transaction_id:
        earlier.replayed = True
        return earlier
    try:
        original = Transaction.objects.select_for_update().get(pk=transaction_id)
    except Transaction.DoesNotExist:
        raise DomainError("not_found", NOT_FOUND, status=404) from None
    if original.kind == Transaction.Kind.REVERSAL:
        raise DomainError("reversal_of_reversal", REVERSAL_OF_REVERSAL)
    by = Transaction.objects.filter(reverses=original).values_list("pk", flat=True).first()
    if by is not None:
        raise DomainError("already_reversed", ALREADY_REVERSED.format(txn_id=original.pk, by_id=by))
    postings = list(original.postings.select_related("account").order_by("id"))
    try:
        txn = transaction_post(
            kind=Transaction.Kind.REVERSAL,
            idempotency_key=idempotency_key,
            legs=[Leg(p.account, -p.amount) for p in postings],
            actor=actor,
            reference=original.reference,
            metadata={"reason": reason, "reverses": original.pk},
            reverses=original,
        )
    except IntegrityError:  # the unique `reverses`, should a writer skip the lock above
        raise DomainError(
            "already_reversed", ALREADY_REVERSED.format(txn_id=original.pk, by_id="?")
        ) from None
    audit.record(
        actor=actor,
        action="wallet.transaction.reverse",
        target=original,
        after={"reversal_id": txn.pk, "legs": [[p.account_id, -p.amount] for p in postings]},
        note=reason,
    )
    return txn


# --- accounts --------------------------------------------------------------------------------


def player_accounts_ensure(player: Player) -> dict[str, Account]:
    """The player's cash, bonus and withdrawal-pending accounts in the player's currency,
    created when missing (safe under concurrency: ON CONFLICT DO NOTHING)."""
    exponent(player.currency)
    Account.objects.bulk_create(
        [Account(kind=k, currency=player.currency, player=player, balance=0) for k in PLAYER_KINDS],
        ignore_conflicts=True,
    )
    return {a.kind: a for a in Account.objects.filter(player=player, currency=player.currency)}


def house_account(kind: str, code: str = "", currency: str = "EUR") -> Account:
    """The house account of a kind (and PSP or provider code) in a currency, created
    when missing. House accounts keep no stored balance (see selectors.house_balance)."""
    if kind in PLAYER_KINDS or kind not in Account.Kind.values:
        raise DomainError("not_house_kind", NOT_A_HOUSE_KIND.format(kind=kind))
    exponent(currency)
    account, _ = Account.objects.get_or_create(kind=kind, code=code, currency=currency, player=None)
    return account


# --- manual adjustments (finance) ---------------------------------------------------------------


def _adjustment_legs(player: Player, amount: Money, direction: str) -> list[Leg]:
    cash = player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    house = house_account(Account.Kind.HOUSE_ADJUSTMENTS, "", amount.currency)
    signed = amount.amount if direction == "credit" else -amount.amount
    return [Leg(cash, signed), Leg(house, -signed)]


def _adjustment_post(
    *,
    player: Player,
    amount: Money,
    direction: str,
    reason: str,
    reference: str,
    requested_by,
    approved_by=None,
    idempotency_key: str,
) -> Transaction:
    txn = transaction_post(
        kind=Transaction.Kind.ADJUSTMENT,
        idempotency_key=idempotency_key,
        legs=_adjustment_legs(player, amount, direction),
        actor=requested_by,
        reference=reference,
        metadata={"reason": reason, "direction": direction, "approved_by": getattr(approved_by, "pk", None)},
    )
    if not txn.replayed:
        audit.record(
            actor=approved_by or requested_by,
            action="wallet.adjustment.post",
            target=player,
            after={
                "transaction_id": txn.pk,
                "direction": direction,
                "amount": amount.to_decimal_string(),
                "currency": amount.currency,
                "reference": reference,
                "requested_by": requested_by.email,
                "approved_by": getattr(approved_by, "email", None),
            },
            note=reason,
        )
    return txn


@transaction.atomic
def adjustment_request(
    *,
    player_id: int,
    amount: Money,
    direction: str,
    reason: str,
    reference: str,
    actor,
    idempotency_key: str | None = None,
):
    """A manual credit or debit of a player's cash against the house adjustments account.
    Below the threshold (WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR) it posts at once and
    returns the Transaction; at or above it returns a pending ApprovalRequest that a
    second operator holding wallet.approve_adjustment must approve (four-eyes)."""
    if not actor.has_perm("wallet.post_adjustment"):
        raise DomainError("forbidden", NO_ADJUST_PERMISSION, status=403)
    if direction not in ("credit", "debit"):
        raise DomainError("bad_direction", BAD_DIRECTION, field="direction")
    if not reason.strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    if not reference.strip():
        raise DomainError("reference_required", REFERENCE_REQUIRED, field="reference")
    if not isinstance(amount, Money):
        raise TypeError("adjustment_request takes a Money amount.")
    if amount.amount <= 0:
        raise DomainError("not_positive", NOT_POSITIVE, field="amount")
    player = Player.objects.get(pk=player_id)
    if amount.currency != player.currency:
        raise DomainError(
            "wrong_currency",
            WRONG_CURRENCY.format(player_currency=player.currency, currency=amount.currency),
            field="amount",
        )
    key = idempotency_key or f"adjustment:{uuid.uuid4()}"
    if amount.amount < adjustment_threshold_minor():
        return _adjustment_post(
            player=player,
            amount=amount,
            direction=direction,
            reason=reason,
            reference=reference,
            requested_by=actor,
            idempotency_key=key,
        )
    payload = {
        "player_id": player.pk,
        "amount": amount.amount,
        "currency": amount.currency,
        "direction": direction,
        "reason": reason,
        "reference": reference,
        "idempotency_key": key,
    }
    to = "to" if direction == "credit" else "from"
    req = approvals.approval_request_create(
        action=ADJUST,
        payload=payload,
        reason=reason,
        actor=actor,
        summary=f"{direction.capitalize()} {amount} {to} player {player.public_id}",
    )
    audit.record(
        actor=actor,
        action="wallet.adjustment.request",
        target=player,
        after={**payload, "approval_id": req.pk},
        note=reason,
    )
    return req


def _execute_adjustment(payload: dict, requested_by, approved_by) -> dict:
    player = Player.objects.get(pk=payload["player_id"])
    txn = _adjustment_post(
        player=player,
        amount=Money(payload["amount"], payload["currency"]),
        direction=payload["direction"],
        reason=payload["reason"],
        reference=payload["reference"],
        requested_by=requested_by,
        approved_by=approved_by,
        idempotency_key=payload["idempotency_key"],
    )
    return {"transaction_id": txn.pk}


approvals.register(
    approvals.ApprovalAction(
        key=ADJUST,
        permission="wallet.approve_adjustment",
        execute=_execute_adjustment,
        label="Manual ledger adjustment",
    )
)
