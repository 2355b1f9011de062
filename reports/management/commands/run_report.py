"""Generate a report from the shell through the same run machinery as the console (a stored
run with its file and checksum), synchronously, and copy the file to --out."""

import shutil

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from reports import registry, runs
from reports.run_models import ReportFile, ReportRun


class Command(BaseCommand):
    help = "Generate a report (a stored run) and write its file: run_report KEY --from --to --format --out."

    def add_arguments(self, parser):
        parser.add_argument("key", help="The report's key (e.g. ggr, mga-gaming-tax)")
        parser.add_argument("--from", dest="date_from", required=True, help="First day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day, YYYY-MM-DD")
        parser.add_argument("--format", dest="fmt", required=True, help="pdf, csv or xlsx")
        parser.add_argument("--out", required=True, help="Where to write the file")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A further filter, e.g. --param market=MT --param currency=SEK",
        )

    def handle(self, key, date_from, date_to, fmt, out, param, **opts):
        if fmt not in runs.FORMATS:
            raise CommandError(runs.BAD_FORMAT.format(fmt=fmt))
        try:
            registry.get(key)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        params = {"date_from": date_from, "date_to": date_to}
        for p in param:
            name, sep, value = p.partition("=")
            if not sep:
                raise CommandError(f"--param {p!r}: write it as NAME=VALUE.")
            params[name] = value
        try:
            run = runs.report_run_request(key=key, params=params, formats=[fmt], label="shell", enqueue=False)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        run = runs.report_run_execute(run_id=run.pk)
        if run.state != ReportRun.State.DONE:
            raise CommandError(f"Run #{run.pk} failed: {run.error}")
        f = ReportFile.objects.get(run=run, format=fmt)
        shutil.copyfile(runs.storage_dir() / f.file, out)
        self.stdout.write(
            f"Run #{run.pk}: {key} {date_from}..{date_to} -> {out} ({f.size} bytes, {run.rows} rows, "
            f"sha256 {f.sha256}, data as of {run.as_of:%Y-%m-%d %H:%M:%S} UTC)"
        )
