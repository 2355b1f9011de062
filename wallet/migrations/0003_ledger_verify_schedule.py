"""The nightly ledger verification: 03:00 UTC, a quiet hour for the casino. An
administrator can move it in the console (Schedules) without a deploy."""

from django.db import migrations


def forward(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    at_three, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name="Ledger verify (nightly)",
        defaults={
            "task": "wallet.ledger_verify",
            "crontab": at_three,
            "enabled": True,
            "description": "Checks every ledger invariant; results under Money > Ledger verify runs.",
        },
    )


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="Ledger verify (nightly)").delete()


class Migration(migrations.Migration):
    dependencies = [("wallet", "0002_ledger_guards"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, backward)]
