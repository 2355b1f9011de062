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


def player_screening_status(player) -> dict:
    """When this player was last screened, and against which version of each current list.
    A player is screened against a list's version by their own screening (registration, a
    profile change, an officer's "screen again": audited with the versions used) or by
    the re-screen that version's import queued (audited per run). Four queries."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q

    from backoffice.models import AuditEvent

    from .models import WatchlistVersion
    from .services import PLAYER_SCREEN_ACTION, RESCREEN_ACTION

    own = (
        AuditEvent.objects.filter(
            action=PLAYER_SCREEN_ACTION,
            target_type=ContentType.objects.get_for_model(player),
            target_id=str(player.pk),
        )
        .order_by("-created_at", "-id")
        .values("created_at", "after", "actor_label")
        .first()
    )
    current = list(WatchlistVersion.objects.filter(current=True).order_by("watchlist"))
    runs = []
    if current and player.status != player.Status.CLOSED:  # a re-screen skips closed accounts
        runs = list(
            AuditEvent.objects.filter(action=RESCREEN_ACTION, created_at__gte=player.created_at)
            .filter(Q(after__version_id__in=[v.pk for v in current]) | Q(after__version_id=None))
            .order_by("-created_at", "-id")
            .values("created_at", "after")[:20]
        )
    own_versions = set((own or {}).get("after", {}).get("versions", {}).values())
    lists = []
    for v in current:
        at, how = None, ""
        if own and v.pk in own_versions:
            at, how = own["created_at"], _trigger_label(own)
        for run in runs:  # newest first: the first run covering this version is the latest
            vid = run["after"].get("version_id")
            if vid == v.pk or (vid is None and run["created_at"] >= v.imported_at):
                if at is None or run["created_at"] > at:
                    at, how = run["created_at"], "re-screen of all players"
                break
        lists.append({"version": v, "screened_at": at, "how": how})
    times = [x["screened_at"] for x in lists if x["screened_at"]]
    if own:
        times.append(own["created_at"])
    return {"last_screened_at": max(times) if times else None, "own": own, "lists": lists}


def _trigger_label(event: dict) -> str:
    trigger = event["after"].get("trigger", "")
    if trigger == "operator":
        return f"screened again by {event['actor_label']}"
    return "registration or a change of name, birth date or nationality"
