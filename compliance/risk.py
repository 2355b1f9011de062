"""Risk scoring (docs/compliance.md, "Risk scoring"): per player, factors with their weights
and parameters as data (RiskFactorConfig), a score and a level, recomputed on events and
nightly, with a history row only when the score or the level changed. High risk requires
enhanced due diligence: the player's KYC profile gets an Enhanced requirement."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from backoffice import audit
from players.models import Player

from .models import (
    AmlAlert,
    KycLevel,
    KycProfile,
    RiskFactorConfig,
    RiskLevel,
    RiskScore,
    ScreeningMatch,
    WatchList,
)

LEVELS_CODE = "levels"
DEFAULT_THRESHOLDS = {"medium": 30, "high": 60}


def _config() -> tuple[dict[str, RiskFactorConfig], dict]:
    rows = {c.code: c for c in RiskFactorConfig.objects.all()}
    levels = rows.pop(LEVELS_CODE, None)
    thresholds = {**DEFAULT_THRESHOLDS, **(levels.params if levels else {})}
    return {k: c for k, c in rows.items() if c.enabled}, thresholds


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _deposits_eur(player: Player, since: datetime) -> int:
    from wallet.models import Account, Posting

    from .kyc import _to_eur_minor

    total = (
        Posting.objects.filter(
            account__player=player,
            account__kind=Account.Kind.PLAYER_CASH,
            transaction__kind="deposit",
            amount__gt=0,
            created_at__gt=since,
        ).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    return _to_eur_minor(total, player.currency)


def _factor(code: str, params: dict, player: Player, now: datetime) -> tuple[float, object]:
    """(value 0..1, the raw observation shown in the breakdown)."""
    from payments.models import PaymentMethod

    if code == "jurisdiction":
        high = {c.upper() for c in params.get("high_risk", [])}
        return (1.0 if player.jurisdiction.upper() in high else 0.0), player.jurisdiction
    if code == "pep":
        pep = ScreeningMatch.objects.filter(
            player=player,
            watchlist=WatchList.PEP,
            status__in=[ScreeningMatch.Status.OPEN, ScreeningMatch.Status.CONFIRMED],
        ).exists()
        return (1.0 if pep else 0.0), pep
    if code == "deposit_volume":
        eur = _deposits_eur(player, now - timedelta(days=params.get("window_days", 180)))
        return _clamp(eur / max(params.get("full_at_eur", 1000000), 1)), eur
    if code == "payment_methods":
        n = PaymentMethod.objects.filter(player=player).aggregate(n=Count("fingerprint", distinct=True))["n"]
        full_at = max(params.get("full_at", 4), 2)
        return _clamp((n - 1) / (full_at - 1)), n
    if code == "aml_alerts":
        n = AmlAlert.objects.filter(player=player, status=AmlAlert.Status.OPEN).count()
        return _clamp(n / max(params.get("full_at", 3), 1)), n
    if code == "kyc_level":
        level = KycProfile.objects.filter(player=player).values_list("level", flat=True).first() or 0
        by_level = params.get("by_level", {"0": 1.0, "1": 0.6, "2": 0.2, "3": 0.0})
        return _clamp(float(by_level.get(str(level), 0.0))), level
    if code == "account_age":
        days = (now - player.created_at).days
        return (1.0 if days < params.get("new_days", 30) else 0.0), days
    return 0.0, None  # a configured code without code here scores nothing


def level_for(score: int, thresholds: dict) -> str:
    if score >= thresholds["high"]:
        return RiskLevel.HIGH
    if score >= thresholds["medium"]:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def current(player: Player) -> RiskScore | None:
    return RiskScore.objects.filter(player=player).order_by("-computed_at", "-id").first()


def _require_edd(player: Player, score: int, now: datetime) -> bool:
    """Open an Enhanced KYC requirement (idempotent). True when the requirement is open."""
    prof = KycProfile.objects.select_for_update().get_or_create(player=player)[0]
    if prof.level >= KycLevel.ENHANCED:
        return False
    if prof.required_level < KycLevel.ENHANCED:
        prof.required_level = KycLevel.ENHANCED
        prof.required_since = now
        prof.required_reason = f"High risk (score {score}): enhanced due diligence required"
        prof.save(update_fields=["required_level", "required_since", "required_reason"])
        audit.record(
            actor=None,
            action="compliance.kyc.requirement_open",
            target=player,
            after={"required_level": prof.required_level},
            note=prof.required_reason,
        )
    return True


@transaction.atomic
def risk_score_compute(player: Player, trigger: str, now: datetime | None = None) -> RiskScore:
    """Compute the player's score now; write a history row only when the score or the level
    changed (returns the current row either way)."""
    now = now or timezone.now()
    factors, thresholds = _config()
    breakdown: dict = {}
    total = 0.0
    for code, cfg in sorted(factors.items()):
        value, observed = _factor(code, cfg.params or {}, player, now)
        points = round(cfg.weight * value, 1)
        total += points
        breakdown[code] = {
            "value": round(value, 3),
            "observed": observed,
            "weight": cfg.weight,
            "points": points,
        }
    score = round(total)
    level = level_for(score, thresholds)
    edd = level == RiskLevel.HIGH and _require_edd(player, score, now)
    breakdown["edd_required"] = edd
    last = current(player)
    if last is not None and last.score == score and last.level == level:
        return last
    return RiskScore.objects.create(
        player=player, score=score, level=level, factors=breakdown, computed_at=now, trigger=trigger
    )


def risk_score_recompute_all(*, batch_size: int = 500, trigger: str = "nightly") -> int:
    """Every player, in batches by id (each player in its own transaction). Returns the
    number of history rows written."""
    written = 0
    last_id = 0
    while True:
        batch = list(Player.objects.filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not batch:
            return written
        for player in batch:
            before = current(player)
            if risk_score_compute(player, trigger) != before:
                written += 1
        last_id = batch[-1].pk
