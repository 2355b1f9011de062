"""Reads the payments screens share (fixed query counts whatever the history)."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from wallet.models import Posting

from .models import Notification, Payment, PaymentMethod


def player_payments(player, limit: int = 50) -> list[Payment]:
    return list(Payment.objects.filter(player=player).select_related("payment_method")[:limit])


def with_shared_count(qs: QuerySet[PaymentMethod]) -> QuerySet[PaymentMethod]:
    """Annotate `shared_with`: how many other players used the same instrument."""
    others = (
        PaymentMethod.objects.filter(fingerprint=OuterRef("fingerprint"))
        .exclude(player_id=OuterRef("player_id"))
        .values("fingerprint")
        .annotate(n=Count("player_id", distinct=True))
        .values("n")
    )
    return qs.annotate(shared_with=Coalesce(Subquery(others), 0))


def player_payment_methods(player) -> list[PaymentMethod]:
    return list(with_shared_count(PaymentMethod.objects.filter(player=player))[:20])


def payment_postings(payment: Payment) -> list[Posting]:
    ids = [i for i in (payment.credit_txn_id, payment.reversal_txn_id) if i]
    if not ids:
        return []
    return list(
        Posting.objects.filter(transaction_id__in=ids).select_related("account", "transaction").order_by("id")
    )


def payment_notifications(payment: Payment) -> QuerySet[Notification]:
    return Notification.objects.filter(Q(payment=payment)).order_by("received_at", "id")
