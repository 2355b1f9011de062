"""Complaints logged by the casino front end or by support. The first piece of the
disputes capability (SLA, resolution, ADR come with it); compliance already reads them as
a marker of harm (MGA PPD: communication, complaints and bonus requests)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Complaint(models.Model):
    class Category(models.TextChoices):
        PAYMENT = "payment", "Payment or withdrawal"
        GAME = "game", "Game or result"
        BONUS = "bonus", "Bonus"
        BONUS_REQUEST = "bonus_request", "Asks for a bonus"
        ACCOUNT = "account", "Account or verification"
        RESPONSIBLE_GAMBLING = "responsible_gambling", "Responsible gambling"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="complaints")
    category = models.CharField(max_length=24, choices=Category.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    channel = models.CharField(max_length=32, help_text="api:<client>, email, phone, chat")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["player", "created_at"], name="complaint_player_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"
