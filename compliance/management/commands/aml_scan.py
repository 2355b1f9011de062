from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from compliance.aml.rules import RULES
from compliance.aml.services import aml_scan_run


class Command(BaseCommand):
    help = "Run an AML scan now (incremental from the last done scan's watermark, or --full)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Scan every player, not only the active ones")

    def handle(self, *args, full: bool = False, **options):
        try:
            run = aml_scan_run(full=full)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        scope = "full" if run.full else f"incremental, {run.players_in_scope} players active"
        self.stdout.write(f"AML scan #{run.pk} ({scope}): {run.state}")
        for code, created in run.counts.items():
            self.stdout.write(f"  {code:<30} {created:>6} alerts created  ({RULES[code].title})")
        self.stdout.write(f"Total: {run.alerts_created} alerts created; watermark {run.watermark}")
