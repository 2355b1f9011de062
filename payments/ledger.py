"""The money a payment moves, always through wallet.services.transaction_post, and the
instrument it was paid with. Called by payments.services with the payment row locked."""

import hashlib

from django.utils import timezone

from wallet.models import Account, Transaction
from wallet.services import Leg, house_account, player_accounts_ensure, transaction_post

from .models import Payment, PaymentMethod
from .providers.base import Instrument


def fingerprint(normalised: str) -> str:
    return hashlib.sha256(normalised.strip().encode("utf-8")).hexdigest()


def record_method(payment: Payment, provider: str, instrument: Instrument) -> PaymentMethod:
    now = timezone.now()
    method, created = PaymentMethod.objects.get_or_create(
        player_id=payment.player_id,
        provider=provider,
        fingerprint=fingerprint(instrument.normalised),
        defaults={
            "type": instrument.type,
            "brand": instrument.brand,
            "last_four": instrument.last_four,
            "bank": instrument.bank,
            "holder_name": instrument.holder_name,
            "first_used_at": now,
            "last_used_at": now,
        },
    )
    if not created:
        PaymentMethod.objects.filter(pk=method.pk).update(last_used_at=now)
    return method


def credit(payment: Payment) -> Transaction:
    cash = player_accounts_ensure(payment.player)[Account.Kind.PLAYER_CASH]
    psp = house_account(Account.Kind.HOUSE_PSP, payment.provider, payment.currency)
    fee = payment.fee if 0 < payment.fee < payment.amount else 0
    legs = [Leg(cash, payment.amount), Leg(psp, -(payment.amount - fee))]
    if fee:
        legs.append(Leg(house_account(Account.Kind.HOUSE_FEES, "", payment.currency), -fee))
    return transaction_post(
        kind=Transaction.Kind.DEPOSIT,
        idempotency_key=f"payment:{payment.reference}:credit",
        legs=legs,
        reference=payment.reference,
        metadata={
            "payment": payment.reference,
            "provider": payment.provider,
            "psp": payment.provider_reference,
        },
    )


def debit_back(payment: Payment, amount: int, kind: str, why: str) -> tuple[Transaction, int]:
    """The PSP takes `amount` back: debit the player's cash up to its balance, the rest is
    the casino's loss. Returns the transaction and how much came from the player."""
    cash = Account.objects.select_for_update().get(
        player_id=payment.player_id, kind=Account.Kind.PLAYER_CASH, currency=payment.currency
    )
    taken = min(cash.balance, amount)
    legs = [Leg(house_account(Account.Kind.HOUSE_PSP, payment.provider, payment.currency), amount)]
    if taken:
        legs.append(Leg(cash, -taken))
    if amount - taken:
        losses = house_account(Account.Kind.HOUSE_CHARGEBACK_LOSSES, "", payment.currency)
        legs.append(Leg(losses, -(amount - taken)))
    txn = transaction_post(
        kind=kind,
        idempotency_key=f"payment:{payment.reference}:reverse",
        legs=legs,
        reference=payment.reference,
        metadata={
            "payment": payment.reference,
            "why": why,
            "credit_txn": payment.credit_txn_id,
            "from_player": taken,
            "to_losses": amount - taken,
        },
    )
    return txn, taken
