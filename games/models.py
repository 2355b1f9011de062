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


class Round(models.Model):
    """One game round as the provider reports it: every bet, win and rollback with the
    same provider round id. Totals are net of rollbacks (a rolled-back bet is not a bet)."""

    provider = models.ForeignKey(GameProvider, on_delete=models.PROTECT, related_name="rounds")
    external_id = models.CharField("round id", max_length=200)
    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="game_rounds")
    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="rounds")
    currency = models.CharField(max_length=3)
    total_bet = models.BigIntegerField(default=0)
    total_win = models.BigIntegerField(default=0)
    # Share of the bets that counts towards bonus wagering (the game's contribution).
    wagering_contributed = models.BigIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="games_round_provider_external_uniq"
            ),
            models.CheckConstraint(
                condition=Q(total_bet__gte=0) & Q(total_win__gte=0), name="games_round_totals"
            ),
        ]
        indexes = [
            models.Index(fields=["player", "-opened_at"], name="games_round_player_idx"),
            models.Index(fields=["game", "opened_at"], name="games_round_game_idx"),
            models.Index(fields=["opened_at"], name="games_round_opened_idx"),
            models.Index(fields=["external_id"], name="games_round_external_idx"),
        ]
        permissions = [("view_game_figures", "See per-game figures (bets, wins, RTP) for a period")]

    def __str__(self) -> str:
        return f"Round {self.external_id}"

    @property
    def net(self) -> int:
        """The house's gross win on the round (bets minus wins)."""
        return self.total_bet - self.total_win


class WalletTransaction(models.Model):
    """One money call of the wallet API (bet, win, rollback) as received and answered.

    It is the idempotency record: (provider, transaction_id) is unique, so a replay finds
    the stored answer, and a rollback of a bet that never arrived inserts the bet's id as
    a tombstone the late bet collides with. It is also the call log the round page shows."""

    class Kind(models.TextChoices):
        BET = "bet", "Bet"
        WIN = "win", "Win"
        ROLLBACK = "rollback", "Rollback"

    provider = models.ForeignKey(GameProvider, on_delete=models.PROTECT, related_name="wallet_transactions")
    transaction_id = models.CharField(max_length=200, help_text="The provider's transaction id.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=32, help_text="The answer's status (OK or the refusal).")
    # A bet id claimed by a rollback that arrived first: the bet, if it comes, is refused.
    tombstone = models.BooleanField(default=False)
    player = models.ForeignKey(
        "players.Player", null=True, blank=True, on_delete=models.PROTECT, related_name="wallet_transactions"
    )
    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.PROTECT, related_name="wallet_transactions"
    )
    game = models.ForeignKey(Game, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True, default="")
    # Bets: the part paid from bonus money (the rest was cash) and the wagering contribution.
    bonus_amount = models.BigIntegerField(default=0)
    wagering_contribution = models.BigIntegerField(default=0)
    reference_transaction_id = models.CharField(max_length=200, blank=True, default="")
    round_closed = models.BooleanField(default=False)
    request_hash = models.CharField(max_length=64, blank=True, default="")
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    ledger_transaction = models.OneToOneField(
        "wallet.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="wallet_call"
    )
    # Bets: the rollback that refunded it (or that found it refused: nothing to refund).
    rolled_back_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rolls_back"
    )
    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "transaction_id"], name="games_wallettxn_provider_txid_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "reference_transaction_id"], name="games_wallettxn_ref_idx"),
            models.Index(fields=["player", "-created_at"], name="games_wallettxn_player_idx"),
            # The console's calls list: newest first, and a transaction id searched without
            # knowing the provider.
            models.Index(fields=["created_at"], name="games_wallettxn_created_idx"),
            models.Index(fields=["transaction_id"], name="games_wallettxn_txid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.transaction_id} {self.status}"
