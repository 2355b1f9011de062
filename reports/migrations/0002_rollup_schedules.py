from django.db import migrations


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(name="Rollups: refresh today", defaults={
        "task": "reports.rollup_refresh", "interval": every_minute,
        "description": "Recomputes today's reporting rollups (and yesterday's until it is final)."})
    # 01:15 UTC: the reporting zone's yesterday ended at least 75 minutes earlier (UTC or east
    # of it; hours earlier west of it), time for late postings; later ones need rebuild_rollups.
    nightly, _ = CrontabSchedule.objects.get_or_create(minute="15", hour="1", day_of_week="*", day_of_month="*",
                                                       month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name="Rollups: finalise yesterday", defaults={
        "task": "reports.rollup_finalise", "crontab": nightly,
        "description": "Recomputes yesterday's reporting rollups and marks the day final."})


def backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=["Rollups: refresh today", "Rollups: finalise yesterday"]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, backward)]
