from django.db import migrations


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Pay N Play session expiry",
        defaults={
            "task": "payments.paynplay_sessions_expire",
            "interval": every_15,
            "description": "Marks Pay N Play sessions still waiting for the bank identity past their expiry expired.",
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_paynplay_session"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
