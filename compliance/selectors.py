from datetime import datetime

from django.utils import timezone

from .models import Jurisdiction, JurisdictionRule


def rule_get(*, jurisdiction: str, key: str, at: datetime | None = None) -> JurisdictionRule | None:
    """The version of a rule in force at `at` (now by default), or None."""
    at = at or timezone.now()
    return (
        JurisdictionRule.objects.filter(jurisdiction__code=jurisdiction, key=key, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def rule_value(*, jurisdiction: str, key: str, at: datetime | None = None, default=None):
    rule = rule_get(jurisdiction=jurisdiction, key=key, at=at)
    return default if rule is None else rule.value


def rules_in_force(*, jurisdiction: str, at: datetime | None = None) -> dict[str, JurisdictionRule]:
    """Every rule of a jurisdiction in force at `at`: one query."""
    at = at or timezone.now()
    result: dict[str, JurisdictionRule] = {}
    for rule in JurisdictionRule.objects.filter(
        jurisdiction__code=jurisdiction, effective_from__lte=at
    ).order_by("key", "-effective_from"):
        result.setdefault(rule.key, rule)
    return result


def jurisdiction_list():
    return Jurisdiction.objects.order_by("code")
