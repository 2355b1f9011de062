from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from compliance import services
from compliance.catalog import SPEC_BY_KEY, validate_value
from compliance.models import JurisdictionRule
from compliance.rules_seed import RULES
from compliance.selectors import rule_value, rules_in_force

pytestmark = pytest.mark.django_db


def test_shipped_rules_are_loaded_for_every_market_with_valid_values_and_sources():
    for code in ["MT", "SE", "GB", "FI", "DE"]:
        rules = rules_in_force(jurisdiction=code)
        assert {
            "minimum_age",
            "cdd_threshold",
            "mandatory_limits",
            "limit_increase_cooling_off_hours",
            "national_exclusion_register",
        } <= set(rules), code
    for _code, key, value, source, _eff in RULES:
        assert key in SPEC_BY_KEY and validate_value(key, value) is None and source
    assert rule_value(jurisdiction="MT", key="gaming_tax_rate_bp") == 500
    assert rule_value(jurisdiction="SE", key="limit_increase_cooling_off_hours") == 72
    assert rule_value(jurisdiction="GB", key="limit_increase_cooling_off_hours") == 24
    assert rule_value(jurisdiction="MT", key="cdd_threshold") == {"amount": 200000, "currency": "EUR"}


def test_rule_in_force_follows_effective_dates():
    # GB's financial vulnerability check moved from £500 to £150 on 27 Feb 2025.
    before = datetime.fromisoformat("2025-02-26T12:00:00+00:00")
    after = datetime.fromisoformat("2025-02-27T12:00:00+00:00")
    assert rule_value(jurisdiction="GB", key="financial_vulnerability_check", at=before)["amount"] == 50000
    assert rule_value(jurisdiction="GB", key="financial_vulnerability_check", at=after)["amount"] == 15000
    assert (
        rule_value(
            jurisdiction="GB",
            key="financial_vulnerability_check",
            at=datetime.fromisoformat("2024-01-01T00:00:00+00:00"),
        )
        is None
    )


def test_a_rule_change_is_a_new_version_audited_and_the_old_one_stays(operators):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.rule_change(
            jurisdiction="SE",
            key="limit_increase_cooling_off_hours",
            value=96,
            source="Test: new SIFS 2027:1",
            effective_from=start + timedelta(days=7),
            actor=operators["admin"],
            note="from next week",
        )
    assert rule_value(jurisdiction="SE", key="limit_increase_cooling_off_hours", at=start) == 72
    assert (
        rule_value(jurisdiction="SE", key="limit_increase_cooling_off_hours", at=start + timedelta(days=8))
        == 96
    )
    assert (
        JurisdictionRule.objects.filter(
            jurisdiction__code="SE", key="limit_increase_cooling_off_hours"
        ).count()
        == 2
    )
    ev = AuditEvent.objects.get(action="compliance.rule.change")
    assert ev.before == {"value": 72} and ev.after["value"] == 96 and ev.actor == operators["admin"]


@pytest.mark.parametrize(
    "key,value,code",
    [
        ("limit_increase_cooling_off_hours", -1, "rule_value_invalid"),
        ("limit_increase_cooling_off_hours", "72", "rule_value_invalid"),
        ("bonus_first_play_only", 1, "rule_value_invalid"),
        ("cdd_threshold", {"amount": 2000.0, "currency": "EUR"}, "rule_value_invalid"),
        ("no_such_rule", 1, "rule_value_invalid"),
    ],
)
def test_bad_rule_values_are_refused_and_nothing_is_written(operators, key, value, code):
    n = JurisdictionRule.objects.count()
    with pytest.raises(DomainError) as exc:
        services.rule_change(jurisdiction="MT", key=key, value=value, source="x", actor=operators["admin"])
    assert exc.value.code == code and exc.value.field == "value"
    assert JurisdictionRule.objects.count() == n
    assert not AuditEvent.objects.filter(action="compliance.rule.change").exists()


def test_history_is_not_rewritten_from_the_console(operators):
    with pytest.raises(DomainError) as exc:
        services.rule_change(
            jurisdiction="MT",
            key="minimum_age",
            value=21,
            source="x",
            actor=operators["admin"],
            effective_from=timezone.now() - timedelta(days=1),
        )
    assert exc.value.code == "rule_in_the_past"
    with pytest.raises(DomainError) as exc:
        services.rule_change(
            jurisdiction="MT", key="minimum_age", value=21, source="  ", actor=operators["admin"]
        )
    assert exc.value.code == "source_required"


def test_rule_change_form_in_the_console(client, operators):
    from backoffice.testing import client_login
    from compliance.models import Jurisdiction

    mt = Jurisdiction.objects.get(code="MT")
    client_login(client, operators["compliance"])  # a real sign-in: the change is a sensitive action
    url = f"/admin/compliance/jurisdictions/{mt.pk}/change-rule/"
    r = client.post(url, {"key": "timeout_max_days", "value": "not json", "source": "x"})
    assert r.status_code == 200 and b"Not valid JSON" in r.content
    r = client.post(url, {"key": "timeout_max_days", "value": "42", "source": "MGA PPD 2026"})
    assert r.status_code == 302
    assert rule_value(jurisdiction="MT", key="timeout_max_days") == 42
    client.force_login(operators["support"])
    assert client.get(url).status_code == 403
    assert client.get(f"/admin/compliance/jurisdiction/{mt.pk}/change/").status_code == 200
