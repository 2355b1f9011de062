"""The double-entry ledger: accounts, transactions and their postings.

Amounts are ints of minor units in the account's currency (backoffice.money). A
transaction's postings sum to zero per currency; postings and transactions are never
changed or deleted (a correction is a reversing transaction). On PostgreSQL the
database enforces both (migration 0002); `manage.py ledger_verify` proves the rest."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backoffice.money import format_minor

# The account kinds that belong to a player and carry a stored balance.
PLAYER_KINDS = ("player_cash", "player_bonus", "player_withdrawal_pending")


class Account(models.Model):
    class Kind(models.TextChoices):
        PLAYER_CASH = "player_cash", "Player cash"
        PLAYER_BONUS = "player_bonus", "Player bonus"
        PLAYER_WITHDRAWAL_PENDING = "player_withdrawal_pending", "Player withdrawal pending"
        HOUSE_PSP = "house_psp", "House: payment provider"
        HOUSE_GAME_PROVIDER = "house_game_provider", "House: game provider"
        HOUSE_BONUS_EXPENSE = "house_bonus_expense", "House: bonus expense"
        HOUSE_ADJUSTMENTS = "house_adjustments", "House: manual adjustments"
        HOUSE_CHARGEBACK_LOSSES = "house_chargeback_losses", "House: chargeback losses"
        HOUSE_FEES = "house_fees", "House: fees"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    player = models.ForeignKey(
        "players.Player", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    # House accounts: which PSP or game provider ("trustly", "evolution"); "" for the
    # single house account of a kind.
    code = models.CharField(max_length=64, blank=True, default="")
    # Player accounts only: a cache of the sum of postings that every posting updates (and
    # ledger_verify proves). NULL on house accounts: a house row updated per bet would
    # serialise the whole casino on one row lock; their balance is the sum of postings.
    balance = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "code", "currency", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["player", "kind", "currency"],
                condition=Q(player__isnull=False),
                name="wallet_account_player_kind_currency_uniq",
            ),
            models.UniqueConstraint(
                fields=["kind", "code", "currency"],
                condition=Q(player__isnull=True),
                name="wallet_account_house_kind_code_currency_uniq",
            ),
            # Invariant 3: a player account never goes below zero, whoever writes.
            models.CheckConstraint(
                condition=Q(balance__isnull=True) | Q(balance__gte=0),
                name="wallet_account_balance_non_negative",
            ),
            # Player kinds have a player and a stored balance; house kinds have neither.
            models.CheckConstraint(
                condition=(
                    Q(kind__in=PLAYER_KINDS, player__isnull=False, balance__isnull=False)
                    | (~Q(kind__in=PLAYER_KINDS) & Q(player__isnull=True, balance__isnull=True))
                ),
                name="wallet_account_kind_shape",
            ),
        ]
        permissions = [
            ("view_player_balances", "See a player's balances"),
            ("view_player_statement", "See a player's statement"),
            ("export_statement", "Export a player's statement as CSV"),
        ]

    def __str__(self) -> str:
        if self.player_id:
            return f"{self.get_kind_display()} {self.currency} (player #{self.player_id})"
        code = f" {self.code}" if self.code else ""
        return f"{self.get_kind_display()}{code} {self.currency}"

    @property
    def is_player(self) -> bool:
        return self.kind in PLAYER_KINDS


class Transaction(models.Model):
    class Kind(models.TextChoices):
        ADJUSTMENT = "adjustment", "Manual adjustment"
        REVERSAL = "reversal", "Reversal"
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL_REQUEST = "withdrawal_request", "Withdrawal requested"
        WITHDRAWAL = "withdrawal", "Withdrawal paid out"
        WITHDRAWAL_CANCEL = "withdrawal_cancel", "Withdrawal cancelled"
        BET = "bet", "Bet"
        WIN = "win", "Win"
        ROLLBACK = "rollback", "Bet rolled back"
        BONUS = "bonus", "Bonus granted"
        BONUS_CONVERSION = "bonus_conversion", "Bonus converted to cash"
        BONUS_FORFEIT = "bonus_forfeit", "Bonus forfeited"
        CHARGEBACK = "chargeback", "Chargeback"
        FEE = "fee", "Fee"
        TRANSFER = "transfer", "Transfer"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Invariant 5: a key posts at most once. The caller's natural key ("hub88:bet:123").
    idempotency_key = models.CharField(max_length=200, unique=True)
    # sha256 of the request's content (kind, legs, reference, reverses): a replay with
    # the same key but different content is refused rather than answered.
    request_hash = models.CharField(max_length=64)
    reference = models.CharField(max_length=200, blank=True, default="", db_index=True)
    metadata = models.JSONField(default=dict, blank=True)
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # OneToOne, so unique: a transaction is reversed at most once, even under a race.
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("post_adjustment", "Post a manual ledger adjustment (four-eyes above the threshold)"),
            ("approve_adjustment", "Approve another operator's manual ledger adjustment"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.reference}".strip()


class Posting(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings")
    # No single-column index: the (account, created_at, id) index below covers it.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = models.BigIntegerField()  # signed, minor units of the account's currency
    # The player account's balance right after this posting (NULL for house accounts).
    balance_after = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Ledger order is id order: a player account's ids are drawn after its row lock.
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "created_at", "id"], name="wallet_posting_statement_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="wallet_posting_amount_non_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} on account #{self.account_id} (txn #{self.transaction_id})"

    def amount_display(self) -> str:
        return format_minor(self.amount, self.account.currency)


class LedgerVerifyRun(models.Model):
    """One run of the ledger invariant checks (nightly by beat, or "Run now")."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed (error)"

    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    violations = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("run_ledger_verify", "Run the ledger verification now")]

    def __str__(self) -> str:
        return f"Ledger verify #{self.pk} {self.state}"
