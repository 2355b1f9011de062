import sys
import time

from django.core.management.base import BaseCommand, CommandError

from demo.models import SeedRun

DEFAULT_PLAYERS, DEFAULT_DAYS, DEFAULT_SEED = 500, 365, 20261125


class Progress:
    """A one-line progress bar on a terminal (nothing when the output is not a terminal)."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width, self.started = stream, width, time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done: int, total: int, rounds: int) -> None:
        if not self.tty:
            return
        share = done / total if total else 1.0
        filled = int(self.width * share)
        elapsed = time.monotonic() - self.started
        rate = rounds / elapsed if elapsed else 0
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} "
            f"{done:,}/{total:,} players, {rounds:,} rounds, {rate:,.0f} rounds/s, {elapsed:,.0f} s"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Seed years of coherent casino history (players, KYC, limits, exclusions, deposits and "
        "withdrawals through the five providers, game rounds on the ledger, planted AML cases)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--players", type=int, default=DEFAULT_PLAYERS, help=f"default {DEFAULT_PLAYERS:,}"
        )
        parser.add_argument(
            "--days", type=int, default=DEFAULT_DAYS, help=f"history length, default {DEFAULT_DAYS}"
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same history"
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if a seed already ran")

    ROLLUP_DAYS = 35  # the dashboard's 30-day charts, and a few days to spare

    def handle(self, *args, players: int, days: int, seed: int, if_empty: bool, **options):
        if players < 1 or days < 1:
            raise CommandError("--players and --days must be at least 1.")
        earlier = SeedRun.objects.order_by("-started_at").first()
        if if_empty and earlier is not None:
            state = "finished" if earlier.finished_at else "did not finish"
            self.stdout.write(f"Demo history already seeded ({earlier}; {state}): nothing to do.")
            return
        from demo.seed import seed_run, summary_lines

        self.stdout.write(f"Seeding {players:,} players over {days} days (seed {seed})...")
        run = seed_run(players=players, days=days, seed=seed, progress=Progress(sys.stderr))
        for line in summary_lines(run.summary):
            self.stdout.write(line)
        self._reporting_ready(days)
        self.stdout.write(self.style.SUCCESS("Check it with: python manage.py ledger_verify"))

    def _reporting_ready(self, days: int) -> None:
        """The dashboard and the reports read rollups in EUR: load the sample FX rates if no
        rate is held yet, then roll up the last days the dashboard charts (older seeded
        days: `rebuild_rollups --from ... --to ...`)."""
        from datetime import timedelta
        from pathlib import Path

        from reports import fx
        from reports.models import FxRate
        from reports.rollups import local_today, rollup_rebuild

        if not FxRate.objects.exists():
            sample = Path(fx.__file__).resolve().parent / "data" / "fx_rates_sample.csv"
            fx.fx_rates_import(content=sample.read_bytes(), source="sample")
            self.stdout.write(f"Sample FX rates loaded ({sample.name}, marked as sample data).")
        today = local_today()
        day_from = today - timedelta(days=min(days, self.ROLLUP_DAYS) - 1)
        rollup_rebuild(day_from=day_from, day_to=today)
        self.stdout.write(
            f"Reporting rollups built for {day_from} to {today}; older days: "
            f"python manage.py rebuild_rollups --from {today - timedelta(days=days)} --to {day_from}"
        )
