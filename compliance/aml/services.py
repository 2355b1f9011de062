"""AML writes: scans (the only code that creates alerts), closing an alert, changing a
rule's settings. Each audited; each safe to retry."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User

from .models import AmlAlert, AmlRuleConfig, AmlScanRun, Severity
from .rules import RULES, Finding

SCAN_RUNNING = "A scan is already running; it will cover this data."
REASON_REQUIRED = "Write why the alert is closed."
ALREADY_CLOSED = "This alert is already closed."
BAD_PARAMS = "Parameter {key!r}: {problem}."
# A running scan whose heartbeat is older than this was killed (the worker died).
STALE_AFTER = timedelta(minutes=30)
_CHUNK = 1000


def _watermark() -> dict:
    from payments.models import PaymentMethod
    from wallet.models import Posting

    return {
        "posting_id": Posting.objects.aggregate(m=Max("id"))["m"] or 0,
        "payment_method_id": PaymentMethod.objects.aggregate(m=Max("id"))["m"] or 0,
    }


def _players_since(watermark: dict):
    """Players with a posting or a payment method added after the watermark. The rules
    then evaluate each such player's full window, not only the new rows."""
    from payments.models import PaymentMethod
    from players.models import Player
    from wallet.models import Posting

    new_postings = Posting.objects.filter(
        id__gt=watermark.get("posting_id", 0), account__player__isnull=False
    ).values("account__player_id")
    new_methods = PaymentMethod.objects.filter(id__gt=watermark.get("payment_method_id", 0)).values(
        "player_id"
    )
    return Player.objects.filter(Q(pk__in=new_postings) | Q(pk__in=new_methods)).values("pk")


def _abandon_stale(now: datetime) -> None:
    AmlScanRun.objects.filter(state=AmlScanRun.State.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
        state=AmlScanRun.State.FAILED, finished_at=now, error="Abandoned: the worker stopped mid-scan."
    )


def _claim(*, full: bool, actor: User | None) -> AmlScanRun:
    now = timezone.now()
    _abandon_stale(now)
    last = AmlScanRun.objects.filter(state=AmlScanRun.State.DONE).order_by("-finished_at", "-id").first()
    try:
        with transaction.atomic():
            return AmlScanRun.objects.create(
                state=AmlScanRun.State.RUNNING,
                full=full or last is None,
                requested_by=actor,
                started_at=now,
                heartbeat_at=now,
                since_watermark={} if full or last is None else last.watermark,
            )
    except IntegrityError:
        raise DomainError("aml_scan_running", SCAN_RUNNING, status=409) from None


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
                severity=config.severity,
                evidence=f.evidence,
                scan_run=run,
            )
            for f in fresh.values()
        ],
        batch_size=_CHUNK,
        ignore_conflicts=True,
    )
    return len(fresh)


def aml_scan_run(*, full: bool = False, now: datetime | None = None, actor: User | None = None) -> AmlScanRun:
    """Run every enabled rule and create the alerts not raised yet.

    Invariants: one scan at a time; each rule's alerts and its count commit together; the
    watermark advances only when every rule has run, so a failed or killed scan is covered
    again by the next one (the natural keys absorb what it had already written). Without a
    done scan before it, a scan is full."""
    run = _claim(full=full, actor=actor)
    now = now or timezone.now()
    high = _watermark()
    scope = None if run.full else _players_since(run.since_watermark)
    try:
        if scope is not None:
            run.players_in_scope = scope.count()
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
    run.save(update_fields=["state", "watermark", "finished_at"])
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
                Finding(f.player_id, f.window_key, {**f.evidence, "raised_inline": trigger})
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
    """The rule's own keys, each of the default's type (ints may become floats)."""
    defaults = RULES[code].params
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
        if isinstance(default, str):
            ok = isinstance(value, str) and (key != "mode" or value in ("rolling", "lifetime"))
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if not ok:
            problem = "use rolling or lifetime" if key == "mode" else f"expected a number like {default}"
            raise DomainError("bad_params", BAD_PARAMS.format(key=key, problem=problem), field="params")
        out[key] = value
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
