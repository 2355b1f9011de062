"""Alerting finance: every chargeback opens a ChargebackAlert (the console's "Chargebacks
to review" queue and dashboard tile) and emails the finance operators after commit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import Money

from .models import ChargebackAlert, Payment

logger = logging.getLogger(__name__)

ALREADY_REVIEWED = "This chargeback has already been reviewed."
NOTE_REQUIRED = "Write what was decided (reactivated, closed, disputed with the provider...)."


def finance_emails() -> list[str]:
    from backoffice import roles
    from backoffice.models import User

    return list(
        User.objects.filter(is_active=True, groups__name=roles.FINANCE)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def chargeback_alert_open(*, payment: Payment, amount: int, from_player: int) -> ChargebackAlert:
    """Called by services._chargeback_consequences inside its transaction: one alert per
    payment (a redelivered chargeback changes nothing), one email after commit."""
    alert, created = ChargebackAlert.objects.get_or_create(
        payment=payment, defaults={"amount": amount, "from_player": from_player, "lost": amount - from_player}
    )
    if created:
        transaction.on_commit(lambda: _email(alert.pk))
    return alert


def _email(alert_id: int) -> None:
    alert = ChargebackAlert.objects.select_related("payment__player").get(pk=alert_id)
    p = alert.payment
    to = finance_emails()
    if not to:
        return
    body = (
        f"{p.get_provider_display()} charged back deposit {p.reference} of player {p.player.public_id}: "
        f"{Money(alert.amount, p.currency)}; {Money(alert.from_player, p.currency)} taken from the player's "
        f"cash, {Money(alert.lost, p.currency)} booked to chargeback losses. The player is suspended "
        "pending review: Payments -> Chargebacks to review."
    )
    try:
        send_mail(f"Chargeback on {p.reference}", body, settings.DEFAULT_FROM_EMAIL, to)
    except Exception:  # noqa: BLE001 - the alert row is the record; mail is a courtesy
        logger.exception("payments: chargeback email for %s failed", p.reference)


@transaction.atomic
def chargeback_alert_review(*, alert_id: int, actor, note: str) -> ChargebackAlert:
    if not note.strip():
        raise DomainError("note_required", NOTE_REQUIRED, field="note")
    alert = ChargebackAlert.objects.select_for_update().get(pk=alert_id)
    if alert.reviewed_at is not None:
        raise DomainError("already_reviewed", ALREADY_REVIEWED, status=409)
    alert.reviewed_at, alert.reviewed_by, alert.review_note = timezone.now(), actor, note
    alert.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
    audit.record(
        actor=actor,
        action="payments.chargeback.review",
        target=alert.payment,
        before={"reviewed": False},
        after={"reviewed": True},
        note=note,
    )
    return alert
