"""The remaining AML rules (issue #7): their settings, and the FATF lists as data.

FATF lists as published in the FATF public statements of 13 June 2025 ("High-Risk
Jurisdictions subject to a Call for Action" and "Jurisdictions under Increased Monitoring")
and the October 2025 plenary outcome (24 October 2025: Burkina Faso, Mozambique, Nigeria and
South Africa removed from increased monitoring). Rows start at the statement seeded from, not
at each country's first listing. THE COMPLIANCE TEAM MUST KEEP THIS CURRENT: after each FATF
plenary (February, June, October) check https://www.fatf-gafi.org/en/countries/black-and-grey-lists.html
and add a data migration that closes delisted rows (effective_to) and adds the new listings
with their statement as the source (docs/compliance.md, "FATF lists")."""

import django.utils.timezone
from django.db import migrations, models

# Settings as shipped (frozen here; compliance officers change them in the console). Amounts
# in EUR minor units, windows in days. Severity 1 low, 2 medium, 3 high.
RULES = [
    ("approaching_cdd", "Approaching the CDD threshold", 1,
     {"threshold_eur": 200000, "approach_pct": 80, "mode": "rolling", "window_days": 180}),
    ("withdrawal_unused_instrument", "Withdrawal to an instrument never used to deposit", 3, {"window_days": 30}),
    ("shared_device_ip", "Same device or IP on several accounts", 2,
     {"window_days": 30, "min_accounts_device": 2, "min_accounts_ip": 3}),
    ("deposit_velocity", "Deposit velocity above the player's own history", 2,
     {"window_days": 7, "history_days": 90, "multiple": 5, "min_recent_eur": 100000, "min_history_deposits": 3}),
    ("dormant_reactivated", "Dormant account reactivated with a large deposit", 2,
     {"threshold_eur": 100000, "dormant_days": 180, "window_days": 30, "grace_hours": 24}),
    ("high_risk_country", "High-risk country (FATF lists)", 3,
     {"grey_severity": 2, "match_on": ["country", "nationality"]}),
    ("sanctions_pep_match", "Sanctions or PEP match", 3, {"pep_severity": 2}),
]

BLACK = "call_for_action"
GREY = "increased_monitoring"
JUNE_2025 = "2025-06-13"
OCT_2025 = "2025-10-24"
BLACK_SOURCE = ("FATF public statement: High-Risk Jurisdictions subject to a Call for Action, 13 June 2025",
                "https://www.fatf-gafi.org/en/publications/High-risk-and-other-monitored-jurisdictions/"
                "Call-for-action-june-2025.html")
GREY_SOURCE = ("FATF: Jurisdictions under Increased Monitoring, 13 June 2025",
               "https://www.fatf-gafi.org/en/publications/High-risk-and-other-monitored-jurisdictions/"
               "increased-monitoring-june-2025.html")
# Removed at the October 2025 plenary (FATF: Jurisdictions under Increased Monitoring, 24 October 2025).
DELISTED_OCT_2025 = {"BF", "MZ", "NG", "ZA"}
CALL_FOR_ACTION = ["KP", "IR", "MM"]  # DPRK, Iran (countermeasures); Myanmar (enhanced due diligence)
INCREASED_MONITORING = [
    "DZ",  # Algeria
    "AO",  # Angola
    "BO",  # Bolivia (added June 2025)
    "BG",  # Bulgaria
    "BF",  # Burkina Faso
    "CM",  # Cameroon
    "CI",  # Côte d'Ivoire
    "CD",  # Democratic Republic of the Congo
    "HT",  # Haiti
    "KE",  # Kenya
    "LA",  # Lao PDR
    "LB",  # Lebanon
    "MC",  # Monaco
    "MZ",  # Mozambique
    "NA",  # Namibia
    "NP",  # Nepal
    "NG",  # Nigeria
    "ZA",  # South Africa
    "SS",  # South Sudan
    "SY",  # Syria
    "VE",  # Venezuela
    "VN",  # Vietnam
    "VG",  # Virgin Islands (UK) (added June 2025)
    "YE",  # Yemen
]


def forward(apps, schema_editor):
    AmlRuleConfig = apps.get_model("compliance", "AmlRuleConfig")
    for code, title, severity, params in RULES:
        AmlRuleConfig.objects.get_or_create(code=code, defaults={"title": title, "severity": severity, "params": params})
    HighRiskCountry = apps.get_model("compliance", "HighRiskCountry")
    rows = [(c, BLACK, None, *BLACK_SOURCE) for c in CALL_FOR_ACTION] + [
        (c, GREY, OCT_2025 if c in DELISTED_OCT_2025 else None, *GREY_SOURCE) for c in INCREASED_MONITORING
    ]
    for country, kind, until, source, url in rows:
        HighRiskCountry.objects.get_or_create(
            country=country, list=kind, effective_from=JUNE_2025,
            defaults={"effective_to": until, "source": source, "source_url": url},
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0016_risk_scoring")]
    operations = [
        migrations.CreateModel(
            name="HighRiskCountry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("country", models.CharField(help_text="ISO 3166-1 alpha-2", max_length=2)),
                ("list", models.CharField(
                    choices=[("call_for_action", "Call for action (black list)"),
                             ("increased_monitoring", "Increased monitoring (grey list)")],
                    max_length=24)),
                ("effective_from", models.DateField()),
                ("effective_to", models.DateField(blank=True, help_text="Delisted from this day; empty: listed", null=True)),
                ("source", models.CharField(help_text="The FATF public statement and its date", max_length=200)),
                ("source_url", models.URLField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "FATF high-risk country",
                "verbose_name_plural": "FATF high-risk countries",
                "ordering": ["list", "country", "-effective_from"],
                "constraints": [
                    models.UniqueConstraint(fields=("country", "list", "effective_from"), name="high_risk_country_listing"),
                    models.CheckConstraint(
                        condition=models.Q(("effective_to__isnull", True), ("effective_to__gt", models.F("effective_from")),
                                           _connector="OR"),
                        name="high_risk_country_dates",
                    ),
                ],
            },
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
