from django.db import migrations


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Heartbeat", defaults={"task": "backoffice.heartbeat", "interval": every_minute, "enabled": True,
                                    "description": "Proves the worker and beat run; shown on the dashboard."})


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0002_audit_immutable"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
