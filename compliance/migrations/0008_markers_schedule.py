from django.db import migrations


def forward(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="2", day_of_week="*", day_of_month="*",
                                                       month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name="Markers of harm", defaults={
        "task": "compliance.rg_markers_scan", "crontab": nightly,
        "description": "Scans deposits, reversed withdrawals and night play for markers of harm (RG alerts)."})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0007_rgalert_rginteraction_rgalert_rg_alert_natural_key")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
