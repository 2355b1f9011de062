"""Reporting read models: FX rates and the rollups Celery keeps (reports/rollups.py).

Rollups are derived data: every row can be recomputed from the ledger, the players,
the game calls and the payments (`manage.py rebuild_rollups`). Money columns are ints of
minor units in the row's `currency`; each has an `_eur` twin in euro cents, NULL when no
FX rate was known for the day (reported, never guessed as 1.0). Days are calendar days
in settings.REPORTS_TIMEZONE; hours are that zone's wall-clock hours (docs/reports.md)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class FxRate(models.Model):
    """A daily reference rate: how many units of `currency` one euro buys (the ECB's
    convention, "1 EUR = 11.4 SEK"). A day without its own rate uses the latest earlier one."""

    date = models.DateField()
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8, help_text="Units of the currency per 1 EUR")
    source = models.CharField(max_length=100, help_text='Where it came from: "ecb", "sample", a file name')
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "currency"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(fields=["date", "currency"], name="reports_fxrate_date_currency_uniq"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="reports_fxrate_rate_positive"),
        ]
        # The lookup is "latest rate on or before a day" per currency.
        indexes = [models.Index(fields=["currency", "-date"], name="reports_fxrate_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.date} 1 EUR = {self.rate} {self.currency}"


class RollupDay(models.Model):
    """One reporting day's rollup state: when it was last computed, whether it is final
    (the nightly finalise ran after the day ended), and the FX rates it lacked. Its row
    is locked while the day is recomputed, so two workers never interleave one day."""

    day = models.DateField(unique=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    final = models.BooleanField(default=False)
    finalised_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Currencies that had no rate on or before the day: [{"currency": "NOK"}, ...].
    missing_rates = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-day"]
        permissions = [("rebuild_rollups", "Recompute the reporting rollups for a date range")]

    def __str__(self) -> str:
        return f"Rollup {self.day}{' (final)' if self.final else ''}"


class _MarketFigures(models.Model):
    """The additive market figures, shared by the hourly and the daily rows."""

    market = models.CharField(max_length=2, help_text="The player's jurisdiction")
    currency = models.CharField(max_length=3)
    registrations = models.PositiveIntegerField(default=0)
    ftd_count = models.PositiveIntegerField("first-time depositors", default=0)
    deposits_count = models.PositiveIntegerField(default=0)
    deposits_amount = models.BigIntegerField(default=0)
    withdrawals_count = models.PositiveIntegerField(default=0)
    withdrawals_amount = models.BigIntegerField(default=0)
    bets = models.BigIntegerField(default=0)
    wins = models.BigIntegerField(default=0)
    ggr = models.BigIntegerField("GGR", default=0)
    bonus_cost = models.BigIntegerField(default=0)
    ngr = models.BigIntegerField("NGR", default=0)
    deposits_amount_eur = models.BigIntegerField(null=True, blank=True)
    withdrawals_amount_eur = models.BigIntegerField(null=True, blank=True)
    bets_eur = models.BigIntegerField(null=True, blank=True)
    wins_eur = models.BigIntegerField(null=True, blank=True)
    ggr_eur = models.BigIntegerField(null=True, blank=True)
    bonus_cost_eur = models.BigIntegerField(null=True, blank=True)
    ngr_eur = models.BigIntegerField(null=True, blank=True)
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class MarketHour(_MarketFigures):
    """A market's figures for one wall-clock hour: what "today so far against yesterday at
    the same time" reads. `new_active_players` counts players whose first bet of the day
    fell in this hour, so the hours up to h sum to the day's distinct active players so far."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    new_active_players = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "-hour", "market", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "hour", "market", "currency"], name="reports_markethour_key_uniq"
            ),
            models.CheckConstraint(condition=Q(hour__lte=23), name="reports_markethour_hour_range"),
        ]
        indexes = [models.Index(fields=["day", "hour"], name="reports_markethour_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}h {self.market} {self.currency}"


class DailyMarket(_MarketFigures):
    """A day's figures per market and currency, with the gaming tax due on its GGR."""

    day = models.DateField()
    active_players = models.PositiveIntegerField(default=0)
    gaming_tax_rate_bp = models.PositiveIntegerField(null=True, blank=True)
    gaming_tax = models.BigIntegerField(default=0)
    gaming_tax_eur = models.BigIntegerField(null=True, blank=True)
    final = models.BooleanField(default=False)

    class Meta:
        ordering = ["-day", "market", "currency"]
        verbose_name = "daily market figures"
        verbose_name_plural = "daily market figures"
        constraints = [
            models.UniqueConstraint(fields=["day", "market", "currency"], name="reports_dailymarket_key_uniq")
        ]
        indexes = [models.Index(fields=["day", "market"], name="reports_dailymarket_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.market} {self.currency}"


class DailyGame(models.Model):
    """A day's play on one game in one currency (bets net of rollbacks)."""

    day = models.DateField()
    game = models.ForeignKey("games.Game", on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey("games.GameProvider", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    bets = models.BigIntegerField(default=0)
    wins = models.BigIntegerField(default=0)
    ggr = models.BigIntegerField("GGR", default=0)
    rounds = models.PositiveIntegerField(default=0, help_text="Rounds with a bet that day")
    players = models.PositiveIntegerField(default=0, help_text="Players with a bet that day")
    bets_eur = models.BigIntegerField(null=True, blank=True)
    wins_eur = models.BigIntegerField(null=True, blank=True)
    ggr_eur = models.BigIntegerField(null=True, blank=True)
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    final = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "game_id", "currency"]
        verbose_name = "daily game figures"
        verbose_name_plural = "daily game figures"
        constraints = [
            models.UniqueConstraint(fields=["day", "game", "currency"], name="reports_dailygame_key_uniq")
        ]
        indexes = [models.Index(fields=["day", "provider"], name="reports_dailygame_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} game #{self.game_id} {self.currency}"


class DailyPayment(models.Model):
    """A day's payments per provider, method, currency and direction. Successes, amount and
    fees count the payments that completed that day (a deposit credited, a withdrawal paid
    out), whenever they were started, under the method the provider named. Attempts count
    the payments created that day, per provider: they sit on the method "" row, because the
    method is only learnt on success (a provider's success rate sums its rows)."""

    class Direction(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"

    day = models.DateField()
    provider = models.CharField(max_length=16)
    method = models.CharField(max_length=32, blank=True, default="")
    currency = models.CharField(max_length=3)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    attempts = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    fees = models.BigIntegerField(default=0)
    amount_eur = models.BigIntegerField(null=True, blank=True)
    fees_eur = models.BigIntegerField(null=True, blank=True)
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    final = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "provider", "method", "currency", "direction"]
        verbose_name = "daily payment figures"
        verbose_name_plural = "daily payment figures"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "provider", "method", "currency", "direction"],
                name="reports_dailypayment_key_uniq",
            )
        ]
        indexes = [models.Index(fields=["day", "provider"], name="reports_dailypayment_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.provider} {self.method or '-'} {self.currency} {self.direction}"


from .run_models import ReportFile, ReportRun  # noqa: E402, F401  (report runs: reports/run_models.py)
