"""The compliance gates every money path calls before it moves money.

Each gate answers a Decision: allowed or not, a stable reason code, and a sentence an
operator (or the casino front end) can show ("deposit limit EUR 500.00/week reached until
2026-12-07, SE rule ..."). The sentence names the rule and the jurisdiction; the numbers
come from the jurisdiction's rule set, never from code branches."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Sum
from django.utils import timezone

from backoffice.money import Money
from players.models import Player

from . import rg
from .models import PlayerLimit
from .registers import national_register_check
from .selectors import rule_get, rule_value


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str = "ok"
    message: str = ""
    rule: str = ""  # "SE limit_increase_cooling_off_hours" etc.

    def __bool__(self) -> bool:
        return self.allowed


OK = Decision(True)


def _refuse(code: str, message: str, rule: str = "") -> Decision:
    return Decision(False, code, message, rule)


def _status(player: Player, *, allow_suspended: bool = False) -> Decision:
    if player.status == Player.Status.CLOSED:
        return _refuse("player_closed", "The account is closed.")
    if player.status == Player.Status.BLOCKED:
        return _refuse(
            "player_blocked", f"The account is blocked: {player.status_reason or 'see the player page'}."
        )
    if player.status == Player.Status.SUSPENDED and not allow_suspended:
        return _refuse(
            "player_suspended", f"The account is suspended: {player.status_reason or 'see the player page'}."
        )
    return OK


def _screening_hold(player: Player) -> Decision:
    """A confirmed sanctions match freezes the player (an asset freeze: no play, no money
    in or out); a strong sanctions match still open holds the same until an officer
    decides. One EXISTS-like read on a partial index (only frozen rows are in it)."""
    from .models import ScreeningMatch

    hold = (
        ScreeningMatch.objects.filter(player_id=player.pk, freezes=True)
        .order_by("status")  # "confirmed" before "open"
        .values_list("status", "watchlist", "external_id")[:1]
    )
    for status, watchlist, external_id in hold:
        if status == ScreeningMatch.Status.CONFIRMED:
            return _refuse(
                "sanctions_match",
                f"Frozen: confirmed match on the {watchlist.upper()} sanctions list (entry {external_id}). "
                "Compliance handles this account.",
            )
        return _refuse(
            "sanctions_review",
            f"Held: a likely match on the {watchlist.upper()} sanctions list (entry {external_id}) waits "
            "for compliance review.",
        )
    return OK


def _exclusion(player: Player, at: datetime) -> Decision:
    ex = rg.exclusion_in_force(player, at)
    if ex is None:
        return OK
    until = f"until {ex.ends_at:%Y-%m-%d %H:%M} UTC" if ex.ends_at else "indefinitely"
    if ex.lifted_at:
        until = f"until {ex.lifted_at:%Y-%m-%d %H:%M} UTC (lift approved)"
    code = "self_excluded" if ex.kind == "self_exclusion" else "timed_out"
    return _refuse(code, f"The player is under a {ex.get_kind_display().lower()} {until}, all brands.")


def _register(
    player_or_market: str, national_id: str | None, purpose: str, national_id_hash: str = ""
) -> Decision:
    register = rule_value(jurisdiction=player_or_market, key="national_exclusion_register", default="")
    if not register or not (national_id or national_id_hash):
        return OK
    if national_register_check(register=register, national_id=national_id, national_id_hash=national_id_hash):
        return _refuse(
            "national_register_excluded",
            f"Registered in the national exclusion register {register} ({player_or_market} rule "
            f"national_exclusion_register): no {purpose}.",
            f"{player_or_market} national_exclusion_register",
        )
    return OK


# --- Sums over the ledger, per calendar period ------------------------------------------


def _player_sum(player: Player, kinds: list[str], since: datetime, *, sign: str) -> int:
    """Sum of the player's cash+bonus postings of these transaction kinds since `since`:
    positive amounts (sign "+", deposits, wins) or the absolute of negative ones ("-")."""
    from wallet.models import Account, Posting

    qs = Posting.objects.filter(
        account__player=player,
        account__kind__in=[Account.Kind.PLAYER_CASH, Account.Kind.PLAYER_BONUS],
        transaction__kind__in=kinds,
        created_at__gte=since,
    )
    qs = qs.filter(amount__gt=0) if sign == "+" else qs.filter(amount__lt=0)
    total = qs.aggregate(s=Sum("amount"))["s"] or 0
    return abs(total)


def _limit_text(limit: PlayerLimit, currency: str) -> str:
    if limit.kind == PlayerLimit.Kind.SESSION:
        return f"{limit.amount} min/{limit.period}"
    return f"{Money(limit.amount, currency).format()}/{limit.period}"


def _check_limits(
    player: Player, kind: str, amount: int, used_fn, at: datetime, in_force: list[PlayerLimit]
) -> Decision:
    """Every period's limit of this kind applies; the first one the amount would cross
    refuses, so the lowest effectively wins."""
    for lim in sorted((lim for lim in in_force if lim.kind == kind), key=lambda lim: lim.amount):
        used = used_fn(rg.period_start(lim.period, at))
        if used + amount > lim.amount:
            until = rg.period_end(lim.period, at)
            left = max(lim.amount - used, 0)
            return _refuse(
                f"{kind}_limit_reached",
                f"{kind.capitalize()} limit {_limit_text(lim, player.currency)} reached until "
                f"{until:%Y-%m-%d %H:%M} UTC (left: {Money(left, player.currency).format()}; "
                f"{player.jurisdiction} responsible gambling limits).",
                f"{player.jurisdiction} {kind} limit",
            )
    return OK


# --- The gates ---------------------------------------------------------------------------


def can_register(
    *,
    jurisdiction: str,
    date_of_birth: date | None,
    national_id: str | None = None,
    today: date | None = None,
) -> Decision:
    today = today or timezone.now().date()
    from .models import Jurisdiction

    min_age = rule_value(jurisdiction=jurisdiction, key="minimum_age")
    if min_age is None or not Jurisdiction.objects.filter(code=jurisdiction, enabled=True).exists():
        return _refuse(
            "unknown_market", f"Pitboss does not serve market {jurisdiction} (no enabled rule set)."
        )
    if date_of_birth is None:
        return _refuse("date_of_birth_required", "The date of birth is needed to check the minimum age.")
    age = (
        today.year
        - date_of_birth.year
        - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
    )
    if age < min_age:
        return _refuse(
            "underage",
            f"Under the minimum age of {min_age} ({jurisdiction} rule minimum_age).",
            f"{jurisdiction} minimum_age",
        )
    return _register(jurisdiction, national_id, "registration")


def _kyc_before_play(player: Player, at: datetime) -> Decision:
    rule = rule_get(jurisdiction=player.jurisdiction, key="kyc_level_before_play", at=at)
    if rule is None or not rule.value:
        return OK
    from .models import KycLevel, KycProfile

    prof = KycProfile.objects.filter(player=player).first()
    level = prof.level if prof else KycLevel.NONE
    if level >= rule.value:
        return OK
    return _refuse(
        "kyc_required_before_play",
        f"{player.jurisdiction} requires '{KycLevel(rule.value).label}' verification before deposits and "
        f"play (rule kyc_level_before_play: {rule.source}).",
        f"{player.jurisdiction} kyc_level_before_play",
    )


def _mandatory_limits(player: Player, at: datetime, in_force: list[PlayerLimit]) -> Decision:
    """Markets that require a limit before any play (SE: deposit limits; DE: the monthly
    deposit limit). Each entry is a kind, or alternatives joined by "|"."""
    rule = rule_get(jurisdiction=player.jurisdiction, key="mandatory_limits", at=at)
    if rule is None or not rule.value:
        return OK
    kinds_set = {lim.kind for lim in in_force}
    for entry in rule.value:
        alternatives = entry.split("|")
        if not kinds_set & set(alternatives):
            return _refuse(
                "mandatory_limit_missing",
                f"{player.jurisdiction} requires a {' or '.join(alternatives)} limit before deposits and "
                f"play; the player has not set one (rule mandatory_limits: {rule.source}).",
                f"{player.jurisdiction} mandatory_limits",
            )
    return OK


def can_login_to_play(player: Player, at: datetime | None = None) -> Decision:
    at = at or timezone.now()
    return _first_refusal(
        lambda: _status(player),
        lambda: _exclusion(player, at),
        lambda: _register(player.jurisdiction, None, "play", player.national_id_hash),
        lambda: _screening_hold(player),
    )


def _first_refusal(*checks) -> Decision:
    """Run the checks in order (each a callable) and stop at the first refusal."""
    for check in checks:
        d = check()
        if not d:
            return d
    return OK


def can_deposit(player: Player, amount: int, at: datetime | None = None) -> Decision:
    at = at or timezone.now()
    in_force = rg.limits_in_force(player)
    return _first_refusal(
        lambda: _status(player),
        lambda: _exclusion(player, at),
        lambda: _kyc_before_play(player, at),
        lambda: _screening_hold(player),
        lambda: _mandatory_limits(player, at, in_force),
        lambda: _check_limits(
            player,
            "deposit",
            amount,
            lambda since: _player_sum(player, ["deposit"], since, sign="+"),
            at,
            in_force,
        ),
    )


def can_wager(
    player: Player, amount: int, at: datetime | None = None, session_started_at: datetime | None = None
) -> Decision:
    at = at or timezone.now()
    d = _first_refusal(
        lambda: _status(player),
        lambda: _exclusion(player, at),
        lambda: _kyc_before_play(player, at),
        lambda: _screening_hold(player),
    )
    if not d:
        return d
    in_force = rg.limits_in_force(player)
    d = _mandatory_limits(player, at, in_force)
    if not d:
        return d
    d = _check_limits(
        player, "wager", amount, lambda since: _player_sum(player, ["bet"], since, sign="-"), at, in_force
    )
    if not d:
        return d

    def net_loss(since):
        bets = _player_sum(player, ["bet"], since, sign="-")
        back = _player_sum(player, ["win", "rollback"], since, sign="+")
        return max(bets - back, 0)

    d = _check_limits(player, "loss", amount, net_loss, at, in_force)
    if not d:
        return d
    if session_started_at is not None:
        for lim in (lim for lim in in_force if lim.kind == "session"):
            minutes = (at - session_started_at).total_seconds() / 60
            if minutes >= lim.amount:
                return _refuse(
                    "session_limit_reached",
                    f"Session time limit of {lim.amount} minutes reached "
                    f"({player.jurisdiction} responsible gambling limits).",
                    f"{player.jurisdiction} session limit",
                )
    return OK


def can_withdraw(player: Player, at: datetime | None = None) -> Decision:
    """Excluded and suspended players may withdraw (their money is theirs); closed and
    blocked accounts go through compliance. KYC and AML holds join here when they exist.
    A sanctions freeze holds even a closed account's payout."""
    d = _screening_hold(player)
    if not d:
        return d
    d = _status(player, allow_suspended=True)
    if not d and player.status != Player.Status.CLOSED:  # a closed account may still be paid out
        return d
    from .models import KycProfile

    prof = KycProfile.objects.filter(player=player).first()
    if prof is not None and prof.requirement_open:
        due = f", due {prof.required_due:%Y-%m-%d}" if prof.required_due else ""
        return _refuse(
            "kyc_required",
            f"Held until KYC level '{prof.get_required_level_display()}' is reached "
            f"(now '{prof.get_level_display()}'): {prof.required_reason}{due}.",
            f"{player.jurisdiction} cdd_threshold",
        )
    return OK


def can_receive_bonus(player: Player, at: datetime | None = None) -> Decision:
    at = at or timezone.now()
    for d in (_status(player), _exclusion(player, at), _screening_hold(player)):
        if not d:
            return d
    rule = rule_get(jurisdiction=player.jurisdiction, key="bonus_first_play_only", at=at)
    if rule and rule.value:
        from wallet.models import Posting

        if Posting.objects.filter(account__player=player, transaction__kind="bet").exists():
            return _refuse(
                "bonus_first_play_only",
                f"{player.jurisdiction} allows a bonus only at the player's first play "
                f"(rule bonus_first_play_only: {rule.source}).",
                f"{player.jurisdiction} bonus_first_play_only",
            )
    return OK


def can_receive_marketing(player: Player, channel: str = "email", at: datetime | None = None) -> Decision:
    at = at or timezone.now()
    for d in (_status(player), _exclusion(player, at)):
        if not d:
            return d
    from players.models import PlayerConsent

    consent = PlayerConsent.objects.filter(player=player, channel=channel).first()
    if consent is None or not consent.granted:
        return _refuse("no_marketing_consent", f"No {channel} marketing consent on record.")
    return _register(player.jurisdiction, None, "marketing", player.national_id_hash)
