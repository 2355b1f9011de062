"""Risk scoring (docs/compliance.md, "Risk scoring"): per player, factors with their weights
and parameters as data (RiskFactorConfig), a score and a level, recomputed on events and
nightly, with a history row only when the score or the level changed. High risk requires
enhanced due diligence: the player's KYC profile gets an Enhanced requirement."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
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
        # The markets the officers list, plus the countries on the FATF lists in force (the
        # same table as the AML rule high_risk_country), by market or country of residence.
        from .aml.models import HighRiskCountry

        high = {c.upper() for c in params.get("high_risk", [])}
        fatf = set(HighRiskCountry.objects.in_force(now.date()).values_list("country", flat=True))
        hit = player.jurisdiction.upper() in high or player.jurisdiction.upper() in fatf
        if not hit and player.country and player.country.upper() in fatf:
            return 1.0, f"{player.jurisdiction} (residence {player.country.upper()}: FATF list)"
        return (1.0 if hit else 0.0), player.jurisdiction
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


# --- tuning the factors (the console's risk weights screen) -------------------------------

RISK_FACTOR_NOT_FOUND = "No risk factor {code!r}."
RISK_BAD_WEIGHT = "A weight is a whole number of points from 0 to {max}."
RISK_UNKNOWN_PARAM = "{key!r} is not a parameter of {code} (it has: {known})."
RISK_BAD_PARAM = "{code} {key}: {problem}."
RISK_THRESHOLDS_ORDER = "The medium threshold ({medium}) must be below the high threshold ({high})."
RISK_LEVELS_NO_WEIGHT = "The level thresholds have no weight: change their medium and high scores."
MAX_WEIGHT = 1000
# Each factor's parameters and their kind (see _factor). A factor without an entry here
# (added later) keeps the keys it has, each of the type it has.
RISK_PARAM_SPECS: dict[str, dict[str, str]] = {
    "jurisdiction": {"high_risk": "countries"},
    "pep": {},
    "deposit_volume": {"window_days": "days", "full_at_eur": "eur_minor"},
    "payment_methods": {"full_at": "count_from_2"},
    "aml_alerts": {"full_at": "count_from_1"},
    "kyc_level": {"by_level": "by_level"},
    "account_age": {"new_days": "days"},
    LEVELS_CODE: {"medium": "points", "high": "points"},
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _param_value(code: str, key: str, kind: str, value):
    """The value, normalised, or a DomainError naming the factor and the key."""

    def bad(problem: str):
        return DomainError(
            "bad_params", RISK_BAD_PARAM.format(code=code, key=key, problem=problem), field=f"{code}.{key}"
        )

    if kind == "countries":
        import pycountry

        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise bad('a list of two-letter country codes, e.g. ["IR", "KP"]')
        codes = sorted({c.strip().upper() for c in value if c.strip()})
        unknown = [c for c in codes if len(c) != 2 or pycountry.countries.get(alpha_2=c) is None]
        if unknown:
            raise bad(f"not ISO country codes: {', '.join(unknown)}")
        return codes
    if kind == "by_level":
        if not isinstance(value, dict) or not set(value) <= {"0", "1", "2", "3"}:
            raise bad("a value from 0 to 1 for each KYC level 0, 1, 2 and 3")
        for v in value.values():
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
                raise bad("each KYC level's value is a number from 0 to 1")
        return {k: float(value[k]) for k in sorted(value)}
    low, high = {
        "days": (1, 3650),
        "eur_minor": (1, 10**12),
        "count_from_2": (2, 1000),
        "count_from_1": (1, 1000),
        "points": (0, MAX_WEIGHT),
    }[kind]
    if not _is_int(value) or not low <= value <= high:
        raise bad(f"a whole number from {low} to {high}")
    return value


def _validate_params(code: str, current: dict, params: dict) -> dict:
    if not isinstance(params, dict):
        raise DomainError("bad_params", "Parameters must be a JSON object.", field=f"{code}.params")
    spec = RISK_PARAM_SPECS.get(code)
    known = list(spec) if spec is not None else list(current)
    for key in params:
        if key not in known:
            raise DomainError(
                "unknown_param",
                RISK_UNKNOWN_PARAM.format(key=key, code=code, known=", ".join(sorted(known)) or "none"),
                field=f"{code}.{key}",
            )
    merged = {**current, **params}
    out = {}
    for key in known:
        if key not in merged:
            continue
        if spec is not None:
            out[key] = _param_value(code, key, spec[key], merged[key])
        elif type(merged[key]) is not type(current[key]) and not (
            _is_int(current[key]) and isinstance(merged[key], float)
        ):
            raise DomainError(
                "bad_params",
                RISK_BAD_PARAM.format(code=code, key=key, problem=f"expected a value like {current[key]!r}"),
                field=f"{code}.{key}",
            )
        else:
            out[key] = merged[key]
    return out


@transaction.atomic
def risk_factor_update(
    *,
    code: str,
    actor,
    weight: int | None = None,
    enabled: bool | None = None,
    params: dict | None = None,
    note: str = "",
) -> RiskFactorConfig:
    """Change one factor's weight, on/off switch or parameters (keys not given keep their
    value), or, for the `levels` row, the level thresholds. Invariants: a known factor; a
    whole weight from 0 to MAX_WEIGHT; only the factor's parameter keys, each of its kind;
    medium threshold below high; the before and after audited (nothing written when nothing
    changed). Scores follow at their next computation (an event, or the nightly run)."""
    try:
        config = RiskFactorConfig.objects.select_for_update().get(code=code)
    except RiskFactorConfig.DoesNotExist:
        raise DomainError("factor_not_found", RISK_FACTOR_NOT_FOUND.format(code=code), status=404) from None
    before = {"weight": config.weight, "enabled": config.enabled, "params": config.params}
    if code == LEVELS_CODE and (weight not in (None, config.weight) or enabled is False):
        raise DomainError("levels_no_weight", RISK_LEVELS_NO_WEIGHT, field=f"{code}.weight")
    if weight is not None:
        if not _is_int(weight) or not 0 <= weight <= MAX_WEIGHT:
            raise DomainError("bad_weight", RISK_BAD_WEIGHT.format(max=MAX_WEIGHT), field=f"{code}.weight")
        config.weight = weight
    if enabled is not None:
        config.enabled = bool(enabled)
    if params is not None:
        config.params = _validate_params(code, config.params or {}, params)
    if code == LEVELS_CODE:
        t = {**DEFAULT_THRESHOLDS, **config.params}
        if t["medium"] >= t["high"]:
            raise DomainError(
                "thresholds_order", RISK_THRESHOLDS_ORDER.format(**t), field=f"{LEVELS_CODE}.medium"
            )
    after = {"weight": config.weight, "enabled": config.enabled, "params": config.params}
    if after != before:
        config.save(update_fields=["weight", "enabled", "params"])
        audit.record(
            actor=actor,
            action="compliance.risk_factor.change",
            target=config,
            before=before,
            after=after,
            note=note,
        )
    return config
