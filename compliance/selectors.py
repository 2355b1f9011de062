import time
from datetime import datetime

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .models import Jurisdiction, JurisdictionRule

# Every version of a rule, newest first, by (jurisdiction, key): the gates read rules on
# every bet and deposit, and rules change a few times a year. Rule versions are only ever
# inserted (services.rule_change); an insert in this process clears the cache at once, other
# processes see it within RULE_CACHE_SECONDS. A version that becomes effective later is
# already cached with its effective_from, so its moment is exact.
RULE_CACHE_SECONDS = 30.0
_rule_versions: dict[tuple[str, str], tuple[float, list[JurisdictionRule]]] = {}


def clear_rule_cache(**_kwargs) -> None:
    _rule_versions.clear()


post_save.connect(clear_rule_cache, sender=JurisdictionRule, dispatch_uid="compliance_rule_cache")
post_delete.connect(clear_rule_cache, sender=JurisdictionRule, dispatch_uid="compliance_rule_cache_del")


def rule_get(*, jurisdiction: str, key: str, at: datetime | None = None) -> JurisdictionRule | None:
    """The version of a rule in force at `at` (now by default), or None."""
    at = at or timezone.now()
    now = time.monotonic()
    hit = _rule_versions.get((jurisdiction, key))
    if hit is None or now - hit[0] >= RULE_CACHE_SECONDS:
        versions = list(
            JurisdictionRule.objects.filter(jurisdiction__code=jurisdiction, key=key)
            .select_related("jurisdiction")
            .order_by("-effective_from", "-id")
        )
        _rule_versions[(jurisdiction, key)] = (now, versions)
    else:
        versions = hit[1]
    return next((v for v in versions if v.effective_from <= at), None)


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
