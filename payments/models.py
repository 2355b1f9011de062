"""Payments: deposits and withdrawals through payment providers (PSPs), their event
history, the instruments players pay with, and every inbound provider notification.

Amounts are ints of minor units in `currency` (backoffice.money). Money itself moves only
through wallet.services.transaction_post; a payment links to the transactions it posted.
States change only through payments.services (the state machine), which writes one
PaymentEvent per transition."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backoffice.money import format_minor


class Provider(models.TextChoices):
    ADYEN = "adyen", "Adyen"
    TRUSTLY = "trustly", "Trustly"
    ZIMPLER = "zimpler", "Zimpler"
    NUVEI = "nuvei", "Nuvei"
    PAYZ = "payz", "Payz"


def new_reference() -> str:
    # Ours, sent to the provider as the merchant reference and echoed in its notifications:
    # unguessable, short enough for every provider's field (Payz TxID, Trustly MessageID).
    return "PB" + secrets.token_hex(8).upper()


DEPOSIT_STATES = ("initiated", "pending", "succeeded", "failed", "cancelled", "reversed")
WITHDRAWAL_STATES = ("requested", "in_review", "approved", "sent", "paid", "rejected", "failed", "cancelled")


class Payment(models.Model):
    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"

    class State(models.TextChoices):
        # deposits
        INITIATED = "initiated", "Initiated"
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        REVERSED = "reversed", "Reversed"
        # withdrawals (failed and cancelled are shared)
        REQUESTED = "requested", "Requested"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    method = models.CharField(max_length=32, blank=True, default="", help_text="card, visa, trustly, ...")
    payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.BigIntegerField(help_text="Minor units of the currency")
    currency = models.CharField(max_length=3)
    fee = models.BigIntegerField(default=0, help_text="The provider's fee, minor units")
    reference = models.CharField(max_length=32, unique=True, default=new_reference, editable=False)
    provider_reference = models.CharField(max_length=128, blank=True, default="")
    # What the provider answered when the payment started (its session id and the like).
    provider_data = models.JSONField(default=dict, blank=True)
    redirect_url = models.URLField(max_length=1000, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices)
    state_changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    credit_txn = models.OneToOneField(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_txn = models.OneToOneField(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["player", "-created_at"], name="payments_payment_player_idx"),
            models.Index(fields=["provider", "provider_reference"], name="payments_payment_provref_idx"),
            models.Index(fields=["state", "-created_at"], name="payments_payment_state_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="payments_payment_fee_non_negative"),
            models.CheckConstraint(
                condition=Q(kind="deposit", state__in=DEPOSIT_STATES)
                | Q(kind="withdrawal", state__in=WITHDRAWAL_STATES),
                name="payments_payment_state_fits_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"

    def amount_display(self) -> str:
        return format_minor(self.amount, self.currency)


class PaymentEvent(models.Model):
    """One state transition of a payment (append-only: the service only inserts)."""

    class Source(models.TextChoices):
        NOTIFICATION = "notification", "Provider notification"
        OPERATOR = "operator", "Operator"
        API = "api", "Platform API"
        SYSTEM = "system", "System"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, choices=Source.choices)
    notification = models.ForeignKey(
        "payments.Notification", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["payment", "at"], name="payments_event_payment_idx")]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state}"


class PaymentMethod(models.Model):
    """An instrument a player paid with, masked. `fingerprint` is the sha256 of the
    normalised instrument, so the same card or bank account on two players shows up."""

    class Type(models.TextChoices):
        CARD = "card", "Card"
        BANK_ACCOUNT = "bank_account", "Bank account"
        EWALLET = "ewallet", "E-wallet"
        OTHER = "other", "Other"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="payment_methods")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    type = models.CharField(max_length=16, choices=Type.choices)
    brand = models.CharField(max_length=32, blank=True, default="", help_text="visa, mc, SEB ...")
    last_four = models.CharField(max_length=4, blank=True, default="")
    bank = models.CharField(max_length=64, blank=True, default="")
    holder_name = models.CharField(max_length=128, blank=True, default="")
    fingerprint = models.CharField(max_length=64, db_index=True)
    first_used_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_used_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["player", "provider", "fingerprint"], name="payments_method_player_fingerprint_uniq"
            )
        ]

    def __str__(self) -> str:
        tail = f" ****{self.last_four}" if self.last_four else ""
        return f"{self.brand or self.get_type_display()}{tail}"


class Notification(models.Model):
    """One inbound provider delivery, stored raw before anything else happens to it."""

    class Verdict(models.TextChoices):
        UNCHECKED = "unchecked", "Not checked yet"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"
        UNSIGNED = "unsigned", "Unsigned (provider signs nothing)"

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed (error)"
        IGNORED = "ignored", "Ignored"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, default="")
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.UNCHECKED)
    # The provider's notification id, or a key derived from what the notification names
    # (Adyen: eventCode, pspReference, success). Not unique: every retry is stored too.
    idempotency_key = models.CharField(max_length=255, blank=True, default="", db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    outcome = models.TextField(blank=True, default="")
    # Needs an operator's eye: unknown reference, amount mismatch, success after a cancel.
    flagged = models.BooleanField(default=False)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-received_at"], name="payments_notif_state_idx"),
            models.Index(
                fields=["-received_at"], condition=Q(flagged=True), name="payments_notif_flagged_idx"
            ),
        ]
        permissions = [("replay_notification", "Replay the processing of a provider notification")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} notification #{self.pk}"
