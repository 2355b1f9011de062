from django.db import models
from django.utils import timezone


class SeedRun(models.Model):
    """One run of `seed_demo`: its parameters, how long it took and what it produced. A
    run without `finished_at` stopped half-way (its finished flushes are in the database)."""

    seed = models.BigIntegerField()
    players = models.PositiveIntegerField()
    days = models.PositiveIntegerField()
    history_end = models.DateTimeField(help_text="The last instant of the simulated history")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Seed #{self.pk}: {self.players} players, {self.days} days (seed {self.seed})"
