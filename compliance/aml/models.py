"""AML rule settings, the alerts the rules raise and the scan runs that raise them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Severity(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


class AmlRuleConfig(models.Model):
    """A rule's parameters as data: the code lives in compliance.aml.rules, keyed by `code`.
    Compliance officers edit these in the console (audited by aml_rule_config_update)."""

    code = models.CharField(max_length=48, unique=True)
    title = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    params = models.JSONField(default=dict, help_text="Thresholds in EUR minor units, windows in days")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "AML rule"

    def __str__(self) -> str:
        return self.title or self.code


class AmlScanRun(models.Model):
    """One scan. Counts are written in the same transaction as each rule's alerts, and the
    watermark only when the run is done, so a killed worker leaves a run that is failed
    (or still 'running' until the next scan marks it abandoned) and never half-counted;
    the next scan starts from the last done run's watermark."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED, db_index=True)
    full = models.BooleanField(
        default=False, help_text="Every player, not only those active since the watermark"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since_watermark = models.JSONField(
        default=dict, blank=True, help_text="The watermark this run started from"
    )
    watermark = models.JSONField(
        default=dict, blank=True, help_text="Max posting and payment method ids covered"
    )
    players_in_scope = models.IntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Alerts created per rule")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "AML scan run"
        constraints = [
            # One scan at a time: the claim is this insert.
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="running"), name="aml_scan_one_running"
            )
        ]
        permissions = [("run_aml_scan", "Start an AML scan")]

    def __str__(self) -> str:
        return f"AML scan #{self.pk} {self.state}"

    @property
    def alerts_created(self) -> int:
        return sum(self.counts.values())


class AmlAlert(models.Model):
    """A rule fired for a player. Natural key (rule, player, window key): a re-run or a
    retried task never duplicates an alert."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    rule = models.CharField(max_length=48)
    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="aml_alerts")
    window_key = models.CharField(max_length=80)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    scan_run = models.ForeignKey(
        AmlScanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-severity", "created_at", "id"]
        verbose_name = "AML alert"
        constraints = [
            models.UniqueConstraint(fields=["rule", "player", "window_key"], name="aml_alert_natural_key")
        ]
        indexes = [models.Index(fields=["status", "-severity", "created_at"], name="aml_alert_queue_idx")]
        permissions = [("work_aml_alert", "Work and close AML alerts")]

    def __str__(self) -> str:
        return f"AML {self.rule} — player {self.player_id} ({self.window_key})"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RiskFactorConfig(models.Model):
    """A risk factor's weight and parameters as data (the code lives in compliance.risk,
    keyed by `code`). The row `levels` holds the level thresholds in `params`."""

    code = models.CharField(max_length=32, unique=True)
    weight = models.PositiveSmallIntegerField(default=0, help_text="Points when the factor is fully present")
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "risk factor"

    def __str__(self) -> str:
        return self.code


class RiskScore(models.Model):
    """A player's risk score history: a row only when the score or the level changed."""

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="risk_scores")
    score = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=8, choices=RiskLevel.choices)
    factors = models.JSONField(default=dict, help_text="Per-factor value, weight and points")
    computed_at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=48)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["player", "-computed_at", "-id"], name="risk_score_player_idx")]

    def __str__(self) -> str:
        return f"{self.player_id}: {self.score} ({self.level})"


class HighRiskCountryQuerySet(models.QuerySet):
    def in_force(self, day) -> "HighRiskCountryQuerySet":
        """The listings in force on `day`: from effective_from (inclusive) until effective_to
        (exclusive; open-ended while empty)."""
        return self.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day), effective_from__lte=day)


class HighRiskCountry(models.Model):
    """One FATF listing of one country: "black" (high-risk jurisdictions subject to a call
    for action) or "grey" (jurisdictions under increased monitoring), with the dates it is in
    force and the public statement it comes from. Rows are never rewritten: a delisting sets
    effective_to, a new statement adds rows. The compliance team keeps this current after each
    FATF plenary (February, June, October) with a data migration (docs/compliance.md)."""

    class List(models.TextChoices):
        CALL_FOR_ACTION = "call_for_action", "Call for action (black list)"
        INCREASED_MONITORING = "increased_monitoring", "Increased monitoring (grey list)"

    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    list = models.CharField(max_length=24, choices=List.choices)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Delisted from this day; empty: listed")
    source = models.CharField(max_length=200, help_text="The FATF public statement and its date")
    source_url = models.URLField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = HighRiskCountryQuerySet.as_manager()

    class Meta:
        ordering = ["list", "country", "-effective_from"]
        verbose_name = "FATF high-risk country"
        verbose_name_plural = "FATF high-risk countries"
        constraints = [
            models.UniqueConstraint(
                fields=["country", "list", "effective_from"], name="high_risk_country_listing"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=models.F("effective_from")),
                name="high_risk_country_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} ({self.get_list_display()}, from {self.effective_from})"
