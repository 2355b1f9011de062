from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class GameProvider(models.Model):
    """A game aggregator or studio that calls the wallet API. Its HMAC secret is stored
    encrypted (games/crypto.py); after a rotation the previous one keeps working until
    `previous_secret_expires_at`, so the provider can switch without a failed spin."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    allowed_ips = models.TextField(
        blank=True,
        default="",
        help_text="Optional: IP addresses or CIDR ranges, one a line or comma-separated.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        permissions = [("rotate_provider_secret", "Can rotate a game provider's secret")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Game(models.Model):
    class Category(models.TextChoices):
        SLOTS = "slots", "Slots"
        LIVE = "live", "Live casino"
        TABLE = "table", "Table games"
        CRASH = "crash", "Crash"

    provider = models.ForeignKey(GameProvider, on_delete=models.PROTECT, related_name="games")
    external_code = models.CharField(max_length=100, help_text="The provider's own id for the game.")
    # What the wallet API receives as game_code: "<provider code>:<external code>".
    code = models.CharField(max_length=170, unique=True, editable=False)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=16, choices=Category.choices)
    rtp = models.DecimalField(
        "theoretical RTP (%)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    wagering_contribution = models.PositiveSmallIntegerField(
        "wagering contribution (%)",
        default=100,
        validators=[MaxValueValidator(100)],
        help_text="Share of a bet that counts towards a bonus's wagering requirement.",
    )
    markets = models.JSONField(
        default=list, blank=True, help_text="Country codes where the game may be offered; empty: none."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider__code", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_code"], name="games_game_provider_external_uniq"
            ),
            models.CheckConstraint(condition=Q(rtp__gte=0) & Q(rtp__lte=100), name="games_game_rtp_range"),
            models.CheckConstraint(
                condition=Q(wagering_contribution__gte=0) & Q(wagering_contribution__lte=100),
                name="games_game_contribution_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.code})"

    @staticmethod
    def code_for(provider_code: str, external_code: str) -> str:
        return f"{provider_code}:{external_code}"


class GameSession(models.Model):
    """A launch token for one player in one game. The aggregator presents the token to
    authenticate and bet; wins and rollbacks are accepted after it expires."""

    token = models.CharField(max_length=64, unique=True, editable=False)
    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="game_sessions")
    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="sessions")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    started_via = models.CharField(max_length=100, help_text="api:<client>")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["player", "-created_at"], name="games_session_player_idx")]

    def __str__(self) -> str:
        return f"{self.player_id} in {self.game_id} until {self.expires_at:%H:%M}"
