"""Players: identity, profile, status, sessions and devices, notes."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
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
    email = models.EmailField(blank=True)  # stored lower-case (services normalise)
    phone = models.CharField(max_length=32, blank=True, db_index=True)  # "+<digits>" (services normalise)
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
    # "first last email" in lower case, kept by the services: the one column the
    # free-text search reads (a pg_trgm GIN index on PostgreSQL, migration 0003).
    search_text = models.CharField(max_length=400, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="player_recent_idx")]
        constraints = [
            # One account per email address; Pay N Play players may have none yet.
            # The partial unique index also serves exact email search.
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="player_email_unique"),
        ]
        permissions = [
            ("view_player_pii", "See a player's phone, address, date of birth and masked national id"),
            ("reveal_national_id", "Reveal a player's national identity number (audited)"),
            ("change_player_status", "Suspend and reactivate players"),
            ("close_player", "Close player accounts"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{self.public_id} {name}".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def national_id_masked(self) -> str:
        return f"••••{self.national_id_last4}" if self.national_id_last4 else ""

    def build_search_text(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name, self.email) if p).lower()[:400]


class PlayerConsent(models.Model):
    """A player's current marketing consent on one channel: when and where it was given
    or withdrawn. Every change is also in the audit log (before/after)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        PHONE = "phone", "Phone"

    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    granted = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(
        max_length=100, help_text='Where it came from: "registration", "api:frontend"...'
    )

    class Meta:
        ordering = ["channel"]
        constraints = [models.UniqueConstraint(fields=["player", "channel"], name="consent_one_per_channel")]

    def __str__(self) -> str:
        return f"{self.channel}: {'yes' if self.granted else 'no'}"


class PlayerSession(models.Model):
    """A login session reported by the casino front end (login, then logout)."""

    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    device_id = models.CharField(max_length=128, blank=True)
    reported_by = models.CharField(max_length=100, blank=True, help_text='"api:<client>" or an operator')

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["player", "-started_at"], name="session_player_idx"),
            models.Index(fields=["ip"], name="session_ip_idx"),
            models.Index(fields=["device_id"], name="session_device_idx"),
            # The dashboard's "active players now" reads the last minutes' sessions.
            models.Index(fields=["started_at"], name="session_started_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="session_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of player {self.player_id}"

    @property
    def duration(self):
        return self.ended_at - self.started_at if self.ended_at else None


class PlayerNote(models.Model):
    """An operator's note on a player. Pinned notes are shown first."""

    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pinned", "-created_at", "-id"]
        indexes = [models.Index(fields=["player", "-pinned", "-created_at"], name="note_player_idx")]

    def __str__(self) -> str:
        return f"note {self.pk} on player {self.player_id}"
