"""AML writes: scans (the only code that creates alerts), closing an alert, changing a
rule's settings. Each audited; each safe to retry."""

from dataclasses import replace
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User

from .models import AmlAlert, AmlRuleConfig, AmlScanRun, Severity
from .rules import RULES, Finding

SCAN_RUNNING = "A scan is already running; it will cover this data."
SCAN_BUSY = "A scan is already running or queued (scan #{run}); it will cover this data."
SCAN_NOT_QUEUED = "Scan #{run} is no longer queued ({state}); nothing to start."
SCAN_COLLIDED = "Scan #{run} was running when this one was due to start; start it again if still needed."
REASON_REQUIRED = "Write why the alert is closed."
ALREADY_CLOSED = "This alert is already closed."
BAD_PARAMS = "Parameter {key!r}: {problem}."
# A running scan whose heartbeat is older than this was killed (the worker died).
STALE_AFTER = timedelta(minutes=30)
# A queued scan whose task has not started by then never will (lost message, no worker):
# failing it lets the next request or schedule start a scan.
QUEUED_STALE_AFTER = timedelta(minutes=15)
_CHUNK = 1000
_SCOPE_LITERAL_MAX = 20_000
_REQUEST_LOCK = 0x414D4C53  # 'AMLS': pg_advisory_xact_lock key for scan requests


def _watermark() -> dict:
    """The max id of each kind of row that brings a player into an incremental scan. A key
    missing from an older run's watermark reads as 0 (everything of that kind is new)."""
    from payments.models import Payment, PaymentMethod
    from players.models import PlayerSession
    from wallet.models import Posting

    from ..screening.models import ScreeningMatch

    return {
        key: model.objects.aggregate(m=Max("id"))["m"] or 0
        for key, model in (
            ("posting_id", Posting),
            ("payment_method_id", PaymentMethod),
            ("session_id", PlayerSession),
            ("screening_match_id", ScreeningMatch),
            ("payment_id", Payment),
        )
    }


def _players_since(watermark: dict):
    """Players with a posting, a payment method, a session (device, IP, a return from
    dormancy), a screening match or a withdrawal added after the watermark. The rules then
    evaluate each such player's full window, not only the new rows."""
    from payments.models import Payment, PaymentMethod
    from players.models import Player, PlayerSession
    from wallet.models import Posting

    from ..screening.models import ScreeningMatch

    def since(key: str) -> dict:
        return {"id__gt": watermark.get(key, 0)}

    new_postings = Posting.objects.filter(**since("posting_id"), account__player__isnull=False).values(
        "account__player_id"
    )
    new_methods = PaymentMethod.objects.filter(**since("payment_method_id")).values("player_id")
    new_sessions = PlayerSession.objects.filter(**since("session_id")).values("player_id")
    new_matches = ScreeningMatch.objects.filter(**since("screening_match_id")).values("player_id")
    new_withdrawals = Payment.objects.filter(**since("payment_id"), kind=Payment.Kind.WITHDRAWAL).values(
        "player_id"
    )
    return Player.objects.filter(
        Q(pk__in=new_postings)
        | Q(pk__in=new_methods)
        | Q(pk__in=new_sessions)
        | Q(pk__in=new_matches)
        | Q(pk__in=new_withdrawals)
    ).values("pk")


def _abandon_stale(now: datetime) -> None:
    AmlScanRun.objects.filter(state=AmlScanRun.State.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
        state=AmlScanRun.State.FAILED, finished_at=now, error="Abandoned: the worker stopped mid-scan."
    )
    AmlScanRun.objects.filter(state=AmlScanRun.State.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER).update(
        state=AmlScanRun.State.FAILED,
        finished_at=now,
        error="Abandoned: no worker started this scan within "
        f"{int(QUEUED_STALE_AFTER.total_seconds() // 60)} minutes.",
    )


def _busy() -> AmlScanRun | None:
    active = [AmlScanRun.State.QUEUED, AmlScanRun.State.RUNNING]
    return AmlScanRun.objects.filter(state__in=active).order_by("id").first()


def _lock_requests() -> None:
    """Serialise scan requests (check for an active run, then insert a queued one): the
    partial unique constraint covers running rows only. SQLite serialises writers anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_REQUEST_LOCK])


def _start_from(full: bool) -> tuple[bool, dict]:
    """(full, since_watermark): without a done scan before it, a scan is full."""
    last = AmlScanRun.objects.filter(state=AmlScanRun.State.DONE).order_by("-finished_at", "-id").first()
    full = full or last is None
    return full, {} if full else last.watermark


def _claim(*, full: bool, actor: User | None, run_id: int | None = None) -> AmlScanRun:
    """Start a scan: the queued run `run_id` (requested from the console), or a new one
    (schedule, command). Either way the run becomes the one RUNNING row, which the partial
    unique constraint guarantees; a scheduled scan also gives way to a queued one."""
    now = timezone.now()
    _abandon_stale(now)
    if run_id is None:
        busy = AmlScanRun.objects.filter(state=AmlScanRun.State.QUEUED).first()
        if busy is not None:
            raise DomainError("aml_scan_running", SCAN_BUSY.format(run=busy.pk), status=409)
        full, since = _start_from(full)
        try:
            with transaction.atomic():
                return AmlScanRun.objects.create(
                    state=AmlScanRun.State.RUNNING,
                    full=full,
                    requested_by=actor,
                    started_at=now,
                    heartbeat_at=now,
                    since_watermark=since,
                )
        except IntegrityError:
            raise DomainError("aml_scan_running", SCAN_RUNNING, status=409) from None
    run = AmlScanRun.objects.get(pk=run_id)
    full, since = _start_from(run.full)
    try:
        with transaction.atomic():
            # The conditional update is the claim: a retried or late task finds the run no
            # longer queued and touches nothing.
            claimed = AmlScanRun.objects.filter(pk=run_id, state=AmlScanRun.State.QUEUED).update(
                state=AmlScanRun.State.RUNNING,
                full=full,
                started_at=now,
                heartbeat_at=now,
                since_watermark=since,
            )
    except IntegrityError:
        other = AmlScanRun.objects.filter(state=AmlScanRun.State.RUNNING).first()
        AmlScanRun.objects.filter(pk=run_id, state=AmlScanRun.State.QUEUED).update(
            state=AmlScanRun.State.FAILED,
            finished_at=now,
            error=SCAN_COLLIDED.format(run=other.pk if other else "?"),
        )
        raise DomainError("aml_scan_running", SCAN_RUNNING, status=409) from None
    run.refresh_from_db()
    if not claimed:
        raise DomainError(
            "aml_scan_not_queued", SCAN_NOT_QUEUED.format(run=run.pk, state=run.get_state_display().lower())
        )
    return run


@transaction.atomic
def aml_scan_request(*, full: bool, actor: User) -> AmlScanRun:
    """Scan now / Full rescan from the console: a queued run at once (the operator opens
    its page), run by the worker after commit. Refused while another scan is queued or
    running; audited."""
    from ..tasks import aml_scan_run_task

    _lock_requests()
    _abandon_stale(timezone.now())
    busy = _busy()
    if busy is not None:
        raise DomainError("aml_scan_running", SCAN_BUSY.format(run=busy.pk), status=409)
    run = AmlScanRun.objects.create(state=AmlScanRun.State.QUEUED, full=full, requested_by=actor)
    audit.record(
        actor=actor,
        action="compliance.aml_scan.request",
        target=run,
        after={"full": full, "state": run.state},
    )
    transaction.on_commit(lambda: aml_scan_run_task.delay(run_id=run.pk))
    return run


def _insert(run: AmlScanRun | None, config: AmlRuleConfig, findings: list[Finding]) -> int:
    """Create the alerts whose natural key is new. One scan runs at a time (the claim), so
    the keys read here are not raced by another scan; an inline check (run None) may race
    one, and the constraint has the last word (ignore_conflicts)."""
    fresh: dict[tuple[int, str], Finding] = {}
    for f in findings:
        fresh.setdefault((f.player_id, f.window_key), f)
    keys = list(fresh)
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        existing = AmlAlert.objects.filter(rule=config.code, player_id__in={p for p, _ in chunk}).values_list(
            "player_id", "window_key"
        )
        for key in existing:
            fresh.pop(key, None)
    AmlAlert.objects.bulk_create(
        [
            AmlAlert(
                rule=config.code,
                player_id=f.player_id,
                window_key=f.window_key,
                severity=f.severity or config.severity,
                evidence=f.evidence,
                scan_run=run,
            )
            for f in fresh.values()
        ],
        batch_size=_CHUNK,
        ignore_conflicts=True,
    )
    return len(fresh)


def _fixed_scope(scope) -> tuple:
    """The incremental scope read once: (the players for the rules, how many). Up to
    _SCOPE_LITERAL_MAX players the rules get the ids as a list, so the planner walks the
    postings index account by account instead of hash-joining the whole postings table
    against the scope's subquery (5x faster at 1% new data: bench/aml_scan.py)."""
    from players.models import Player

    ids = list(scope.values_list("pk", flat=True)[: _SCOPE_LITERAL_MAX + 1])
    if len(ids) > _SCOPE_LITERAL_MAX:
        return scope, scope.count()
    return Player.objects.filter(pk__in=ids).values("pk"), len(ids)


def aml_scan_run(
    *,
    full: bool = False,
    now: datetime | None = None,
    actor: User | None = None,
    run_id: int | None = None,
) -> AmlScanRun:
    """Run every enabled rule and create the alerts not raised yet: the queued run `run_id`
    (console), or a new run (schedule, command).

    Invariants: one scan at a time; each rule's alerts and its count commit together; the
    watermark advances only when every rule has run, so a failed or killed scan is covered
    again by the next one (the natural keys absorb what it had already written); a run
    abandoned meanwhile (stale) is never marked done afterwards. Without a done scan before
    it, a scan is full."""
    run = _claim(full=full, actor=actor, run_id=run_id)
    now = now or timezone.now()
    high = _watermark()
    scope = None if run.full else _players_since(run.since_watermark)
    try:
        if scope is not None:
            scope, run.players_in_scope = _fixed_scope(scope)
            run.save(update_fields=["players_in_scope"])
        for config in AmlRuleConfig.objects.filter(enabled=True, code__in=list(RULES)):
            with transaction.atomic():
                findings = list(RULES[config.code].findings(params=config.params, now=now, players=scope))
                run.counts[config.code] = _insert(run, config, findings)
                run.heartbeat_at = timezone.now()
                run.save(update_fields=["counts", "heartbeat_at"])
    except Exception as exc:
        run.state, run.error, run.finished_at = AmlScanRun.State.FAILED, repr(exc)[:2000], timezone.now()
        run.save(update_fields=["state", "error", "finished_at"])
        raise
    run.state, run.watermark, run.finished_at = AmlScanRun.State.DONE, high, timezone.now()
    AmlScanRun.objects.filter(pk=run.pk, state=AmlScanRun.State.RUNNING).update(
        state=run.state, watermark=run.watermark, finished_at=run.finished_at
    )
    run.refresh_from_db()
    return run


def aml_check_player(
    player, *, trigger: str, now: datetime | None = None, min_severity: int = Severity.HIGH
) -> list[AmlAlert]:
    """Run the enabled cheap rules for this one player now (at a deposit or withdrawal
    request: `trigger`), creating alerts through the scans' natural key, so a later scan
    raises none of them again (and a scan's alert is not raised again here). Returns the
    player's open alerts at `min_severity` or above (from this check or any earlier scan),
    most severe first. Runs in a savepoint: a failure leaves the caller's transaction usable."""
    from players.models import Player

    now = now or timezone.now()
    scope = Player.objects.filter(pk=player.pk).values("pk")
    codes = [code for code, rule in RULES.items() if rule.cheap]
    with transaction.atomic():
        for config in AmlRuleConfig.objects.filter(enabled=True, code__in=codes):
            findings = [
                replace(f, evidence={**f.evidence, "raised_inline": trigger})
                for f in RULES[config.code].findings(params=config.params, now=now, players=scope)
            ]
            if findings:
                _insert(None, config, findings)
    return list(
        AmlAlert.objects.filter(player=player, status=AmlAlert.Status.OPEN, severity__gte=min_severity)
    )


def alert_title(alert: AmlAlert) -> str:
    rule = RULES.get(alert.rule)
    return rule.title if rule else alert.rule


@transaction.atomic
def aml_alert_close(*, alert_id: int, reason: str, actor: User) -> AmlAlert:
    """Close an open alert with the officer's reason (audited)."""
    if not reason.strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    alert = AmlAlert.objects.select_for_update().get(pk=alert_id)
    if alert.status != AmlAlert.Status.OPEN:
        raise DomainError("aml_alert_closed", ALREADY_CLOSED)
    alert.status, alert.closed_at, alert.closed_by, alert.close_reason = (
        AmlAlert.Status.CLOSED,
        timezone.now(),
        actor,
        reason.strip(),
    )
    alert.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
    audit.record(
        actor=actor,
        action="compliance.aml_alert.close",
        target=alert,
        before={"status": AmlAlert.Status.OPEN},
        after={"status": alert.status},
        note=alert.close_reason,
    )
    return alert


def params_validate(code: str, params: dict) -> dict:
    """The rule's own keys, each of the default's type (ints may become floats); a string, or
    each item of a list, among the rule's `param_choices` where it has them."""
    rule = RULES[code]
    defaults, choices = rule.params, rule.param_choices
    if not isinstance(params, dict):
        raise DomainError("bad_params", "Parameters must be a JSON object.", field="params")
    for key in params:
        if key not in defaults:
            raise DomainError(
                "bad_params",
                BAD_PARAMS.format(key=key, problem="not a parameter of this rule"),
                field="params",
            )
    out = {}
    for key, default in defaults.items():
        value = params.get(key, default)
        allowed = choices.get(key)
        if isinstance(default, list):
            ok = (
                isinstance(value, list)
                and bool(value)
                and all(isinstance(v, str) and (allowed is None or v in allowed) for v in value)
            )
            problem = f"a non-empty list of {', '.join(allowed) if allowed else 'strings'}"
        elif isinstance(default, str):
            ok = isinstance(value, str) and (allowed is None or value in allowed)
            problem = f"use {' or '.join(allowed)}" if allowed else "expected a string"
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            ok = ok and (allowed is None or value in allowed)
            problem = (
                f"one of {', '.join(map(str, allowed))}" if allowed else f"expected a number like {default}"
            )
        if not ok:
            raise DomainError("bad_params", BAD_PARAMS.format(key=key, problem=problem), field="params")
        out[key] = list(dict.fromkeys(value)) if isinstance(default, list) else value
    return out


@transaction.atomic
def aml_rule_config_update(
    *, config_id: int, enabled: bool, severity: int, params: dict, actor: User
) -> AmlRuleConfig:
    """Change a rule's settings; the before and after go to the audit log."""
    config = AmlRuleConfig.objects.select_for_update().get(pk=config_id)
    params = params_validate(config.code, params)
    if severity not in Severity.values:
        raise DomainError("bad_severity", "Unknown severity.", field="severity")
    before = {"enabled": config.enabled, "severity": config.severity, "params": config.params}
    config.enabled, config.severity, config.params = enabled, severity, params
    config.updated_at, config.updated_by = timezone.now(), actor
    config.save(update_fields=["enabled", "severity", "params", "updated_at", "updated_by"])
    after = {"enabled": enabled, "severity": severity, "params": params}
    if after != before:
        audit.record(
            actor=actor, action="compliance.aml_rule.change", target=config, before=before, after=after
        )
    return config
