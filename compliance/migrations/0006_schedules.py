from django.db import migrations


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    daily, _ = CrontabSchedule.objects.get_or_create(minute="15", hour="4", day_of_week="*", day_of_month="*",
                                                     month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name="Limits coming due", defaults={
        "task": "compliance.limits_due_apply", "interval": every_5,
        "description": "Pending limit increases come into force when their cooling-off has passed."})
    PeriodicTask.objects.get_or_create(name="KYC documents expiring", defaults={
        "task": "compliance.kyc_documents_expiring", "crontab": daily,
        "description": "Flags approved identity documents expiring within 30 days."})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0005_kycprofile_kycdocument"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
