"""Screening reads the console shares."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from .models import ScreeningMatch


def screening_queue() -> QuerySet[ScreeningMatch]:
    """Open matches, strong band first, then oldest first (the index screening_queue_idx)."""
    return (
        ScreeningMatch.objects.filter(status=ScreeningMatch.Status.OPEN)
        .select_related("player", "entry")
        .annotate(
            strong_first=Case(
                When(band=ScreeningMatch.Band.STRONG, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("strong_first", "created_at", "id")
    )


def screening_match_get(match_id: int) -> ScreeningMatch:
    return ScreeningMatch.objects.select_related("player", "entry", "decided_by").get(pk=match_id)


def player_screening_matches(player_id: int) -> QuerySet[ScreeningMatch]:
    return ScreeningMatch.objects.filter(player_id=player_id).select_related("decided_by").order_by("-score")
