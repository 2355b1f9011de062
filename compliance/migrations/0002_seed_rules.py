"""Load the shipped jurisdictions and rule sets (compliance/rules_seed.py). Later changes
are new versions made in the console, never edits to this data."""

from datetime import datetime

from django.db import migrations


def forward(apps, schema_editor):
    from compliance.rules_seed import JURISDICTIONS, RULES

    Jurisdiction = apps.get_model("compliance", "Jurisdiction")
    JurisdictionRule = apps.get_model("compliance", "JurisdictionRule")
    by_code = {}
    for code, name, regulator, currency in JURISDICTIONS:
        by_code[code], _ = Jurisdiction.objects.get_or_create(
            code=code, defaults={"name": name, "regulator": regulator, "currency": currency})
    for code, key, value, source, effective in RULES:
        JurisdictionRule.objects.get_or_create(
            jurisdiction=by_code[code], key=key, effective_from=datetime.fromisoformat(effective),
            defaults={"value": value, "source": source, "note": "shipped with Pitboss"})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
