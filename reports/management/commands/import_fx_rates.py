from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from reports.fx import fx_rates_import


class Command(BaseCommand):
    help = "Import daily FX rates from a CSV (header date,currency,rate; rate = units of the currency per 1 EUR)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", default="", help="Where the rates come from (default: the file name)")

    def handle(self, path, source, **opts):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            s = fx_rates_import(content=p.read_bytes(), source=source or p.name)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{s['rows']} rates read ({s['created']} new, {s['changed']} changed) for "
            f"{', '.join(s['currencies'])} from {s['from']} to {s['to']}."
        )
