from django.db import migrations


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(name="CDD meter", defaults={
        "task": "compliance.cdd_check_recent", "interval": every_15,
        "description": "Opens a KYC requirement for players whose deposits crossed the CDD threshold."})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0011_mandatory_limits_corrections"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
