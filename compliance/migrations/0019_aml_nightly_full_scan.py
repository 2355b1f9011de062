from django.db import migrations


def forward(apps, schema_editor):
    """A nightly full rescan beside the 30-minute incremental one: what only the passing of
    time, a changed threshold or a new FATF listing reveals (the incremental scan re-checks
    players with new rows, and skips rules whose kind of row did not arrive) is found
    within a day. About 7 s for 100,000 players (docs/benchmarks.md, AML scan)."""
    import json

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name="AML full rescan",
        defaults={
            "task": "compliance.aml_scan_run",
            "crontab": nightly,
            "kwargs": json.dumps({"full": True}),
            "description": "Every rule over every player, nightly (the incremental scan runs every 30 minutes).",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0018_aml_cases"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
