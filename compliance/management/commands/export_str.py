from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice import roles
from backoffice.errors import DomainError
from backoffice.models import User
from compliance.aml import cases
from compliance.models import AmlCase, StrReport


class Command(BaseCommand):
    help = (
        "Generate the goAML STR for an AML case decided 'file an STR', validate it against GOAML_SCHEMA_PATH "
        "and write it to --out. Invalid: prints each schema error, writes nothing, exits non-zero. A case "
        "whose STR was filed writes the filed report as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)
        parser.add_argument("--out", required=True, help="The XML file to write")
        parser.add_argument(
            "--operator", help="Report as this operator (email); default: the first active MLRO"
        )

    def _operator(self, email: str | None) -> User:
        qs = User.objects.filter(is_active=True)
        user = (
            qs.filter(email__iexact=email).first()
            if email
            else qs.filter(groups__name=roles.MLRO).order_by("pk").first()
        )
        if user is None:
            raise CommandError(
                f"No active operator {email}." if email else "No active MLRO: pass --operator EMAIL."
            )
        return user

    def handle(self, case_id, out, operator, **opts):
        case = AmlCase.objects.filter(pk=case_id).first()
        if case is None:
            raise CommandError(f"AML case #{case_id} does not exist.")
        filed = case.str_reports.filter(status=StrReport.Status.FILED).first()
        if filed is not None:
            report = filed
        else:
            try:
                report = cases.str_generate(case_id=case.pk, actor=self._operator(operator))
            except DomainError as exc:
                raise CommandError(exc.message) from None
        if not report.valid:
            for e in report.schema_errors:
                self.stderr.write(e)
            raise CommandError(
                f"STR #{report.pk} for {case.reference} is invalid ({len(report.schema_errors)} error(s)); "
                f"{out} not written."
            )
        Path(out).write_text(report.xml, encoding="utf-8")
        self.stdout.write(f"STR #{report.pk} for {case.reference} written to {out} (valid).")
