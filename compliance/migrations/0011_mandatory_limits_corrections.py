from datetime import datetime

from django.db import migrations


def forward(apps, schema_editor):
    from compliance.rules_seed import CORRECTIONS

    Jurisdiction = apps.get_model("compliance", "Jurisdiction")
    JurisdictionRule = apps.get_model("compliance", "JurisdictionRule")
    for code, key, value, source, effective in CORRECTIONS:
        j = Jurisdiction.objects.filter(code=code).first()
        if j is not None:
            JurisdictionRule.objects.get_or_create(
                jurisdiction=j, key=key, effective_from=datetime.fromisoformat(effective),
                defaults={"value": value, "source": source, "note": "correction shipped with Pitboss"})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0010_rule_key_choices")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
