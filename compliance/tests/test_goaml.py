"""The goAML STR: the generated report validates against the goAML 5.0.1 schema for a case
with deposits and a withdrawal; a bad code in the settings yields the schema's errors, and
export_str then exits non-zero without writing the file."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from lxml import etree

from compliance.aml import cases, goaml

from .test_aml_cases import fund, make_player, str_case  # noqa: F401  (shared case set-up)

pytestmark = pytest.mark.django_db
MLRO = "mlro@pitboss.test"


def _doc(xml: str):
    return etree.fromstring(xml.encode())


def test_generated_str_validates_against_the_schema(operators):
    with time_machine.travel(datetime(2026, 4, 1, 10, 30, tzinfo=UTC), tick=False):
        case = str_case(operators, deposits=(600_000, 450_050), withdrawal=300_000)
        report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert report.valid and report.status == "validated" and report.schema_errors == []
    # Independently of the service's own check: the stored XML passes the shipped XSD.
    schema = etree.XMLSchema(etree.parse(str(goaml.SCHEMA_DEFAULT)))
    doc = _doc(goaml.unseal(report.xml))
    assert schema.validate(doc), schema.error_log
    assert [el.tag for el in doc][:5] == [
        "rentity_id",
        "rentity_branch",
        "submission_code",
        "report_code",
        "entity_reference",
    ]
    assert doc.findtext("report_code") == "STR" and doc.findtext("submission_code") == "E"
    assert doc.findtext("entity_reference") == case.reference
    assert doc.findtext("reporting_person/first_name") == "Morgan"
    assert doc.findtext("reporting_person/email") == "mlro@pitboss.test"
    assert "withdrawn after minimal play" in doc.findtext("reason")
    txns = doc.findall("transaction")
    # Two deposits (player -> casino) and the withdrawal request (casino -> player).
    assert len(txns) == 3
    amounts = [Decimal(t.findtext("amount_local")) for t in txns]
    assert amounts == [Decimal("6000.00"), Decimal("4500.50"), Decimal("3000.00")]
    dep, wd = txns[0], txns[2]
    assert dep.find("t_from_my_client/from_person") is not None and dep.find("t_to/to_account") is not None
    assert dep.findtext("t_from_my_client/from_person/ssn") == "198803141234"
    assert dep.findtext("t_from_my_client/from_person/birthdate") == "1988-03-14T00:00:00"
    assert dep.findtext("t_from_my_client/from_person/phones/phone/tph_country_prefix") == "356"
    assert wd.find("t_from/from_account") is not None and wd.find("t_to_my_client/to_person") is not None
    assert dep.findtext("date_transaction") == "2026-04-01T10:30:00"
    assert [i.text for i in doc.findall("report_indicators/indicator")] == ["-"]


def test_bad_country_code_in_settings_gives_schema_errors(operators, settings):
    case = str_case(operators)
    settings.GOAML_LOCATION = {**goaml.DEFAULTS["GOAML_LOCATION"], "country_code": "ZZ"}
    report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert not report.valid and report.status == "draft"
    assert any("country_code" in e and "'ZZ'" in e for e in report.schema_errors), report.schema_errors
    assert all(e.startswith("line ") for e in report.schema_errors)


def test_missing_mandatory_player_data_is_named_by_the_schema(operators):
    case = str_case(operators)
    case.players.update(national_id_encrypted="")
    report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert not report.valid
    assert any("Expected is one of" in e and "ssn" in e for e in report.schema_errors), report.schema_errors


def test_foreign_currency_transactions_are_a_data_problem_not_a_silent_conversion(operators, settings):
    case = str_case(operators)
    settings.GOAML_CURRENCY_LOCAL = "SEK"
    report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert not report.valid
    assert any("local currency is SEK" in e for e in report.schema_errors)


def test_fiu_codes_come_from_settings(operators, settings):
    settings.GOAML_RENTITY_ID = 4242
    settings.GOAML_FUNDS_CODES = {"deposit": "K", "default": "-"}
    settings.GOAML_INDICATORS = {"large_deposit": ["-"], "default": ["-"]}
    case = str_case(operators)
    doc = _doc(cases.str_generate(case_id=case.pk, actor=operators["mlro"]).xml)
    assert doc.findtext("rentity_id") == "4242"
    assert doc.findtext("transaction/t_from_my_client/from_funds_code") == "K"


def test_export_str_writes_the_valid_report(operators, tmp_path):
    case = str_case(operators)
    out = tmp_path / "str.xml"
    stdout = StringIO()
    call_command("export_str", str(case.pk), "--out", str(out), "--operator", MLRO, stdout=stdout)
    assert "valid" in stdout.getvalue()
    xml = out.read_text()
    assert goaml.validate(xml) == []
    assert goaml.unseal(case.str_reports.get().xml) == xml


def test_export_str_exits_non_zero_with_the_errors_and_writes_nothing(operators, settings, tmp_path):
    case = str_case(operators)
    settings.GOAML_ENTITY = {**goaml.DEFAULTS["GOAML_ENTITY"], "country": "ZZ"}
    out = tmp_path / "str.xml"
    stderr = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("export_str", str(case.pk), "--out", str(out), "--operator", MLRO, stderr=stderr)
    assert "invalid" in str(exc.value) and "not written" in str(exc.value)
    assert "'ZZ'" in stderr.getvalue()
    assert not out.exists()


def test_export_str_refuses_an_undecided_case_and_an_unknown_one(operators, tmp_path):
    from .test_aml_cases import alert

    case = cases.case_open(alert_ids=[alert(make_player()).pk], actor=operators["compliance"])
    with pytest.raises(CommandError, match="File an STR"):
        call_command("export_str", str(case.pk), "--out", str(tmp_path / "x.xml"), "--operator", MLRO)
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_str", "999999", "--out", str(tmp_path / "x.xml"), "--operator", MLRO)


# --- review fixes ------------------------------------------------------------------------------


def test_control_characters_in_a_reason_or_a_name_are_dropped_from_the_str(operators, client):
    from django.urls import reverse

    case = str_case(operators)
    case.decision_reason = "withdrawn after minimal play\x0c\x01 twice"
    case.save(update_fields=["decision_reason"])
    case.players.update(first_name="Ma\x01ria")
    client.force_login(operators["mlro"])
    r = client.post(reverse("admin:compliance_aml_case", args=[case.pk]), {"op": "generate"})
    assert r.status_code == 302
    report = case.str_reports.get()
    assert report.valid, report.schema_errors
    doc = _doc(report.xml)
    assert "minimal play twice" in doc.findtext("reason")
    assert doc.findtext("transaction/t_from_my_client/from_person/first_name") == "Maria"


def test_the_stored_str_keeps_the_national_id_encrypted(operators):
    case = str_case(operators)
    report = cases.str_generate(case_id=case.pk, actor=operators["mlro"])
    assert "198803141234" not in report.xml
    sealed = _doc(report.xml).findtext("transaction/t_from_my_client/from_person/ssn")
    assert sealed.startswith(goaml.SEALED_PREFIX)
    opened = _doc(goaml.unseal(report.xml))
    assert opened.findtext("transaction/t_from_my_client/from_person/ssn") == "198803141234"
    assert goaml.validate(goaml.unseal(report.xml)) == []


def test_export_str_needs_an_operator_and_audits_before_writing(operators, tmp_path):
    from backoffice.models import AuditEvent

    case = str_case(operators)
    out = tmp_path / "str.xml"
    with pytest.raises(CommandError, match="--operator"):
        call_command("export_str", str(case.pk), "--out", str(out))
    with pytest.raises(CommandError, match="does not work AML cases"):
        call_command("export_str", str(case.pk), "--out", str(out), "--operator", "support@pitboss.test")
    with pytest.raises(CommandError, match="No active operator"):
        call_command("export_str", str(case.pk), "--out", str(out), "--operator", "nobody@pitboss.test")
    assert not out.exists() and not case.str_reports.exists()
    call_command("export_str", str(case.pk), "--out", str(out), "--operator", MLRO, stdout=StringIO())
    [event] = AuditEvent.objects.filter(action="compliance.str_report.export")
    assert event.actor == operators["mlro"] and event.target_id == str(case.pk)
    assert event.after["path"] == str(out.resolve()) and event.after["str_id"] == case.str_reports.get().pk
    assert "<ssn>198803141234</ssn>" in out.read_text()
    # A filed report is exported as filed, and audited again.
    report = case.str_reports.get()
    cases.str_mark_filed(str_id=report.pk, fiu_reference="F-1", actor=operators["mlro"])
    call_command("export_str", str(case.pk), "--out", str(out), "--operator", MLRO, stdout=StringIO())
    assert AuditEvent.objects.filter(action="compliance.str_report.export").count() == 2
