from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User

from .catalog import validate_value
from .models import Jurisdiction, JurisdictionRule
from .selectors import rule_get

RULE_IN_THE_PAST = "A rule change takes effect now or later, never in the past: history is not rewritten."
SOURCE_REQUIRED = "Name the legal source of the rule (regulation, article or URL)."
SAME_INSTANT = "A version of this rule already takes effect at that instant."


@transaction.atomic
def rule_change(
    *,
    jurisdiction: str,
    key: str,
    value,
    source: str,
    effective_from: datetime | None = None,
    actor: User | None,
    note: str = "",
) -> JurisdictionRule:
    """Add a new version of a jurisdiction rule. Invariants: the value fits the rule's
    kind; it has a source; it never takes effect in the past (the shell, actor None, may
    load history); the previous version stays."""
    now = timezone.now()
    effective_from = effective_from or now
    if actor is not None and effective_from < now - timedelta(minutes=1):
        raise DomainError("rule_in_the_past", RULE_IN_THE_PAST, field="effective_from")
    if problem := validate_value(key, value):
        raise DomainError("rule_value_invalid", problem, field="value")
    if not source.strip():
        raise DomainError("source_required", SOURCE_REQUIRED, field="source")
    try:
        j = Jurisdiction.objects.get(code=jurisdiction)
    except Jurisdiction.DoesNotExist:
        raise DomainError(
            "unknown_jurisdiction", f"Unknown jurisdiction {jurisdiction}.", field="jurisdiction"
        ) from None
    before = rule_get(jurisdiction=jurisdiction, key=key, at=effective_from)
    try:
        with transaction.atomic():
            rule = JurisdictionRule.objects.create(
                jurisdiction=j,
                key=key,
                value=value,
                source=source.strip(),
                effective_from=effective_from,
                created_by=actor,
                note=note,
            )
    except IntegrityError:
        raise DomainError("rule_same_instant", SAME_INSTANT, field="effective_from") from None
    audit.record(
        actor=actor,
        action="compliance.rule.change",
        target=rule,
        before={"value": before.value if before else None},
        after={"value": value, "effective_from": effective_from.isoformat(), "source": source},
        note=note,
    )
    return rule
