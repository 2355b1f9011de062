import json

from django.core.management.base import BaseCommand, CommandError

from wallet.verify import CHECKS, ledger_verify_run


class Command(BaseCommand):
    help = "Check every ledger invariant in SQL; list each violation and exit non-zero if any."

    def add_arguments(self, parser):
        parser.add_argument("--no-store", action="store_true", help="Do not record a LedgerVerifyRun.")

    def handle(self, *args, no_store: bool = False, **options):
        if no_store:
            from wallet.verify import ledger_check

            report = ledger_check()
            violations, summary, counts = report.violations, report.summary, report.counts
        else:
            run = ledger_verify_run()
            violations, summary, counts = run.violations, run.summary, run.summary["counts"]
        for v in violations:
            self.stderr.write(f"VIOLATION {v['check']}: {v['rule']}: {json.dumps(v['row'])}")
        for name, proves, _sql in CHECKS:
            mark = "ok" if not counts[name] else f"{counts[name]} violation(s)"
            self.stdout.write(f"{name:30} {mark:18} {proves}")
        self.stdout.write(
            f"{summary['transactions']} transactions, {summary['postings']} postings, "
            f"{summary['accounts']} accounts checked."
        )
        for currency, groups in summary["totals"].items():
            parts = ", ".join(f"{g} {t}" for g, t in groups.items())
            self.stdout.write(f"  {currency} (minor units): {parts}")
        total = sum(counts.values())
        if total:
            raise CommandError(f"Ledger verification failed: {total} violation(s).", returncode=1)
        self.stdout.write(self.style.SUCCESS("Ledger verified: every invariant holds."))
