"""Celery entry points for payments (thin: ids in, one service call)."""

from celery import shared_task


@shared_task(name="payments.withdrawal_payout_send", acks_late=True)
def withdrawal_payout_send_task(payment_id: int) -> str:
    """Queued when a withdrawal is approved. Safe to redeliver: the payout is claimed once."""
    from .withdrawals import withdrawal_payout_send

    return withdrawal_payout_send(payment_id=payment_id).state


@shared_task(name="payments.paynplay_sessions_expire", acks_late=True)
def paynplay_sessions_expire_task() -> int:
    """Beat, every 15 minutes: close Pay N Play sessions nobody identified in time."""
    from .paynplay import paynplay_sessions_expire

    return paynplay_sessions_expire()
