"""Writing the audit log. Call `record` inside the service's transaction, so the event
exists exactly when the change does."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from . import context
from .models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    actor_label: str | None = None,
) -> AuditEvent:
    """Insert one audit event. `actor` is an operator or None for the system."""
    ctx = context.current()
    if actor_label is None:
        actor_label = actor.email if actor is not None and getattr(actor, "pk", None) else "system"
    return AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=actor_label[:254],
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        note=note,
        ip=ctx.ip,
        request_id=ctx.request_id,
    )


def events_for(target: models.Model):
    """The audit trail of one object, newest first."""
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(target), target_id=str(target.pk)
    ).select_related("actor")
