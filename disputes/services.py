from django.db import transaction

from backoffice import audit
from backoffice.errors import DomainError
from players.models import Player

from .models import Complaint


@transaction.atomic
def complaint_log(
    *,
    player_id: int,
    category: str,
    subject: str,
    body: str,
    channel: str,
    actor=None,
    actor_label: str | None = None,
) -> Complaint:
    if category not in Complaint.Category.values:
        raise DomainError("invalid_category", f"Unknown category {category!r}.", field="category")
    if not subject.strip():
        raise DomainError("subject_required", "A complaint needs a subject.", field="subject")
    if not body.strip():
        raise DomainError("body_required", "A complaint needs the player's words.", field="body")
    player = Player.objects.get(pk=player_id)
    c = Complaint.objects.create(
        player=player,
        category=category,
        subject=subject.strip()[:200],
        body=body,
        channel=channel,
        logged_by=actor,
    )
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="disputes.complaint.log",
        target=player,
        after={"complaint_id": c.pk, "category": category, "subject": c.subject},
    )
    return c
