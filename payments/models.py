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
    # Withdrawals: the move from cash to withdrawal-pending, and the settlement (paid out to
    # the provider, or the money returned to cash on cancel, rejection or a failed payout).
    request_txn = models.OneToOneField(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settle_txn = models.OneToOneField(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Where the payment stands, in words, when its state alone does not say it: why a
    # withdrawal is held, that a payout awaits a second approver or an adapter.
    status_note = models.TextField(blank=True, default="")
    # Four-eyes above PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR.
    approval_request = models.ForeignKey(
        "backoffice.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Claimed once (a conditional UPDATE) before the payout is sent: a redelivered task or
    # a second worker never sends the same payout twice.
    payout_claimed_at = models.DateTimeField(null=True, blank=True)

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
        permissions = [
            ("review_withdrawal", "Open the withdrawal queue"),
            ("approve_withdrawal", "Approve or reject a withdrawal (four-eyes above the threshold)"),
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


class WithdrawalCheck(models.Model):
    """One automatic check of a withdrawal with its verdict and reason. Every run of the
    checks inserts a new set (`run`), so a re-check after KYC keeps the earlier verdicts."""

    class Result(models.TextChoices):
        PASS = "pass", "Pass"
        HOLD = "hold", "Hold"
        NOTE = "note", "Note for finance"  # shown in the queue, holds nothing

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="checks")
    run = models.PositiveSmallIntegerField(default=1)
    code = models.CharField(max_length=32)
    result = models.CharField(max_length=8, choices=Result.choices)
    reason = models.TextField()
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["payment", "run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "run", "code"], name="payments_check_run_code_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.result}"


class ProviderSetting(models.Model):
    """A provider in a market: on or off, amount limits, and the fee the provider charges
    us. `market` "" is the default for every market without its own row; no row at all
    means enabled, no limits, no fee. Amounts in minor units of `currency`."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    market = models.CharField(max_length=2, blank=True, default="", help_text="Jurisdiction code; empty: all")
    currency = models.CharField(max_length=3)
    enabled = models.BooleanField(default=True)
    min_deposit = models.BigIntegerField(null=True, blank=True)
    max_deposit = models.BigIntegerField(null=True, blank=True)
    min_withdrawal = models.BigIntegerField(null=True, blank=True)
    max_withdrawal = models.BigIntegerField(null=True, blank=True)
    deposit_fee_fixed = models.BigIntegerField(default=0)
    deposit_fee_bp = models.PositiveIntegerField(default=0, help_text="Basis points: 150 = 1.5%")
    withdrawal_fee_fixed = models.BigIntegerField(default=0)
    withdrawal_fee_bp = models.PositiveIntegerField(default=0, help_text="Basis points: 150 = 1.5%")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["provider", "market", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "market", "currency"], name="payments_provider_setting_uniq"
            ),
            models.CheckConstraint(
                condition=Q(deposit_fee_fixed__gte=0) & Q(withdrawal_fee_fixed__gte=0),
                name="payments_provider_setting_fee_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(deposit_fee_bp__lte=10000) & Q(withdrawal_fee_bp__lte=10000),
                name="payments_provider_setting_fee_bp_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.market or 'all markets'} {self.currency}"


class ReconciliationRun(models.Model):
    """One imported settlement report, matched against our payments; its lines are kept."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    file_name = models.CharField(max_length=255)
    period_from = models.DateField()
    period_to = models.DateField()
    rows = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("reconcile", "Import a provider's settlement report and reconcile it")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.period_from}..{self.period_to} (#{self.pk})"


class ReconciliationLine(models.Model):
    class Result(models.TextChoices):
        MATCHED = "matched", "Matched"
        MISSING_OURS = "missing_ours", "Missing on our side"
        MISSING_THEIRS = "missing_theirs", "Missing on theirs"
        AMOUNT_MISMATCH = "amount_mismatch", "Amount mismatch"
        CURRENCY_MISMATCH = "currency_mismatch", "Currency mismatch"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="lines")
    result = models.CharField(max_length=20, choices=Result.choices, db_index=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    provider_reference = models.CharField(max_length=128, blank=True, default="")
    merchant_reference = models.CharField(max_length=128, blank=True, default="")
    report_type = models.CharField(max_length=64, blank=True, default="")
    report_amount = models.BigIntegerField(null=True, blank=True)
    report_currency = models.CharField(max_length=3, blank=True, default="")
    our_amount = models.BigIntegerField(null=True, blank=True)
    our_currency = models.CharField(max_length=3, blank=True, default="")
    row = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "result"], name="payments_recon_line_result_idx")]

    def __str__(self) -> str:
        return f"{self.get_result_display()} {self.provider_reference or self.merchant_reference}"


class ChargebackAlert(models.Model):
    """Finance reviews every chargeback: what came from the player, what was lost, and
    whether the player (suspended pending review) may be reactivated."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="chargeback_alert")
    amount = models.BigIntegerField()
    from_player = models.BigIntegerField()
    lost = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["-created_at"], condition=Q(reviewed_at__isnull=True), name="payments_cb_open_idx"
            )
        ]
        permissions = [("review_chargeback", "Mark a chargeback as reviewed")]

    def __str__(self) -> str:
        return f"Chargeback on {self.payment_id}"


class PayNPlaySession(models.Model):
    """A Pay N Play deposit started without an account, kept until the bank tells us who
    pays (Trustly kyc, Zimpler's KYC callback). A Payment needs its player, so the amount,
    the market and the limits the visitor asked for wait here, durably; the identity then
    finds or registers the player and creates the Payment under the same reference."""

    class State(models.TextChoices):
        STARTED = "started", "Waiting for the bank identity"
        IDENTIFIED = "identified", "Identified (payment created)"
        REFUSED = "refused", "Refused"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "The provider could not start it"

    # Ours, sent to the provider and echoed back; becomes the Payment's reference.
    reference = models.CharField(max_length=32, unique=True, default=new_reference, editable=False)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_reference = models.CharField(max_length=128, blank=True, default="")
    provider_data = models.JSONField(default=dict, blank=True)
    redirect_url = models.URLField(max_length=1000, blank=True, default="")
    jurisdiction = models.CharField(max_length=2, help_text="The market the deposit started in")
    amount = models.BigIntegerField(help_text="Minor units of the currency")
    currency = models.CharField(max_length=3)
    # Limits the player asked for at the start ([{"kind", "period", "amount"}], amounts in
    # minor units, minutes for session), set at registration before the deposit gate.
    limits = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.STARTED)
    # The decision's code when identified or refused (ok, underage, self_excluded, ...).
    code = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)
    player = models.ForeignKey(
        "players.Player", null=True, blank=True, on_delete=models.PROTECT, related_name="paynplay_sessions"
    )
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="paynplay_session"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "Pay N Play session"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_pnp_amount_positive"),
            # Identified means the payment exists; nothing else has one.
            models.CheckConstraint(
                condition=Q(state="identified", payment__isnull=False, player__isnull=False)
                | (~Q(state="identified") & Q(payment__isnull=True)),
                name="payments_pnp_payment_iff_identified",
            ),
        ]

    def __str__(self) -> str:
        return f"Pay N Play {self.reference}"

    def amount_display(self) -> str:
        return format_minor(self.amount, self.currency)
