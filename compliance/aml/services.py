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
from .rules import RULES, Finding, Scope

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


def _sources() -> tuple:
    """(watermark key, model, its player field or None for a posting, extra filter): each kind
    of row that brings a player into an incremental scan."""
    from payments.models import Payment, PaymentMethod
    from players.models import PlayerSession
    from wallet.models import Posting

    from ..screening.models import ScreeningMatch

    return (
        ("posting_id", Posting, None, {}),
        ("payment_method_id", PaymentMethod, "player_id", {}),
        ("session_id", PlayerSession, "player_id", {}),
        ("screening_match_id", ScreeningMatch, "player_id", {}),
        ("payment_id", Payment, "player_id", {"kind": Payment.Kind.WITHDRAWAL}),
    )


def _watermark() -> dict:
    """The max id of each kind of row that brings a player into an incremental scan. A key
    missing from an older run's watermark reads as 0 (everything of that kind is new)."""
    return {key: model.objects.aggregate(m=Max("id"))["m"] or 0 for key, model, _f, _x in _sources()}


def _players_since(watermark: dict, high: dict | None = None):
    """Players with a posting, a payment method, a session (device, IP, a return from
    dormancy), a screening match or a withdrawal added after the watermark. The rules then
    evaluate each such player's full window, not only the new rows."""
    from players.models import Player

    subqueries = []
    for key, model, field, extra in _sources():
        new = model.objects.filter(id__gt=watermark.get(key, 0), **extra)
        if high is not None:
            new = new.filter(id__lte=high[key])
        if field is None:
            new, field = new.filter(account__player__isnull=False), "account__player_id"
        subqueries.append(Q(pk__in=new.values(field)))
    match = subqueries[0]
    for q in subqueries[1:]:
        match |= q
    return Player.objects.filter(match).values("pk")


def _player_ids_since(watermark: dict, high: dict) -> list[int] | None:
    """The ids of _players_since, sorted, read kind by kind through each table's primary key
    (new postings' accounts first, then those accounts' players: no pass over every account);
    None past _SCOPE_LITERAL_MAX players."""
    from wallet.models import Account

    ids: set[int] = set()
    for key, model, field, extra in _sources():
        low = watermark.get(key, 0)
        if high[key] <= low:
            continue  # nothing of this kind since the last scan: not even a query
        new = model.objects.filter(id__gt=low, id__lte=high[key], **extra)
        if field is None:
            accounts = list(new.order_by().values_list("account_id", flat=True).distinct())
            if len(accounts) > 5 * _SCOPE_LITERAL_MAX:
                return None
            for i in range(0, len(accounts), _CHUNK * 10):
                ids.update(
                    Account.objects.filter(pk__in=accounts[i : i + _CHUNK * 10], player__isnull=False)
                    .order_by()
                    .values_list("player_id", flat=True)
                    .distinct()
                )
        else:
            ids.update(new.order_by().values_list(field, flat=True).distinct())
        if len(ids) > _SCOPE_LITERAL_MAX:
            return None
    return sorted(ids)


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


def _scope(watermark: dict, high: dict) -> tuple:
    """The incremental scope read once: (the players for the rules, how many). Up to
    _SCOPE_LITERAL_MAX players the rules get the ids as a sorted list literal, so the planner
    walks the accounts' and postings' indexes player by player instead of hash-joining every
    account (and the postings) against the scope's subquery (bench/aml_scan.py); past it, the
    subquery. Rows added after `high` wait for the next scan, whose watermark starts there."""
    from wallet.models import Account

    with transaction.atomic():
        _prefer_indexes()
        ids = _player_ids_since(watermark, high)
        if ids is not None:
            accounts = Account.objects.filter(player_id__in=ids, kind=Account.Kind.PLAYER_CASH).order_by()
            return Scope(ids, sorted(accounts.values_list("pk", flat=True))), len(ids)
    scope = _players_since(watermark, high)
    return scope, scope.count()


def _prefer_indexes() -> None:
    """For this transaction: an incremental scan reads a few players' rows through the
    accounts', postings' and transactions' indexes, pages a recent scan has just read; at
    PostgreSQL's default random_page_cost (4, a spinning disk) the planner hashes the whole
    transaction table instead, 2-3x slower on the bench (docs/benchmarks.md, AML scan)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL random_page_cost = 1.1")


def _has_new_input(rule, since: dict, high: dict) -> bool:
    """Whether a row of a kind the rule reads arrived between the two watermarks."""
    return rule.reads is None or any(high[key] > since.get(key, 0) for key in rule.reads)


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
    scope = None
    try:
        if not run.full:
            scope, run.players_in_scope = _scope(run.since_watermark, high)
            run.save(update_fields=["players_in_scope"])
        for config in AmlRuleConfig.objects.filter(enabled=True, code__in=list(RULES)):
            rule = RULES[config.code]
            with transaction.atomic():
                # An incremental scan skips a rule that has nothing new to read: no player in
                # scope, or no new row of the kinds it reads. What only time passing or a
                # settings or FATF-list change would reveal is left to the full rescan.
                if scope is not None and not (
                    run.players_in_scope and _has_new_input(rule, run.since_watermark, high)
                ):
                    run.counts[config.code] = 0
                else:
                    if isinstance(scope, Scope):
                        _prefer_indexes()
                    findings = list(rule.findings(params=config.params, now=now, players=scope))
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
