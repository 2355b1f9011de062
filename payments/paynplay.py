"""Pay N Play: a deposit that identifies (or registers) the player through their bank.

The player starts a deposit without an account (`paynplay_deposit_start`), with the
limits they choose; the provider logs them into their bank and, before the money moves,
tells us who they are (Trustly's `kyc` notification, Zimpler's KYC callback).
`paynplay_identify` decides:

1. the player is found by national id (keyed hash), or registered from the bank's
   identity with registration channel pay_n_play (audited by players.services), and the
   limits asked for at the start are set (compliance.rg.limit_set, audited);
2. the gates decide: can_register (minimum age, national exclusion register) for a new
   player, can_login_to_play (status, exclusions, register) for a known one, then
   can_deposit for the amount;
3. basic identity is recorded as verified by the bank (compliance.kyc);
4. the answer: Trustly CONTINUE or FINISH; Zimpler the allowed amount, reduced to what
   the player's deposit limits leave, 0 when refused;
5. when allowed, the deposit's Payment exists for the player (reference = the one we
   sent), so the provider's credit notification credits it like any deposit.

The anonymous deposit waits in a PayNPlaySession row (Payment.player is required: no
payment exists before we know who pays); the row keeps the decision.

A deposit started for a known player (`deposit_start`) that also carries an identity is
checked against that player: another person's bank identity refuses it.

Invariants: a market that requires limits before play (rule mandatory_limits, SE) gets
them in the start request or the start is refused before any provider call; one decision
per session, idempotent (a repeated identity finds the player and the payment it
created, a refused session stays refused); no player is created when a gate refuses;
deliveries for one session are serialised by its row lock, identities of one person by an
advisory lock on the national id's hash (one player, however many arrive at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import Money
from compliance import rg
from compliance.gates import Decision, can_deposit, can_login_to_play, can_register
from compliance.kyc import kyc_bank_identity_record
from compliance.models import PlayerLimit
from compliance.selectors import rule_value
from players import national_id
from players.models import Player
from players.services import MARKET_CURRENCIES, player_register

from .models import Notification, Payment, PaymentEvent, PayNPlaySession, new_reference
from .providers import get_adapter
from .providers.base import BankIdentity, ProviderError

PROVIDERS = ("trustly", "zimpler")
NOT_PAYNPLAY = "Pay N Play runs through Trustly or Zimpler, not {provider}."
UNKNOWN_MARKET = "Pay N Play is not offered in market {market!r}."
WRONG_CURRENCY = "Accounts in {market} are held in {currency}."
PROVIDER_FAILED = "{provider} could not start the deposit: {error}"
SESSION_UNKNOWN = "No Pay N Play deposit {reference} is waiting (never started here)."
SESSION_EXPIRED = "Pay N Play deposit {reference} waited longer than {hours} h for the bank identity."
SESSION_CLOSED = "Pay N Play deposit {reference} was decided already: {code}."
IDENTITY_MISMATCH = "The bank identified another person than the player who started the deposit."
NATIONAL_ID_MISSING = "The bank sent no national id: the player cannot be found or registered."
LIMITS_REQUIRED = (
    "{market} requires a {kinds} limit before the first deposit (rule mandatory_limits): "
    'send it in limits, e.g. {{"kind": "deposit", "period": "week", "amount": "500.00"}}.'
)
LIMIT_BAD_KIND = "Unknown limit kind {value!r}: deposit, loss, wager or session."
LIMIT_BAD_PERIOD = "Unknown limit period {value!r}: day, week or month."
LIMIT_BAD_AMOUNT = "A limit is an amount of zero or more in {currency} (minutes for session): {error}"
LIMIT_TWICE = "The {kind} limit per {period} is given twice."


@dataclass(frozen=True)
class PayNPlayStart:
    reference: str
    redirect_url: str


def _limits_parse(limits: list[dict], currency: str) -> list[dict]:
    """The start request's limits, checked like compliance's limit API, amounts in minor
    units (minutes for session). Raises DomainError with the field at fault."""
    out, seen = [], set()
    for i, lim in enumerate(limits):
        kind, period, raw = lim.get("kind"), lim.get("period"), lim.get("amount")
        if kind not in PlayerLimit.Kind.values:
            raise DomainError(
                "invalid_limit_kind", LIMIT_BAD_KIND.format(value=kind), field=f"limits[{i}].kind"
            )
        if period not in PlayerLimit.Period.values:
            raise DomainError(
                "invalid_limit_period", LIMIT_BAD_PERIOD.format(value=period), field=f"limits[{i}].period"
            )
        try:
            if kind == PlayerLimit.Kind.SESSION:
                if not str(raw).strip().isdigit() or int(raw) < 1:
                    raise ValueError("a whole number of minutes, at least 1")
                amount = int(raw)
            else:
                amount = Money.parse(raw, currency).amount
                if amount < 0:
                    raise ValueError("not negative")
        except (TypeError, ValueError) as exc:
            raise DomainError(
                "invalid_limit_amount",
                LIMIT_BAD_AMOUNT.format(currency=currency, error=exc),
                field=f"limits[{i}].amount",
            ) from None
        if (kind, period) in seen:
            raise DomainError(
                "duplicate_limit", LIMIT_TWICE.format(kind=kind, period=period), field=f"limits[{i}]"
            )
        seen.add((kind, period))
        out.append({"kind": kind, "period": period, "amount": amount})
    return out


def _limits_required(market: str, limits: list[dict]) -> None:
    """The market's mandatory_limits rule (each entry a kind, or alternatives joined by
    "|"), checked at the start: a new player has no limits, and the deposit gate asks for
    them before the first deposit (SE: Spelinspektionen, a deposit limit before any play)."""
    kinds = {lim["kind"] for lim in limits}
    for entry in rule_value(jurisdiction=market, key="mandatory_limits", default=[]) or []:
        alternatives = entry.split("|")
        if not kinds & set(alternatives):
            raise DomainError(
                "limits_required",
                LIMITS_REQUIRED.format(market=market, kinds=" or ".join(alternatives)),
                field="limits",
            )


def paynplay_deposit_start(
    *, provider: str, jurisdiction: str, amount: str, currency: str, limits: list[dict] | None = None
) -> PayNPlayStart:
    """Start an anonymous deposit with the provider's bank identification; the session is
    stored before the provider is called. Raises DomainError: provider_unavailable,
    unknown_market, wrong_currency, bad_amount, limits_required, invalid_limit_kind,
    invalid_limit_period, invalid_limit_amount, duplicate_limit (all 400, before any
    provider call), provider_error (502, the session is kept as failed)."""
    if provider not in PROVIDERS:
        raise DomainError("provider_unavailable", NOT_PAYNPLAY.format(provider=provider), field="provider")
    market = (jurisdiction or "").upper()
    if market not in MARKET_CURRENCIES:
        raise DomainError("unknown_market", UNKNOWN_MARKET.format(market=market), field="jurisdiction")
    if currency != MARKET_CURRENCIES[market]:
        raise DomainError(
            "wrong_currency",
            WRONG_CURRENCY.format(market=market, currency=MARKET_CURRENCIES[market]),
            field="currency",
        )
    try:
        money = Money.parse(amount, currency)
    except (TypeError, ValueError) as exc:
        raise DomainError("bad_amount", str(exc), field="amount") from None
    if money.amount <= 0:
        raise DomainError("bad_amount", "The amount must be greater than zero.", field="amount")
    parsed_limits = _limits_parse(limits or [], currency)
    _limits_required(market, parsed_limits)
    adapter = get_adapter(provider)
    now = timezone.now()
    # Committed before the provider hears of the reference: an identity can never
    # arrive for a session we do not have.
    with transaction.atomic():
        session = PayNPlaySession.objects.create(
            reference=new_reference(),
            provider=provider,
            jurisdiction=market,
            amount=money.amount,
            currency=currency,
            limits=parsed_limits,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.PAYNPLAY_SESSION_TTL_SECONDS),
        )
    try:
        start = adapter.start_paynplay(
            reference=session.reference, amount=money.amount, currency=currency, country=market
        )
    except ProviderError as exc:
        PayNPlaySession.objects.filter(pk=session.pk, state=PayNPlaySession.State.STARTED).update(
            state=PayNPlaySession.State.FAILED, code="provider_error"
        )
        raise DomainError(
            "provider_error", PROVIDER_FAILED.format(provider=adapter.name, error=exc), status=502
        ) from None
    PayNPlaySession.objects.filter(pk=session.pk).update(
        provider_reference=start.provider_reference,
        redirect_url=start.redirect_url,
        provider_data=start.data,
    )
    return PayNPlayStart(reference=session.reference, redirect_url=start.redirect_url)


# --- the decision ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    allowed: bool
    amount: int  # minor units the player may deposit (0 when refused)
    code: str
    text: str
    reply: dict  # the provider's answer fields
    changed: bool = False
    player: Player | None = None
    payment: Payment | None = None


def _reply(provider: str, allowed: bool, amount: int, currency: str) -> dict:
    if provider == "trustly":
        return {"status": "CONTINUE" if allowed else "FINISH"}
    return {"amount": Money(amount if allowed else 0, currency or "EUR").to_decimal_string()}


def _lock(text: str) -> None:
    """Serialise work on one identity until the transaction ends. SQLite (make run's
    default) has no advisory locks and needs none: it lets one writer in at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [text])


def _allowance(player: Player, amount: int) -> tuple[int, Decision]:
    """The most the player may deposit now, up to `amount`, and the gate's decision on
    the full amount. The gate answers yes or no for an amount; a refusal for a deposit
    limit is monotone in the amount, so a binary search finds what the limits leave."""
    decision = can_deposit(player, amount)
    if decision or decision.code != "deposit_limit_reached":
        return (amount if decision else 0), decision
    lo, hi = 0, amount - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if can_deposit(player, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo, decision


def _dob(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _decide(
    provider: str,
    identity: BankIdentity,
    *,
    allowed: bool,
    amount: int,
    currency: str,
    code: str,
    text: str,
    changed: bool,
    player: Player | None,
    payment: Payment | None = None,
) -> Decided:
    audit.record(
        actor=None,
        actor_label=f"payments: {provider} pay n play",
        action="payments.paynplay.identify",
        target=player,
        after={
            "reference": identity.payment_reference,
            "provider_reference": identity.provider_reference,
            "allowed": allowed,
            "amount": amount if allowed else 0,
            "currency": currency,
            "code": code,
        },
        note=text,
    )
    prefix = f"pay n play {identity.payment_reference}: "
    return Decided(
        allowed=allowed,
        amount=amount if allowed else 0,
        code=code,
        text=prefix + text,
        reply=_reply(provider, allowed, amount, currency),
        changed=changed,
        player=player,
        payment=payment,
    )


def paynplay_identify(*, identity: BankIdentity, notification: Notification) -> Decided:
    """Decide on a bank identity (see the module's invariants) and answer it."""
    provider = notification.provider
    reference = identity.payment_reference
    with transaction.atomic():
        # The row lock serialises deliveries for one session; a deposit started for a
        # known player has no session, and its Payment row is locked instead.
        session = PayNPlaySession.objects.select_for_update().filter(reference=reference).first()
        if session is None or session.provider != provider:
            payment = (
                Payment.objects.select_for_update()
                .select_related("player")
                .filter(reference=reference, provider=provider)
                .first()
            )
            if payment is not None:
                return _known_payment(provider, identity, payment)
            return _decide(
                provider,
                identity,
                allowed=False,
                amount=0,
                currency=identity.currency,
                code="session_unknown",
                text=SESSION_UNKNOWN.format(reference=reference),
                changed=False,
                player=None,
            )
        if session.state == PayNPlaySession.State.IDENTIFIED:
            payment = Payment.objects.select_for_update().get(pk=session.payment_id)
            return _known_payment(provider, identity, payment)
        if session.state == PayNPlaySession.State.STARTED and timezone.now() >= session.expires_at:
            session.state, session.code = PayNPlaySession.State.EXPIRED, "session_expired"
            session.save(update_fields=["state", "code"])
            hours = round(settings.PAYNPLAY_SESSION_TTL_SECONDS / 3600, 1)
            return _decide(
                provider,
                identity,
                allowed=False,
                amount=0,
                currency=session.currency,
                code="session_expired",
                text=SESSION_EXPIRED.format(reference=reference, hours=hours),
                changed=True,
                player=None,
            )
        if session.state != PayNPlaySession.State.STARTED:
            # One decision per session: a refusal is not re-asked by a repeated delivery.
            return _decide(
                provider,
                identity,
                allowed=False,
                amount=0,
                currency=session.currency,
                code=session.code or session.state,
                text=SESSION_CLOSED.format(reference=reference, code=session.code or session.state),
                changed=False,
                player=session.player,
            )
        return _new_payment(provider, identity, session, notification)


def _known_payment(provider: str, identity: BankIdentity, payment: Payment) -> Decided:
    """A deposit that already has its player: started for a known player, or created by an
    earlier delivery of this identity."""
    player = Player.objects.select_for_update().get(pk=payment.player_id)
    common = {"amount": payment.amount, "currency": payment.currency, "player": player, "payment": payment}
    nid = national_id.normalize(identity.national_id)
    if nid and player.national_id_hash and player.national_id_hash != national_id.search_hash(nid):
        return _decide(
            provider,
            identity,
            allowed=False,
            code="identity_mismatch",
            text=IDENTITY_MISMATCH,
            changed=False,
            **common,
        )
    kyc_bank_identity_record(
        player_id=player.pk, source=f"{provider} pay n play {identity.provider_reference}"
    )
    decision = can_login_to_play(player)
    if decision and payment.state in (Payment.State.INITIATED, Payment.State.PENDING):
        # A started deposit's amount is fixed: the limits must leave room for all of it.
        decision = can_deposit(player, payment.amount)
    return _decide(
        provider,
        identity,
        allowed=bool(decision),
        code=decision.code,
        text=f"{player.public_id}: {decision.message or 'allowed'}",
        changed=True,
        **common,
    )


def _limits_apply(player: Player, limits: list[dict], *, created: bool, source: str) -> int:
    """Set the limits asked for at the start. A new player gets them all (first limits
    apply at once). A known player's own limits are only tightened or completed here: an
    increase goes through the regular flow with its cooling-off, never through a deposit
    page. Returns how many were set."""
    current = {} if created else {(lim.kind, lim.period): lim.amount for lim in rg.limits_in_force(player)}
    n = 0
    for lim in limits:
        key = (lim["kind"], lim["period"])
        if key in current and current[key] is not None and lim["amount"] >= current[key]:
            continue
        rg.limit_set(
            player_id=player.pk,
            kind=lim["kind"],
            period=lim["period"],
            amount=lim["amount"],
            actor=None,
            source=source,
        )
        n += 1
    return n


def _new_payment(
    provider: str, identity: BankIdentity, session: PayNPlaySession, notification: Notification
) -> Decided:
    currency, amount = session.currency, session.amount
    market = identity.country if identity.country in MARKET_CURRENCIES else session.jurisdiction
    source = f"{provider} pay n play {session.reference}"
    now = timezone.now()

    def refuse(code: str, text: str, player: Player | None = None) -> Decided:
        session.state, session.code, session.identified_at, session.player = (
            PayNPlaySession.State.REFUSED,
            code,
            now,
            player,
        )
        session.save(update_fields=["state", "code", "identified_at", "player"])
        return _decide(
            provider,
            identity,
            allowed=False,
            amount=0,
            currency=currency,
            code=code,
            text=text,
            changed=True,
            player=player,
        )

    if MARKET_CURRENCIES[market] != currency:
        return refuse(
            "wrong_currency", WRONG_CURRENCY.format(market=market, currency=MARKET_CURRENCIES[market])
        )
    nid = national_id.normalize(identity.national_id)
    if not nid:
        return refuse("national_id_missing", NATIONAL_ID_MISSING)
    nid_hash = national_id.search_hash(nid)
    # Two sessions of one person identified at once: the second waits here, then (a new
    # statement, a new snapshot under READ COMMITTED) finds the player the first created.
    _lock(f"national-id:{nid_hash}")
    player = Player.objects.select_for_update().filter(national_id_hash=nid_hash).first()
    created = player is None
    if created:
        decision = can_register(
            jurisdiction=market, date_of_birth=_dob(identity.date_of_birth), national_id=nid
        )
        if not decision:
            return refuse(decision.code, decision.message)
        try:
            player = player_register(
                jurisdiction=market,
                currency=currency,
                registration_channel=Player.Channel.PAY_N_PLAY,
                actor=None,
                actor_label=f"payments: {provider} pay n play",
                first_name=identity.first_name,
                last_name=identity.last_name,
                date_of_birth=_dob(identity.date_of_birth),
                address_line=identity.street,
                postcode=identity.postcode,
                city=identity.city,
                country=identity.country or market,
                national_id=nid,
            )
        except DomainError as exc:
            return refuse(exc.code, exc.message)
    kyc_bank_identity_record(player_id=player.pk, source=source)
    if not created:
        decision = can_login_to_play(player)
        if not decision:
            return refuse(decision.code, decision.message, player)
        if player.currency != currency:
            return refuse("wrong_currency", f"The player's account is in {player.currency}.", player)
    # Before the deposit gate: a market with mandatory limits asks for them first.
    limits_set = _limits_apply(player, session.limits, created=created, source=source)
    allowed, decision = _allowance(player, amount)
    # Trustly's transfer amount is fixed when the deposit starts: it cannot be reduced.
    if allowed <= 0 or (provider == "trustly" and allowed < amount):
        return refuse(decision.code, decision.message, player)
    payment = Payment.objects.create(
        kind=Payment.Kind.DEPOSIT,
        player=player,
        provider=provider,
        amount=allowed,
        currency=currency,
        state=Payment.State.INITIATED,
        reference=session.reference,
        provider_reference=identity.provider_reference or session.provider_reference,
        provider_data=session.provider_data or {},
        redirect_url=session.redirect_url,
    )
    note = "Pay N Play: " + ("player registered" if created else "player found") + " from the bank identity"
    if limits_set:
        note += f"; {limits_set} limit(s) set as asked at the start"
    if allowed < amount:
        note += f"; amount reduced from {amount} to {allowed} by the deposit limits"
    PaymentEvent.objects.create(
        payment=payment,
        to_state=Payment.State.INITIATED,
        source=PaymentEvent.Source.NOTIFICATION,
        notification=notification,
        note=note,
    )
    session.state, session.code, session.identified_at = PayNPlaySession.State.IDENTIFIED, "ok", now
    session.player, session.payment = player, payment
    session.save(update_fields=["state", "code", "identified_at", "player", "payment"])
    return _decide(
        provider,
        identity,
        allowed=True,
        amount=allowed,
        currency=currency,
        code="ok",
        text=f"{player.public_id}: {note}",
        changed=True,
        player=player,
        payment=payment,
    )


def paynplay_sessions_expire(*, now=None, batch: int = 500) -> int:
    """Mark `started` sessions past their expiry `expired` (code `session_expired`); how many.
    Rows are locked FOR UPDATE SKIP LOCKED: a session paynplay_identify holds is left to
    it (it expires the session itself, or identifies it), so a session gets one decision.
    One audit event per expired session (`payments.paynplay.expire`, actor system)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            PayNPlaySession.objects.select_for_update(skip_locked=True)
            .filter(state=PayNPlaySession.State.STARTED, expires_at__lte=now)
            .order_by("id")[:batch]
        )
        for session in due:
            session.state, session.code = PayNPlaySession.State.EXPIRED, "session_expired"
            session.save(update_fields=["state", "code"])
            audit.record(
                actor=None,
                actor_label="payments: pay n play expiry",
                action="payments.paynplay.expire",
                target=session,
                before={"state": PayNPlaySession.State.STARTED},
                after={"state": session.state, "code": session.code},
                note=f"no bank identity by {session.expires_at.isoformat()}",
            )
    return len(due)
