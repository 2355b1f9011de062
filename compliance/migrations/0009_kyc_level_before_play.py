"""Add the 'KYC level required before play' rule to the shipped markets."""

from datetime import datetime

from django.db import migrations


def forward(apps, schema_editor):
    from compliance.rules_seed import RULES

    Jurisdiction = apps.get_model("compliance", "Jurisdiction")
    JurisdictionRule = apps.get_model("compliance", "JurisdictionRule")
    for code, key, value, source, effective in RULES:
        if key != "kyc_level_before_play":
            continue
        j = Jurisdiction.objects.filter(code=code).first()
        if j is not None:
            JurisdictionRule.objects.get_or_create(
                jurisdiction=j, key=key, effective_from=datetime.fromisoformat(effective),
                defaults={"value": value, "source": source, "note": "shipped with Pitboss"})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0008_markers_schedule")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
