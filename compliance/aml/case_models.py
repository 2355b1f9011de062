"""AML cases (alerts grouped for investigation, with notes, attachments, linked players and
transactions, an SLA and a decision) and the suspicious transaction reports (goAML STR)
built from them. Writes go through compliance.aml.cases."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .models import Severity


class AmlCase(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DECIDED = "decided", "Decided: STR to file"
        CLOSED = "closed", "Closed"

    class Decision(models.TextChoices):
        FALSE_POSITIVE = "false_positive", "False positive"
        KEEP_MONITORING = "keep_monitoring", "Keep monitoring"
        EDD = "edd", "Enhanced due diligence"
        EXIT_RELATIONSHIP = "exit_relationship", "Exit the relationship"
        FILE_STR = "file_str", "File an STR"

    # "AML-2026-000123": the year it was opened and the id (set by case_open).
    reference = models.CharField(max_length=24, unique=True, null=True, blank=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sla_due_at = models.DateTimeField(help_text="Decision due by (AML_CASE_SLA_DAYS by severity)")
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True, default="")
    decision_reason = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    players = models.ManyToManyField("players.Player", related_name="aml_cases", blank=True)
    transactions = models.ManyToManyField("wallet.Transaction", related_name="aml_cases", blank=True)

    class Meta:
        ordering = ["-severity", "sla_due_at", "id"]
        verbose_name = "AML case"
        indexes = [models.Index(fields=["status", "sla_due_at"], name="aml_case_queue_idx")]
        constraints = [
            # A decided or closed case has its decision; an open one has none.
            models.CheckConstraint(
                condition=Q(status="open", decision="") | (~Q(status="open") & ~Q(decision="")),
                name="aml_case_decision_shape",
            )
        ]
        permissions = [
            ("decide_aml_case", "Decide an AML case"),
            ("file_str", "Mark a suspicious transaction report filed with the FIU (MLRO)"),
        ]

    def __str__(self) -> str:
        # Only the reference: a case's title names players, and str() ends up in audit
        # events (target_repr) that roles without access to cases read.
        return self.reference or f"case #{self.pk}"

    @property
    def overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.sla_due_at < timezone.now()


class AmlCaseAlert(models.Model):
    """An alert grouped into a case. One-to-one on the alert: an alert belongs to at most
    one case, whoever writes."""

    case = models.ForeignKey(AmlCase, on_delete=models.PROTECT, related_name="alert_links")
    alert = models.OneToOneField("compliance.AmlAlert", on_delete=models.PROTECT, related_name="case_link")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"alert {self.alert_id} in case {self.case_id}"


class AmlCaseNote(models.Model):
    case = models.ForeignKey(AmlCase, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class AmlCaseAttachment(models.Model):
    """A file kept outside any public URL (AML_CASE_STORAGE_DIR), served to permitted
    roles by a view that audits each download."""

    case = models.ForeignKey(AmlCase, on_delete=models.PROTECT, related_name="attachments")
    storage_name = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class StrReport(models.Model):
    """One generated goAML report for a case. Draft: failed the schema (errors kept);
    validated: may be downloaded and filed; filed: the FIU's reference recorded."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (invalid)"
        VALIDATED = "validated", "Validated"
        FILED = "filed", "Filed"

    case = models.ForeignKey(AmlCase, on_delete=models.PROTECT, related_name="str_reports")
    xml = models.TextField()
    valid = models.BooleanField(default=False)
    schema_errors = models.JSONField(default=list, blank=True)
    schema_version = models.CharField(max_length=32, blank=True, default="")
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    fiu_reference = models.CharField(max_length=100, blank=True, default="")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-generated_at", "-id"]
        verbose_name = "STR report"
        constraints = [
            # A case is reported once.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="filed"), name="str_one_filed_per_case"
            ),
            models.CheckConstraint(
                condition=~Q(status="filed") | (Q(valid=True) & ~Q(fiu_reference="")),
                name="str_filed_is_valid_with_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"STR #{self.pk} ({self.get_status_display()})"
