from django.db import migrations

# The rules' settings as shipped (frozen here; compliance officers change them in the
# console). Amounts in EUR minor units, windows in days. Severity 1 low, 2 medium, 3 high.
RULES = [
    ("cdd_threshold", "CDD threshold crossed", 2, {"threshold_eur": 200000, "mode": "rolling", "window_days": 180}),
    ("structuring", "Structuring below a threshold", 3,
     {"threshold_eur": 200000, "band_pct": 15, "min_deposits": 3, "window_days": 7}),
    ("deposit_withdraw_little_play", "Deposit then withdrawal with little play", 3,
     {"window_days": 7, "max_wager_ratio": 0.5, "min_deposit_eur": 50000}),
    ("shared_instrument", "Same payment instrument on several accounts", 3, {"min_accounts": 2}),
    ("large_deposit", "Large single deposit", 2, {"threshold_eur": 500000, "window_days": 30}),
    ("large_total", "Large deposit total over 7 days", 2, {"threshold_eur": 1000000, "window_days": 7}),
    ("many_methods", "Many payment methods in a window", 1, {"min_methods": 4, "window_days": 30}),
]


def forward(apps, schema_editor):
    AmlRuleConfig = apps.get_model("compliance", "AmlRuleConfig")
    for code, title, severity, params in RULES:
        AmlRuleConfig.objects.get_or_create(code=code, defaults={"title": title, "severity": severity, "params": params})
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30, _ = IntervalSchedule.objects.get_or_create(every=30, period="minutes")
    PeriodicTask.objects.get_or_create(name="AML scan", defaults={
        "task": "compliance.aml_scan_run", "interval": every_30,
        "description": "Incremental AML scan: players active since the last done scan's watermark."})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0014_aml"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
