"""Players: identity, profile, status, sessions and devices, notes."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_public_id() -> str:
    # What support agents read out on the phone and paste: short, unambiguous, prefixed.
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "P" + "".join(secrets.choice(alphabet) for _ in range(9))


class Player(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"
        BLOCKED = "blocked", "Blocked"

    class Channel(models.TextChoices):
        STANDARD = "standard", "Standard"
        PAY_N_PLAY = "pay_n_play", "Pay N Play"

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    jurisdiction = models.CharField(max_length=2, db_index=True, help_text="ISO 3166-1 alpha-2 market code")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    nationality = models.CharField(max_length=2, blank=True)
    currency = models.CharField(max_length=3)
    language = models.CharField(max_length=8, default="en")
    # The national identity number: encrypted at rest (NATIONAL_ID_KEY), with a keyed hash
    # beside it for exact search. Never shown unmasked without an audited reveal.
    national_id_encrypted = models.TextField(blank=True, editable=False)
    national_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    national_id_last4 = models.CharField(max_length=4, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    registration_channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.STANDARD)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{self.public_id} {name}".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
