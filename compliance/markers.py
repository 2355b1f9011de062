"""Markers of harm (MGA PPD, 2023 amendments): a scheduled scan over the ledger, set-based
(one grouped query per marker over the whole population, never a loop over players),
each finding an RgAlert with its evidence and a natural key."""

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User

from .models import RgAlert, RgInteraction

# Thresholds: operator policy (the PPD names the markers, not the numbers). Kept here with
# the marker they tune; they move to rule data when a regulator sets them.
WINDOW_DAYS = 7
BASELINE_DAYS = 28
FREQUENCY_MIN_DEPOSITS = 3
RISE_FACTOR = 2
AMOUNT_MIN_MINOR = 10_000
REVERSED_MIN = 2
REVERSED_WINDOW_DAYS = 30
NIGHT_MIN_BETS = 20
NIGHT_SHARE = 0.5
NIGHT_HOURS = (0, 5)  # 00:00-04:59 UTC


def _cash_postings():
    from wallet.models import Account, Posting

    return Posting.objects.filter(account__kind=Account.Kind.PLAYER_CASH, account__player__isnull=False)


def _deposit_findings(now: datetime) -> list[tuple[int, str, dict]]:
    recent_from = now - timedelta(days=WINDOW_DAYS)
    base_from = recent_from - timedelta(days=BASELINE_DAYS)
    rows = (
        _cash_postings()
        .filter(transaction__kind="deposit", amount__gt=0, created_at__gte=base_from, created_at__lt=now)
        .values("account__player_id")
        .annotate(
            n_recent=Count("id", filter=Q(created_at__gte=recent_from)),
            n_base=Count("id", filter=Q(created_at__lt=recent_from)),
            s_recent=Sum("amount", filter=Q(created_at__gte=recent_from)),
            s_base=Sum("amount", filter=Q(created_at__lt=recent_from)),
        )
    )
    weeks = BASELINE_DAYS / WINDOW_DAYS
    found = []
    for r in rows:
        pid, n_recent, s_recent = r["account__player_id"], r["n_recent"], r["s_recent"] or 0
        base_n, base_s = r["n_base"] / weeks, (r["s_base"] or 0) / weeks
        if n_recent >= FREQUENCY_MIN_DEPOSITS and n_recent >= RISE_FACTOR * max(base_n, 1):
            found.append(
                (
                    pid,
                    RgAlert.Marker.DEPOSIT_FREQUENCY,
                    {"deposits_last_7_days": n_recent, "weekly_average_before": round(base_n, 2)},
                )
            )
        if s_recent >= AMOUNT_MIN_MINOR and base_s > 0 and s_recent >= RISE_FACTOR * base_s:
            found.append(
                (
                    pid,
                    RgAlert.Marker.DEPOSIT_AMOUNT,
                    {"deposited_last_7_days_minor": s_recent, "weekly_average_before_minor": int(base_s)},
                )
            )
    return found


def _reversed_withdrawal_findings(now: datetime) -> list[tuple[int, str, dict]]:
    rows = (
        _cash_postings()
        .filter(
            transaction__kind="withdrawal_cancel",
            amount__gt=0,
            created_at__gte=now - timedelta(days=REVERSED_WINDOW_DAYS),
            created_at__lt=now,
        )
        # Money returned by finance (a rejection) or by the provider (a failed payout)
        # carries `returned_by`: only the player's own reversals are a marker of harm.
        .exclude(transaction__metadata__has_key="returned_by")
        .values("account__player_id")
        .annotate(n=Count("id"), s=Sum("amount"))
        .filter(n__gte=REVERSED_MIN)
    )
    return [
        (
            r["account__player_id"],
            RgAlert.Marker.REVERSED_WITHDRAWALS,
            {"reversed_last_30_days": r["n"], "amount_minor": r["s"]},
        )
        for r in rows
    ]


def _night_play_findings(now: datetime) -> list[tuple[int, str, dict]]:
    start, end = NIGHT_HOURS
    rows = (
        _cash_postings()
        .filter(
            transaction__kind="bet", created_at__gte=now - timedelta(days=WINDOW_DAYS), created_at__lt=now
        )
        .values("account__player_id")
        .annotate(
            n=Count("id"), night=Count("id", filter=Q(created_at__hour__gte=start, created_at__hour__lt=end))
        )
        .filter(n__gte=NIGHT_MIN_BETS)
    )
    return [
        (
            r["account__player_id"],
            RgAlert.Marker.NIGHT_PLAY,
            {
                "bets_last_7_days": r["n"],
                "night_bets": r["night"],
                "night_hours_utc": f"{start:02}:00-{end:02}:00",
            },
        )
        for r in rows
        if r["night"] >= NIGHT_SHARE * r["n"]
    ]


METHODS_MIN = 3
METHODS_WINDOW_DAYS = 30
CHASE_USED_SHARE = 0.9
CHASE_HOURS = 48


def _payment_method_findings(now: datetime) -> list[tuple[int, str, dict]]:
    """Distinct payment instruments used to deposit in 30 days. Deposits carry the
    instrument's fingerprint in the transaction's metadata ("payment_method"), which the
    payment adapters set."""
    rows = (
        _cash_postings()
        .filter(
            transaction__kind="deposit",
            amount__gt=0,
            created_at__gte=now - timedelta(days=METHODS_WINDOW_DAYS),
            created_at__lt=now,
        )
        .exclude(transaction__metadata__payment_method=None)
        .values("account__player_id")
        .annotate(n=Count("transaction__metadata__payment_method", distinct=True))
        .filter(n__gte=METHODS_MIN)
    )
    return [
        (
            r["account__player_id"],
            RgAlert.Marker.MANY_PAYMENT_METHODS,
            {"payment_methods_last_30_days": r["n"]},
        )
        for r in rows
    ]


def _chasing_findings(now: datetime) -> list[tuple[int, str, dict]]:
    """A deposit or loss limit raised (or removed) within 48 h of the player using 90% or
    more of it: the classic sign of chasing losses past a limit they set themselves."""
    from .models import PlayerLimit
    from .rg import period_start

    found = []
    raises = PlayerLimit.objects.filter(
        kind__in=["deposit", "loss"],
        requested_at__gte=now - timedelta(days=WINDOW_DAYS),
        requested_at__lt=now,
        status__in=["pending", "active", "cancelled"],
    ).select_related("player")
    for new in raises:
        prior = (
            PlayerLimit.objects.filter(
                player_id=new.player_id,
                kind=new.kind,
                period=new.period,
                requested_at__lt=new.requested_at,
                amount__isnull=False,
            )
            .exclude(pk=new.pk)
            .order_by("-requested_at")
            .first()
        )
        if prior is None or (new.amount is not None and new.amount <= prior.amount):
            continue
        since = period_start(new.period, new.requested_at - timedelta(hours=CHASE_HOURS))
        kinds = ["deposit"] if new.kind == "deposit" else ["bet"]
        qs = _cash_postings().filter(
            account__player_id=new.player_id,
            transaction__kind__in=kinds,
            created_at__gte=since,
            created_at__lt=new.requested_at,
        )
        used = abs(qs.aggregate(s=Sum("amount"))["s"] or 0)
        if used >= CHASE_USED_SHARE * prior.amount:
            found.append(
                (
                    new.player_id,
                    RgAlert.Marker.CHASING_AFTER_LIMIT,
                    {
                        "limit": f"{new.kind}/{new.period}",
                        "previous_minor": prior.amount,
                        "requested_minor": new.amount,
                        "used_minor": used,
                        "requested_at": new.requested_at.isoformat(),
                    },
                )
            )
    return found


COMPLAINTS_MIN = 2
COMPLAINTS_WINDOW_DAYS = 30


def _complaint_findings(now: datetime) -> list[tuple[int, str, dict]]:
    """Complaints and bonus requests: two or more in 30 days."""
    from disputes.models import Complaint

    rows = (
        Complaint.objects.filter(
            created_at__gte=now - timedelta(days=COMPLAINTS_WINDOW_DAYS), created_at__lt=now
        )
        .values("player_id")
        .annotate(n=Count("id"), bonus_requests=Count("id", filter=Q(category="bonus_request")))
        .filter(n__gte=COMPLAINTS_MIN)
    )
    return [
        (
            r["player_id"],
            RgAlert.Marker.COMPLAINTS,
            {"complaints_last_30_days": r["n"], "bonus_requests": r["bonus_requests"]},
        )
        for r in rows
    ]


def markers_scan(*, now: datetime | None = None) -> dict[str, int]:
    """Run every marker over the whole population; create the alerts that do not exist
    yet for this window. Safe to re-run: the natural key absorbs duplicates."""
    now = now or timezone.now()
    window_end: date = now.date()
    window_start = window_end - timedelta(days=WINDOW_DAYS)
    created: dict[str, int] = {m: 0 for m in RgAlert.Marker.values}
    findings = (
        _deposit_findings(now)
        + _reversed_withdrawal_findings(now)
        + _night_play_findings(now)
        + _payment_method_findings(now)
        + _chasing_findings(now)
        + _complaint_findings(now)
    )
    for player_id, marker, evidence in findings:
        # An open alert of the same marker in an overlapping window is the same concern.
        if RgAlert.objects.filter(player_id=player_id, marker=marker, window_end__gt=window_start).exists():
            continue
        try:
            with transaction.atomic():
                RgAlert.objects.create(
                    player_id=player_id,
                    marker=marker,
                    window_start=window_start,
                    window_end=window_end,
                    evidence=evidence,
                )
        except IntegrityError:
            continue
        created[marker] += 1
    return created


@transaction.atomic
def interaction_record(
    *,
    player_id: int,
    alert_id: int | None,
    channel: str,
    summary: str,
    outcome: str,
    follow_up_on: date | None,
    actor: User,
    close_alert: bool = False,
) -> RgInteraction:
    """Record what was said to the player about a marker, the outcome and any follow-up."""
    if not summary.strip():
        raise DomainError("summary_required", "Write what was said.", field="summary")
    alert = None
    if alert_id is not None:
        alert = RgAlert.objects.select_for_update().get(pk=alert_id, player_id=player_id)
    inter = RgInteraction.objects.create(
        player_id=player_id,
        alert=alert,
        channel=channel,
        summary=summary,
        outcome=outcome,
        follow_up_on=follow_up_on,
        operator=actor,
    )
    if alert is not None:
        before = alert.status
        if close_alert:
            alert.status, alert.closed_at = RgAlert.Status.CLOSED, timezone.now()
        elif follow_up_on:
            alert.status = RgAlert.Status.FOLLOW_UP
        alert.save(update_fields=["status", "closed_at"])
        audit.record(
            actor=actor,
            action="compliance.rg_alert.interaction",
            target=alert,
            before={"status": before},
            after={"status": alert.status, "outcome": outcome},
            note=summary,
        )
    else:
        audit.record(
            actor=actor,
            action="compliance.rg_interaction.record",
            target=inter.player,
            after={"outcome": outcome, "channel": channel},
            note=summary,
        )
    return inter
