import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.models import SeedRun

DEFAULT_PLAYERS, DEFAULT_DAYS, DEFAULT_SEED = 500, 365, 20261125
SEEDABLE_ENVIRONMENTS = ("demo", "development", "test")
NOT_A_DEMO_DATABASE = (
    "seed_demo writes thousands of invented players and ledger entries: it runs only when DEBUG is on or "
    "PITBOSS_ENVIRONMENT is demo, development or test (it is {env!r}). On a database you know is not "
    "production, pass --i-know-this-is-not-production."
)
REAL_PLAYERS = (
    "This database has {count:,} player(s) that no demo loader created (e.g. {email}): seed_demo does not "
    "mix invented history into real data. Use an empty database."
)
# Every demo loader (load_demo, seed_demo, simulate) gives players addresses on domains
# reserved for examples and tests (RFC 2606, RFC 6761); Pay N Play players may have none.
DEMO_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
DEMO_EMAIL_TLDS = (".test", ".example", ".invalid", ".localhost")


def players_not_from_demo_loaders():
    from django.db.models import Q

    from players.models import Player

    demo = Q(email="")
    for domain in DEMO_EMAIL_DOMAINS:
        demo |= Q(email__iendswith=f"@{domain}") | Q(email__iendswith=f".{domain}")
    for tld in DEMO_EMAIL_TLDS:
        demo |= Q(email__iendswith=tld)
    return Player.objects.exclude(demo)


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
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="seed although DEBUG is off and PITBOSS_ENVIRONMENT is not demo/development/test",
        )

    ROLLUP_DAYS = 35  # the dashboard's 30-day charts, and a few days to spare

    def handle(
        self,
        *args,
        players: int,
        days: int,
        seed: int,
        if_empty: bool,
        not_production: bool = False,
        **options,
    ):
        if players < 1 or days < 1:
            raise CommandError("--players and --days must be at least 1.")
        env = getattr(settings, "PITBOSS_ENVIRONMENT", "")
        if not (settings.DEBUG or env in SEEDABLE_ENVIRONMENTS or not_production):
            raise CommandError(NOT_A_DEMO_DATABASE.format(env=env))
        earlier = SeedRun.objects.order_by("-started_at").first()
        if if_empty and earlier is not None:
            state = "finished" if earlier.finished_at else "did not finish"
            self.stdout.write(f"Demo history already seeded ({earlier}; {state}): nothing to do.")
            return
        real = players_not_from_demo_loaders()
        first_real = real.order_by("pk").values_list("email", flat=True).first()
        if first_real is not None:
            raise CommandError(REAL_PLAYERS.format(count=real.count(), email=first_real))
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
