import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from compliance.screening.parsers import FORMATS
from compliance.screening.services import watchlist_import


class Command(BaseCommand):
    help = (
        "Import a new version of a sanctions or PEP list and print its counts and the entries added and "
        "removed since the previous version (removals also as a warning on stderr). OFAC takes sdn.csv, alt.csv and add.csv together. Every player "
        "is re-screened against the new version (a Celery task)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--json", action="store_true", help="Print the summary as one JSON object")
        parser.add_argument("--show", type=int, default=20, help="Added/removed entries to list (default 20)")

    def handle(self, fmt, paths, **opts):
        try:
            v = watchlist_import(
                fmt=fmt, paths=[Path(p) for p in paths], actor_label="command:import_watchlist"
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        summary = {
            "version": v.pk,
            "list": v.watchlist,
            "entries": v.entries,
            "names": v.names,
            "added": v.added,
            "removed": v.removed,
            "previous_version": v.changes["previous_version"],
        }
        if opts["json"]:
            self.stdout.write(json.dumps({**summary, "changes": v.changes}))
            return
        prev = (
            f"since version {summary['previous_version']}"
            if summary["previous_version"]
            else "(first version)"
        )
        self.stdout.write(
            f"{v.get_watchlist_display()} version {v.pk}: {v.entries} entries, {v.names} names; "
            f"{v.added} added, {v.removed} removed {prev}."
        )
        if v.removed:
            # The console asks a second officer for this; on the server the engineer is told plainly.
            self.stderr.write(
                self.style.WARNING(
                    f"REMOVED: {v.removed} entries of {prev.removeprefix('since ')} are not in this version. "
                    "Their open matches become delisted and release the holds they put on players."
                )
            )
        for sign, key in (("+", "added"), ("-", "removed")):
            for ext, name in v.changes[key][: opts["show"]]:
                self.stdout.write(f"  {sign} {ext} {name}")
            more = getattr(v, key) - min(opts["show"], len(v.changes[key]))
            if more > 0:
                self.stdout.write(f"  … and {more} more {key}")
