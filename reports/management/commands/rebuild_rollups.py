from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from reports.rollups import reporting_tz, rollup_rebuild


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (write 2026-01-31).") from None


class Command(BaseCommand):
    help = "Recompute the reporting rollups of every day in a range from the ledger and the other sources."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="day_from", required=True, help="First day, YYYY-MM-DD")
        parser.add_argument("--to", dest="day_to", required=True, help="Last day, YYYY-MM-DD (at most today)")

    def handle(self, day_from, day_to, **opts):
        try:
            results = rollup_rebuild(day_from=_day(day_from), day_to=_day(day_to))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        missing = sorted({(str(r.day), c) for r in results for c in r.missing_rates})
        for r in results:
            self.stdout.write(
                f"{r.day}: {r.market_rows} market, {r.hour_rows} hourly, {r.game_rows} game, "
                f"{r.payment_rows} payment rows{' (final)' if r.final else ''} in {r.duration_ms} ms"
            )
        self.stdout.write(f"{len(results)} day(s) rebuilt (reporting time zone {reporting_tz().key}).")
        if missing:
            days = ", ".join(f"{d} {c}" for d, c in missing)
            self.stderr.write(
                f"No FX rate for: {days}. Their EUR figures are empty: import the rates and rebuild."
            )
