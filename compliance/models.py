"""Jurisdictions and their rules, as data with their legal source.

A rule is never edited in place: a change is a new version with the date it takes effect,
so "what did the rule say on 3 March?" always has an answer (regulators ask)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .catalog import KEY_CHOICES


class Jurisdiction(models.Model):
    code = models.CharField(max_length=2, unique=True, help_text="ISO 3166-1 alpha-2")
    name = models.CharField(max_length=100)
    regulator = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3, help_text="Players' default currency in this market")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        permissions = [("change_jurisdiction_rules", "Change jurisdiction rules")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class JurisdictionRule(models.Model):
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="rules")
    key = models.CharField(max_length=64, choices=KEY_CHOICES)
    value = models.JSONField()
    source = models.TextField(
        help_text="The legal source: regulation, article, URL; 'secondary' if unconfirmed"
    )
    effective_from = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["jurisdiction__code", "key", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "key", "effective_from"], name="rule_one_version_per_instant"
            )
        ]
        indexes = [models.Index(fields=["jurisdiction", "key", "-effective_from"], name="rule_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code} {self.key} = {self.value}"


class PlayerLimit(models.Model):
    """A responsible-gambling limit. A decrease takes effect at once; an increase (or a
    removal) waits for the jurisdiction's cooling-off and is PENDING until then. Rows are
    kept when superseded: the limit history is evidence."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        LOSS = "loss", "Loss"
        WAGER = "wager", "Wager"
        SESSION = "session", "Session time"

    class Period(models.TextChoices):
        DAY = "day", "Day"
        WEEK = "week", "Week"
        MONTH = "month", "Month"

    class Status(models.TextChoices):
        ACTIVE = "active", "In force"
        PENDING = "pending", "Pending (cooling-off)"
        SUPERSEDED = "superseded", "Superseded"
        CANCELLED = "cancelled", "Cancelled"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="limits")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    period = models.CharField(max_length=8, choices=Period.choices)
    # Minor units of the player's currency; minutes for session limits. NULL: no limit
    # (a pending removal).
    amount = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    effective_at = models.DateTimeField()
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=64, help_text="api:<client>, operator, or system")
    rule_note = models.CharField(max_length=300, blank=True, help_text="Which rule set the effective time")

    class Meta:
        ordering = ["player", "kind", "period", "-requested_at"]
        indexes = [
            models.Index(fields=["player", "status"], name="limit_player_status_idx"),
            models.Index(fields=["status", "effective_at"], name="limit_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["player", "kind", "period"],
                condition=models.Q(status="active"),
                name="limit_one_active",
            ),
            models.UniqueConstraint(
                fields=["player", "kind", "period"],
                condition=models.Q(status="pending"),
                name="limit_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="limit_amount_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.player_id} {self.kind}/{self.period} {self.amount} ({self.status})"


class Exclusion(models.Model):
    """A time-out or self-exclusion. While in force the player cannot play, deposit, take
    a bonus or receive marketing; they may withdraw. Applies to all brands."""

    class Kind(models.TextChoices):
        TIMEOUT = "timeout", "Time-out"
        SELF_EXCLUSION = "self_exclusion", "Self-exclusion"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="exclusions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: indefinite")
    all_brands = models.BooleanField(default=True)
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Lifting: a written request, the jurisdiction's waiting period, a four-eyes approval.
    lift_requested_at = models.DateTimeField(null=True, blank=True)
    lift_request_text = models.TextField(blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True, help_text="When the lift takes effect")
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["player", "starts_at"], name="exclusion_player_idx")]
        permissions = [("lift_exclusion", "Request or approve lifting an exclusion")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.player_id} from {self.starts_at:%Y-%m-%d}"

    @property
    def indefinite(self) -> bool:
        return self.ends_at is None

    def in_force(self, at=None) -> bool:
        at = at or timezone.now()
        if self.starts_at > at:
            return False
        if self.lifted_at is not None and self.lifted_at <= at:
            return False
        return self.ends_at is None or self.ends_at > at


class NationalRegisterImport(models.Model):
    """One import of a national exclusion register's file (Spelpaus, GAMSTOP, OASIS).
    The real services need operator credentials; until they are configured the register
    is the last imported file. Each import replaces the previous list."""

    register = models.CharField(max_length=16, db_index=True)
    file_name = models.CharField(max_length=200)
    entries = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.register} {self.imported_at:%Y-%m-%d %H:%M} ({self.entries})"


class NationalRegisterEntry(models.Model):
    """A person on a register, by the keyed hash of their national id (never in clear)."""

    register_import = models.ForeignKey(NationalRegisterImport, on_delete=models.CASCADE, related_name="+")
    register = models.CharField(max_length=16)
    national_id_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["register", "national_id_hash"], name="register_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.register}:{self.national_id_hash[:8]}…"


class KycLevel(models.IntegerChoices):
    NONE = 0, "None"
    BASIC = 1, "Basic identity"
    FULL = 2, "Full (identity + address)"
    ENHANCED = 3, "Enhanced (+ source of funds/wealth)"


class KycProfile(models.Model):
    """A player's verification level and any open requirement (the CDD meter opens one
    when accrued deposits cross the threshold; high risk requires enhanced)."""

    player = models.OneToOneField("players.Player", on_delete=models.PROTECT, related_name="kyc")
    level = models.PositiveSmallIntegerField(choices=KycLevel.choices, default=KycLevel.NONE)
    verified_by_bank = models.BooleanField(
        default=False, help_text="Basic identity from Pay N Play bank data"
    )
    required_level = models.PositiveSmallIntegerField(choices=KycLevel.choices, default=KycLevel.NONE)
    required_reason = models.CharField(max_length=300, blank=True)
    required_since = models.DateTimeField(null=True, blank=True)
    required_due = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.player_id}: {self.get_level_display()}"

    @property
    def requirement_open(self) -> bool:
        return self.required_level > self.level


class KycDocument(models.Model):
    class Type(models.TextChoices):
        PASSPORT = "passport", "Passport"
        ID_CARD = "id_card", "ID card"
        DRIVING_LICENCE = "driving_licence", "Driving licence"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
        SOURCE_OF_FUNDS = "source_of_funds", "Source of funds"
        SELFIE = "selfie", "Selfie"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        REPLACEMENT_REQUESTED = "replacement_requested", "Another document requested"

    class Reason(models.TextChoices):
        UNREADABLE = "unreadable", "Unreadable or cut off"
        EXPIRED = "expired", "Expired"
        MISMATCH = "mismatch", "Does not match the player's data"
        WRONG_TYPE = "wrong_type", "Not the document asked for"
        SUSPECTED_FORGERY = "suspected_forgery", "Suspected forgery"
        OLDER_THAN_3_MONTHS = "older_than_3_months", "Proof of address older than 3 months"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="kyc_documents")
    document_type = models.CharField(max_length=20, choices=Type.choices)
    # Stored outside MEDIA_ROOT's public URL (KYC_STORAGE_DIR); served only through an
    # audited console view.
    storage_name = models.CharField(max_length=200, editable=False)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)
    uploaded_via = models.CharField(max_length=64)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason_code = models.CharField(max_length=24, choices=Reason.choices, blank=True)
    decision_note = models.TextField(blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Identity documents: expiry date")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    expiry_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [models.Index(fields=["status", "uploaded_at"], name="kyc_queue_idx")]
        permissions = [
            ("decide_kyc_document", "Approve or reject KYC documents"),
            ("view_kyc_document_file", "Open a KYC document's file"),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} of {self.player_id} ({self.get_status_display()})"

    IDENTITY_TYPES = ("passport", "id_card", "driving_licence")


class RgAlert(models.Model):
    """A marker of harm found by the scheduled scan. Natural key (player, marker, window
    start): a re-run or a retried task never duplicates an alert."""

    class Marker(models.TextChoices):
        DEPOSIT_FREQUENCY = "deposit_frequency", "Deposit frequency rising"
        DEPOSIT_AMOUNT = "deposit_amount", "Deposit amounts rising"
        REVERSED_WITHDRAWALS = "reversed_withdrawals", "Reversed withdrawals"
        NIGHT_PLAY = "night_play", "Night-time play"
        MANY_PAYMENT_METHODS = "many_payment_methods", "Many payment methods"
        CHASING_AFTER_LIMIT = "chasing_after_limit", "Losses chased after a limit"
        COMPLAINTS = "complaints", "Complaints and bonus requests"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FOLLOW_UP = "follow_up", "Follow-up due"
        CLOSED = "closed", "Closed"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="rg_alerts")
    marker = models.CharField(max_length=32, choices=Marker.choices)
    window_start = models.DateField()
    window_end = models.DateField()
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["player", "marker", "window_start"], name="rg_alert_natural_key")
        ]
        permissions = [("work_rg_alert", "Record RG interactions and close RG alerts")]

    def __str__(self) -> str:
        return f"{self.get_marker_display()} — {self.player_id} ({self.window_start})"


class RgInteraction(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        CHAT = "chat", "Live chat"
        IN_APP = "in_app", "In-app message"

    class Outcome(models.TextChoices):
        NO_CONCERN = "no_concern", "No concern after contact"
        INFORMED = "informed", "Player informed about tools"
        LIMIT_AGREED = "limit_agreed", "Limit agreed"
        TIMEOUT = "timeout", "Time-out taken"
        SELF_EXCLUSION = "self_exclusion", "Self-exclusion taken"
        NO_ANSWER = "no_answer", "No answer"
        ESCALATED = "escalated", "Escalated to compliance"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="rg_interactions")
    alert = models.ForeignKey(
        RgAlert, null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    summary = models.TextField(help_text="What was said")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    follow_up_on = models.DateField(null=True, blank=True)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.created_at:%Y-%m-%d}: {self.get_outcome_display()}"


from .aml.case_models import (  # noqa: E402,F401  (AML cases and STRs belong to this app)
    AmlCase,
    AmlCaseAlert,
    AmlCaseAttachment,
    AmlCaseNote,
    StrReport,
)
from .aml.models import (  # noqa: E402,F401
    AmlAlert,
    AmlRuleConfig,
    AmlScanRun,
    RiskFactorConfig,
    RiskLevel,
    RiskScore,
    Severity,
)
from .screening.models import (  # noqa: E402,F401  (screening's models belong to this app)
    ScreeningMatch,
    WatchList,
    WatchlistEntry,
    WatchlistToken,
    WatchlistVersion,
)
