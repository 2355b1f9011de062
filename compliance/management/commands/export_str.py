from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User
from compliance.aml import cases, goaml
from compliance.models import AmlCase, StrReport


class Command(BaseCommand):
    help = (
        "Generate the goAML STR for an AML case decided 'file an STR', validate it against GOAML_SCHEMA_PATH "
        "and write it to --out as --operator (audited). Invalid: prints each schema error, writes nothing, "
        "exits non-zero. A case whose STR was filed writes the filed report as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)
        parser.add_argument("--out", required=True, help="The XML file to write")
        parser.add_argument(
            "--operator",
            required=True,
            help="The operator (email) exporting the report: named in the STR and in the audit log",
        )

    def _operator(self, email: str) -> User:
        user = User.objects.filter(is_active=True, email__iexact=email).first()
        if user is None:
            raise CommandError(f"No active operator {email}.")
        if not user.has_perm(cases.WORK_PERM):
            raise CommandError(
                f"{email} does not work AML cases: the STR is exported by a compliance officer."
            )
        return user

    def handle(self, case_id, out, operator, **opts):
        actor = self._operator(operator)
        case = AmlCase.objects.filter(pk=case_id).first()
        if case is None:
            raise CommandError(f"AML case #{case_id} does not exist.")
        filed = case.str_reports.filter(status=StrReport.Status.FILED).first()
        if filed is not None:
            report = filed
        else:
            try:
                report = cases.str_generate(case_id=case.pk, actor=actor)
            except DomainError as exc:
                raise CommandError(exc.message) from None
        if not report.valid:
            for e in report.schema_errors:
                self.stderr.write(e)
            raise CommandError(
                f"STR #{report.pk} for {case.reference} is invalid ({len(report.schema_errors)} error(s)); "
                f"{out} not written."
            )
        path = Path(out).resolve()
        # The file leaves the system with national ids in it: on the record before it is written.
        audit.record(
            actor=actor,
            action="compliance.str_report.export",
            target=case,
            after={"str_id": report.pk, "status": report.status, "path": str(path)},
        )
        path.write_text(goaml.unseal(report.xml), encoding="utf-8")
        self.stdout.write(f"STR #{report.pk} for {case.reference} written to {out} (valid).")
