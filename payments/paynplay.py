"""Pay N Play: a deposit that identifies (or registers) the player through their bank.

The player starts a deposit without an account (`paynplay_deposit_start`); the provider
logs them into their bank and, before the money moves, tells us who they are (Trustly's
`kyc` notification, Zimpler's KYC callback). `paynplay_identify` decides:

1. the player is found by national id (keyed hash), or registered from the bank's
   identity with registration channel pay_n_play (audited by players.services);
2. the gates decide: can_register (minimum age, national exclusion register) for a new
   player, can_login_to_play (status, exclusions, register) for a known one, then
   can_deposit for the amount;
3. basic identity is recorded as verified by the bank (compliance.kyc);
4. the answer: Trustly CONTINUE or FINISH; Zimpler the allowed amount, reduced to what
   the player's deposit limits leave, 0 when refused;
5. when allowed, the deposit's Payment exists for the player (reference = the one we
   sent), so the provider's credit notification credits it like any deposit.

A deposit started for a known player (`deposit_start`) that also carries an identity is
checked against that player: another person's bank identity refuses it.

Invariants: one decision per delivery, idempotent (a repeated identity finds the player
and the payment it created); no player is created when a gate refuses; concurrent
identities of one person are serialised by an advisory lock on the national id's hash.

The anonymous session (amount, currency, market) waits in the cache for the identity:
Payment.player is required, so no row can exist before we know who pays. A lost cache
entry answers FINISH (session_unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import Money
from compliance.gates import Decision, can_deposit, can_login_to_play, can_register
from compliance.kyc import kyc_bank_identity_record
from players import national_id
from players.models import Player
from players.services import MARKET_CURRENCIES, player_register

from .models import Notification, Payment, PaymentEvent, new_reference
from .providers import get_adapter
from .providers.base import BankIdentity, ProviderError

PROVIDERS = ("trustly", "zimpler")
NOT_PAYNPLAY = "Pay N Play runs through Trustly or Zimpler, not {provider}."
UNKNOWN_MARKET = "Pay N Play is not offered in market {market!r}."
WRONG_CURRENCY = "Accounts in {market} are held in {currency}."
PROVIDER_FAILED = "{provider} could not start the deposit: {error}"
SESSION_UNKNOWN = "No Pay N Play deposit {reference} is waiting (expired or never started)."
IDENTITY_MISMATCH = "The bank identified another person than the player who started the deposit."
NATIONAL_ID_MISSING = "The bank sent no national id: the player cannot be found or registered."


def _session_key(reference: str) -> str:
    return f"payments:paynplay:{reference}"


@dataclass(frozen=True)
class PayNPlayStart:
    reference: str
    redirect_url: str


def paynplay_deposit_start(*, provider: str, jurisdiction: str, amount: str, currency: str) -> PayNPlayStart:
    """Start an anonymous deposit with the provider's bank identification. Raises
    DomainError: provider_unavailable, unknown_market, wrong_currency, bad_amount,
    provider_error (502)."""
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
    adapter = get_adapter(provider)
    reference = new_reference()
    try:
        start = adapter.start_paynplay(
            reference=reference, amount=money.amount, currency=currency, country=market
        )
    except ProviderError as exc:
        raise DomainError(
            "provider_error", PROVIDER_FAILED.format(provider=adapter.name, error=exc), status=502
        ) from None
    cache.set(
        _session_key(reference),
        {
            "provider": provider,
            "jurisdiction": market,
            "amount": money.amount,
            "currency": currency,
            "provider_reference": start.provider_reference,
            "redirect_url": start.redirect_url,
            "provider_data": start.data,
        },
        timeout=settings.PAYNPLAY_SESSION_TTL_SECONDS,
    )
    return PayNPlayStart(reference=reference, redirect_url=start.redirect_url)


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
    with transaction.atomic():
        _lock(f"paynplay:{identity.payment_reference}")
        payment = (
            Payment.objects.select_for_update()
            .select_related("player")
            .filter(reference=identity.payment_reference, provider=provider)
            .first()
        )
        if payment is not None:
            return _known_payment(provider, identity, payment)
        session = cache.get(_session_key(identity.payment_reference))
        if not session or session.get("provider") != provider:
            return _decide(
                provider,
                identity,
                allowed=False,
                amount=0,
                currency=identity.currency,
                code="session_unknown",
                text=SESSION_UNKNOWN.format(reference=identity.payment_reference),
                changed=False,
                player=None,
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


def _new_payment(provider: str, identity: BankIdentity, session: dict, notification: Notification) -> Decided:
    currency, amount = session["currency"], session["amount"]
    market = identity.country if identity.country in MARKET_CURRENCIES else session["jurisdiction"]

    def refuse(code: str, text: str, player: Player | None = None, changed: bool = False) -> Decided:
        return _decide(
            provider,
            identity,
            allowed=False,
            amount=0,
            currency=currency,
            code=code,
            text=text,
            changed=changed,
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
    kyc_bank_identity_record(
        player_id=player.pk, source=f"{provider} pay n play {identity.provider_reference}"
    )
    if not created:
        decision = can_login_to_play(player)
        if not decision:
            return refuse(decision.code, decision.message, player, changed=True)
        if player.currency != currency:
            return refuse(
                "wrong_currency", f"The player's account is in {player.currency}.", player, changed=True
            )
    allowed, decision = _allowance(player, amount)
    # Trustly's transfer amount is fixed when the deposit starts: it cannot be reduced.
    if allowed <= 0 or (provider == "trustly" and allowed < amount):
        return refuse(decision.code, decision.message, player, changed=True)
    payment = Payment.objects.create(
        kind=Payment.Kind.DEPOSIT,
        player=player,
        provider=provider,
        amount=allowed,
        currency=currency,
        state=Payment.State.INITIATED,
        reference=identity.payment_reference,
        provider_reference=identity.provider_reference or session.get("provider_reference", ""),
        provider_data=session.get("provider_data") or {},
        redirect_url=session.get("redirect_url", ""),
    )
    note = "Pay N Play: " + ("player registered" if created else "player found") + " from the bank identity"
    if allowed < amount:
        note += f"; amount reduced from {amount} to {allowed} by the deposit limits"
    PaymentEvent.objects.create(
        payment=payment,
        to_state=Payment.State.INITIATED,
        source=PaymentEvent.Source.NOTIFICATION,
        notification=notification,
        note=note,
    )
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
