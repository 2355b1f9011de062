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
    ids = [
        i
        for i in (
            payment.credit_txn_id,
            payment.reversal_txn_id,
            payment.request_txn_id,
            payment.settle_txn_id,
        )
        if i
    ]
    if not ids:
        return []
    return list(
        Posting.objects.filter(transaction_id__in=ids).select_related("account", "transaction").order_by("id")
    )


def payment_notifications(payment: Payment) -> QuerySet[Notification]:
    return Notification.objects.filter(Q(payment=payment)).order_by("received_at", "id")


# --- withdrawals ------------------------------------------------------------------------------------


def withdrawal_queue() -> QuerySet[Payment]:
    """Withdrawals waiting for finance: in review, held (requested), and approved ones
    whose payout is not under way; oldest first."""
    return (
        Payment.objects.filter(kind=Payment.Kind.WITHDRAWAL)
        .filter(Q(state__in=["requested", "in_review"]) | Q(state="approved", payout_claimed_at__isnull=True))
        .select_related("player", "payment_method", "approval_request__requested_by")
        .order_by("created_at", "id")
    )


def player_money_position(player) -> dict:
    """Deposits credited, withdrawals paid and pending, and the net (deposited minus paid
    out), in the player's currency: one grouped query."""
    from django.db.models import Sum

    rows = (
        Payment.objects.filter(player=player, currency=player.currency)
        .values("kind", "state")
        .annotate(total=Sum("amount"), n=Count("id"))
    )
    out = {"currency": player.currency, "deposits": 0, "deposits_n": 0, "paid_out": 0, "paid_out_n": 0}
    out.update({"pending": 0, "pending_n": 0})
    for r in rows:
        if r["kind"] == "deposit" and r["state"] == "succeeded":
            out["deposits"] += r["total"]
            out["deposits_n"] += r["n"]
        elif r["kind"] == "withdrawal" and r["state"] == "paid":
            out["paid_out"] += r["total"]
            out["paid_out_n"] += r["n"]
        elif r["kind"] == "withdrawal" and r["state"] in ("requested", "in_review", "approved", "sent"):
            out["pending"] += r["total"]
            out["pending_n"] += r["n"]
    out["net"] = out["deposits"] - out["paid_out"]
    return out


def withdrawal_checks(payment: Payment) -> list:
    """The latest run of the automatic checks."""
    checks = list(payment.checks.order_by("-run", "id"))
    return [c for c in checks if c.run == checks[0].run] if checks else []
