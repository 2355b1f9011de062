"""Responsible gambling: limits and exclusions (services). The numbers come from the
player's jurisdiction rules (compliance.selectors), never from code branches."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from backoffice import approvals, audit
from backoffice.errors import DomainError
from backoffice.models import User
from players.models import Player

from .models import Exclusion, PlayerLimit
from .selectors import rule_value

LIMIT_NOT_NEGATIVE = "A limit is zero or more."
SESSION_MINUTES = "A session limit is a whole number of minutes, at least 1."
EXCLUSION_TOO_SHORT = "In {market} a self-exclusion lasts at least {days} days."
EXCLUSION_ENDS_BEFORE_START = "An exclusion ends after it starts."
LIFT_NEEDS_TEXT = "Lifting an exclusion needs the player's written request, with their reasons."
LIFT_NOT_IN_FORCE = "This exclusion is not in force: there is nothing to lift."
LIFT_ALREADY_REQUESTED = "A request to lift this exclusion is already waiting for approval."
LIFT_MINIMUM_NOT_SERVED = "In {market} this exclusion cannot end before {date} (the minimum period)."
TIMEOUT_TOO_LONG = "In {market} a time-out lasts at most {days} days; longer is a self-exclusion."


def period_start(period: str, at: datetime) -> datetime:
    """Start of the current calendar period (UTC): day at midnight, week on Monday, month
    on the 1st. Limits count deposits, losses and wagers since then."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == PlayerLimit.Period.DAY:
        return day
    if period == PlayerLimit.Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(period: str, at: datetime) -> datetime:
    start = period_start(period, at)
    if period == PlayerLimit.Period.DAY:
        return start + timedelta(days=1)
    if period == PlayerLimit.Period.WEEK:
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class LimitChange:
    limit: PlayerLimit
    immediate: bool


def _increase_effective_at(player: Player, period: str, now: datetime) -> tuple[datetime, str]:
    hours = rule_value(
        jurisdiction=player.jurisdiction, key="limit_increase_cooling_off_hours", at=now, default=24
    )
    effective = now + timedelta(hours=hours)
    note = f"{player.jurisdiction}: increase after {hours} h cooling-off"
    if rule_value(
        jurisdiction=player.jurisdiction, key="limit_increase_waits_for_period_end", at=now, default=False
    ):
        end = period_end(period, now)
        if end > effective:
            effective = end
        note += " and not before the current period ends"
    return effective, note


@transaction.atomic
def limit_set(
    *, player_id: int, kind: str, period: str, amount: int | None, actor: User | None, source: str
) -> LimitChange:
    """Set (or, amount None, remove) a limit. Invariants: a decrease or a first limit
    applies at once; an increase or a removal is pending until the jurisdiction's
    cooling-off has passed (and, where the rules say so, the current period has ended);
    at most one active and one pending limit per kind and period."""
    if kind not in PlayerLimit.Kind.values:
        raise DomainError("invalid_limit_kind", f"Unknown limit kind {kind!r}.", field="kind")
    if period not in PlayerLimit.Period.values:
        raise DomainError("invalid_limit_period", f"Unknown period {period!r}.", field="period")
    if amount is not None and amount < 0:
        raise DomainError("invalid_amount", LIMIT_NOT_NEGATIVE, field="amount")
    if kind == PlayerLimit.Kind.SESSION and amount is not None and amount < 1:
        raise DomainError("invalid_amount", SESSION_MINUTES, field="amount")
    player = Player.objects.select_for_update().get(pk=player_id)
    now = timezone.now()
    limits_due_apply(player_id=player.pk)
    current = PlayerLimit.objects.filter(
        player=player, kind=kind, period=period, status=PlayerLimit.Status.ACTIVE
    ).first()
    pending = PlayerLimit.objects.filter(
        player=player, kind=kind, period=period, status=PlayerLimit.Status.PENDING
    ).first()
    tighter = amount is not None and (current is None or current.amount is None or amount <= current.amount)
    if pending is not None:
        pending.status = PlayerLimit.Status.CANCELLED
        pending.save(update_fields=["status"])
    if tighter:
        if current is not None:
            current.status = PlayerLimit.Status.SUPERSEDED
            current.save(update_fields=["status"])
        new = PlayerLimit.objects.create(
            player=player,
            kind=kind,
            period=period,
            amount=amount,
            status=PlayerLimit.Status.ACTIVE,
            effective_at=now,
            requested_by=actor,
            source=source,
            rule_note="decrease or first limit: immediate",
        )
    else:
        effective, note = _increase_effective_at(player, period, now)
        new = PlayerLimit.objects.create(
            player=player,
            kind=kind,
            period=period,
            amount=amount,
            status=PlayerLimit.Status.PENDING,
            effective_at=effective,
            requested_by=actor,
            source=source,
            rule_note=note,
        )
    audit.record(
        actor=actor,
        actor_label=None if actor else source,
        action="compliance.limit.set",
        target=player,
        before={"kind": kind, "period": period, "amount": current.amount if current else None},
        after={"amount": amount, "status": new.status, "effective_at": new.effective_at.isoformat()},
        note=new.rule_note,
    )
    return LimitChange(limit=new, immediate=tighter)


def limits_due_apply(*, player_id: int | None = None, now: datetime | None = None) -> int:
    """Make pending limits whose time has come active (a scheduled task runs it for all
    players; limit_set and the gates run it for one). Idempotent."""
    now = now or timezone.now()
    due = PlayerLimit.objects.filter(status=PlayerLimit.Status.PENDING, effective_at__lte=now)
    if player_id is not None:
        due = due.filter(player_id=player_id)
    n = 0
    with transaction.atomic():
        for p in due.select_for_update().order_by("id"):
            PlayerLimit.objects.filter(
                player_id=p.player_id, kind=p.kind, period=p.period, status=PlayerLimit.Status.ACTIVE
            ).update(status=PlayerLimit.Status.SUPERSEDED)
            p.status = PlayerLimit.Status.ACTIVE
            p.save(update_fields=["status"])
            audit.record(
                actor=None,
                action="compliance.limit.apply",
                target=p.player,
                after={"kind": p.kind, "period": p.period, "amount": p.amount},
            )
            n += 1
    return n


def limits_in_force(player: Player) -> list[PlayerLimit]:
    """The player's active limits (with an amount), after applying any pending one whose
    time has come. One query when nothing is due: this runs on every bet."""
    now = timezone.now()
    rows = list(
        PlayerLimit.objects.filter(
            player=player, status__in=[PlayerLimit.Status.ACTIVE, PlayerLimit.Status.PENDING]
        ).order_by("kind", "period")
    )
    if any(r.status == PlayerLimit.Status.PENDING and r.effective_at <= now for r in rows):
        limits_due_apply(player_id=player.pk, now=now)
        return limits_in_force(player)
    return [r for r in rows if r.status == PlayerLimit.Status.ACTIVE and r.amount is not None]


def limits_pending(player: Player) -> list[PlayerLimit]:
    return list(
        PlayerLimit.objects.filter(player=player, status=PlayerLimit.Status.PENDING).order_by("effective_at")
    )


# --- Exclusions ---------------------------------------------------------------------------


@transaction.atomic
def exclusion_start(
    *, player_id: int, kind: str, ends_at: datetime | None, actor: User | None, source: str, reason: str = ""
) -> Exclusion:
    """Start a time-out or self-exclusion now. Invariants: a self-exclusion is at least the
    jurisdiction's minimum; a time-out is definite and at most the longest time-out."""
    player = Player.objects.select_for_update().get(pk=player_id)
    now = timezone.now()
    if kind not in Exclusion.Kind.values:
        raise DomainError("invalid_exclusion_kind", f"Unknown exclusion kind {kind!r}.", field="kind")
    if ends_at is not None and ends_at <= now:
        raise DomainError("invalid_end", EXCLUSION_ENDS_BEFORE_START, field="ends_at")
    market = player.jurisdiction
    if kind == Exclusion.Kind.SELF_EXCLUSION and ends_at is not None:
        min_days = rule_value(jurisdiction=market, key="self_exclusion_min_days", at=now, default=0)
        if ends_at < now + timedelta(days=min_days):
            raise DomainError(
                "exclusion_too_short",
                EXCLUSION_TOO_SHORT.format(market=market, days=min_days),
                field="ends_at",
            )
    if kind == Exclusion.Kind.TIMEOUT:
        max_days = rule_value(jurisdiction=market, key="timeout_max_days", at=now, default=42)
        if ends_at is None or ends_at > now + timedelta(days=max_days):
            raise DomainError(
                "timeout_too_long", TIMEOUT_TOO_LONG.format(market=market, days=max_days), field="ends_at"
            )
    ex = Exclusion.objects.create(
        player=player,
        kind=kind,
        starts_at=now,
        ends_at=ends_at,
        source=source,
        created_by=actor,
        reason=reason,
    )
    audit.record(
        actor=actor,
        actor_label=None if actor else source,
        action=f"compliance.{kind}.start",
        target=player,
        after={"exclusion_id": ex.pk, "ends_at": ends_at.isoformat() if ends_at else None},
        note=reason,
    )
    return ex


def exclusion_in_force(player: Player, at: datetime | None = None) -> Exclusion | None:
    at = at or timezone.now()
    for ex in Exclusion.objects.filter(player=player, starts_at__lte=at).order_by("-starts_at"):
        if ex.in_force(at):
            return ex
    return None


def lift_pending(ex: Exclusion) -> bool:
    """A lift request waits for approval (a rejected or cancelled one does not block a
    new written request)."""
    from backoffice.models import ApprovalRequest

    return ApprovalRequest.objects.filter(
        action="compliance.exclusion_lift", state=ApprovalRequest.State.PENDING, payload__exclusion_id=ex.pk
    ).exists()


def _lift_earliest(ex: Exclusion, approved_at: datetime) -> datetime:
    market = ex.player.jurisdiction
    key = "exclusion_lift_wait_hours_indefinite" if ex.indefinite else "exclusion_lift_wait_hours_definite"
    wait = rule_value(jurisdiction=market, key=key, at=approved_at, default=24 * 7)
    earliest = approved_at + timedelta(hours=wait)
    min_days = rule_value(jurisdiction=market, key="self_exclusion_min_days", at=approved_at, default=0)
    if ex.kind == Exclusion.Kind.SELF_EXCLUSION:
        earliest = max(earliest, ex.starts_at + timedelta(days=min_days))
    return earliest


@transaction.atomic
def exclusion_lift_request(*, exclusion_id: int, request_text: str, actor: User):
    """Record the player's written request to lift an exclusion and ask a second
    operator to approve it. The lift, once approved, takes effect only after the
    jurisdiction's waiting period (and never before a self-exclusion's minimum)."""
    ex = Exclusion.objects.select_for_update().select_related("player").get(pk=exclusion_id)
    if not request_text.strip():
        raise DomainError("lift_needs_written_request", LIFT_NEEDS_TEXT, field="request_text")
    if not ex.in_force():
        raise DomainError("exclusion_not_in_force", LIFT_NOT_IN_FORCE)
    if lift_pending(ex):
        raise DomainError("lift_already_requested", LIFT_ALREADY_REQUESTED)
    if ex.kind == Exclusion.Kind.SELF_EXCLUSION:
        min_days = rule_value(jurisdiction=ex.player.jurisdiction, key="self_exclusion_min_days", default=0)
        minimum_end = ex.starts_at + timedelta(days=min_days)
        if minimum_end > timezone.now():
            raise DomainError(
                "exclusion_minimum_not_served",
                LIFT_MINIMUM_NOT_SERVED.format(market=ex.player.jurisdiction, date=f"{minimum_end:%Y-%m-%d}"),
            )
    ex.lift_requested_at, ex.lift_request_text = timezone.now(), request_text
    ex.save(update_fields=["lift_requested_at", "lift_request_text"])
    audit.record(
        actor=actor,
        action="compliance.exclusion.lift_request",
        target=ex.player,
        after={"exclusion_id": ex.pk},
        note=request_text,
    )
    return approvals.approval_request_create(
        action="compliance.exclusion_lift",
        payload={"exclusion_id": ex.pk},
        summary=f"Lift the {ex.get_kind_display().lower()} of {ex.player}",
        reason=request_text,
        actor=actor,
    )


def _execute_lift(payload: dict, requested_by: User, approved_by: User) -> dict:
    ex = Exclusion.objects.select_for_update().select_related("player").get(pk=payload["exclusion_id"])
    if not ex.in_force():
        raise DomainError("exclusion_not_in_force", LIFT_NOT_IN_FORCE)
    now = timezone.now()
    earliest = _lift_earliest(ex, now)
    ex.lifted_at, ex.lifted_by = earliest, approved_by
    ex.save(update_fields=["lifted_at", "lifted_by"])
    audit.record(
        actor=approved_by,
        action="compliance.exclusion.lift",
        target=ex.player,
        before={"lifted_at": None},
        after={"exclusion_id": ex.pk, "lifted_at": earliest.isoformat()},
        note=f"requested by {requested_by.email}",
    )
    return {"exclusion_id": ex.pk, "lift_effective_at": earliest.isoformat()}


approvals.register(
    approvals.ApprovalAction(
        key="compliance.exclusion_lift",
        permission="compliance.lift_exclusion",
        execute=_execute_lift,
        label="Lift a self-exclusion or time-out",
    )
)
