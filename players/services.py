"""Every write on players: registration, profile changes, status, sessions, notes, and the
audited reveal of a national id. Keyword-only, one transaction each, audited, refusing
with a DomainError whose code and field an API answers and a screen shows.

`actor` is the operator, or None with `actor_label` naming the machine ("api:frontend")."""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError

from . import national_id
from .models import Player, PlayerConsent, PlayerNote, PlayerSession
from .validation import clean_field

# The markets we sell into and each one's account currency. Jurisdiction rules proper
# (age, limits, cooling-off) are compliance's data; this is only what registration needs.
MARKET_CURRENCIES = {"MT": "EUR", "SE": "SEK", "FI": "EUR", "GB": "GBP", "DE": "EUR"}

PLAYER_NOT_FOUND = "No player with this id."
UNKNOWN_MARKET = "We do not operate in market {value!r}. Markets: {valid}."
CURRENCY_NOT_OFFERED = "Accounts in {market} are held in {currency}."
EMAIL_TAKEN = "A player with this email address already exists."
UNKNOWN_FIELD = "This field cannot be changed here."
UNKNOWN_CHANNEL = "Unknown consent channel {value!r}: email, sms or phone."
REASON_REQUIRED = "Say why: a reason is required."
STATUS_REFUSED = "A {status} player cannot be {verb}."
SESSION_NOT_FOUND = "No such session for this player."
SESSION_ENDS_BEFORE_START = "The session cannot end before it started."
NOTE_EMPTY = "The note is empty."
NATIONAL_ID_NONE = "This player has no national identity number on file."
NATIONAL_ID_UNREADABLE = "The stored number cannot be decrypted with the configured NATIONAL_ID_KEY."

UPDATABLE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "address_line",
    "postcode",
    "city",
    "country",
    "nationality",
    "language",
    "national_id",
)


def _label(actor, actor_label: str | None) -> str | None:
    return actor_label if actor is None else None


def _lock(player_id: int) -> Player:
    try:
        return Player.objects.select_for_update().get(pk=player_id)
    except Player.DoesNotExist:
        raise DomainError("player_not_found", PLAYER_NOT_FOUND, status=404) from None


def _check_email_free(email: str, exclude_pk: int | None = None) -> None:
    if email and Player.objects.filter(email=email).exclude(pk=exclude_pk).exists():
        raise DomainError("email_taken", EMAIL_TAKEN, field="email")


def _save_unique(player: Player, **kwargs) -> None:
    # The partial unique index settles a race between two registrations of one email.
    try:
        with transaction.atomic():
            player.save(**kwargs)
    except IntegrityError:
        raise DomainError("email_taken", EMAIL_TAKEN, field="email") from None


def _set_consents(player: Player, consents: dict[str, bool], source: str) -> tuple[dict, dict]:
    """Upsert the given channels; returns (before, after) of the ones that changed."""
    for channel in consents:
        if channel not in PlayerConsent.Channel.values:
            raise DomainError("unknown_channel", UNKNOWN_CHANNEL.format(value=channel), field="consents")
    if not consents:
        return {}, {}
    existing = {c.channel: c for c in PlayerConsent.objects.filter(player=player)}
    before, after, new, now = {}, {}, [], timezone.now()
    for channel, granted in consents.items():
        row = existing.get(channel)
        if row is not None and row.granted == bool(granted):
            continue
        before[f"consent_{channel}"] = row.granted if row else None
        after[f"consent_{channel}"] = bool(granted)
        if row is None:
            new.append(
                PlayerConsent(player=player, channel=channel, granted=bool(granted), at=now, source=source)
            )
        else:
            PlayerConsent.objects.filter(pk=row.pk).update(granted=bool(granted), at=now, source=source)
    PlayerConsent.objects.bulk_create(new)
    return before, after


def _audit_value(field: str, player: Player):
    if field == "national_id":
        return player.national_id_masked
    value = getattr(player, field)
    return value.isoformat() if isinstance(value, date) else value


# A change of any of these re-screens the player against the sanctions and PEP lists.
SCREENED_FIELDS = {"first_name", "last_name", "date_of_birth", "nationality", "country"}


def _screen(player: Player) -> None:
    # Inline, in this transaction: two indexed queries when nobody on the lists shares a
    # name token, and a strong sanctions match holds the player before a first deposit.
    from compliance.screening.services import player_screen

    player_screen(player_id=player.pk)


def _ensure_wallet_accounts(player: Player) -> None:
    # wallet sits above players (it imports players.models): imported here, not at the top.
    from wallet.services import player_accounts_ensure

    player_accounts_ensure(player=player)


@transaction.atomic
def player_register(
    *,
    jurisdiction: str,
    currency: str = "",
    registration_channel: str = Player.Channel.STANDARD,
    consents: dict[str, bool] | None = None,
    actor=None,
    actor_label: str | None = None,
    **profile,
) -> Player:
    """Register a player. Invariants: a market we operate in and its currency; a unique
    email; 18 or older; the national id stored only encrypted; the wallet accounts exist
    when this returns (same transaction)."""
    jurisdiction = (jurisdiction or "").strip().upper()
    if jurisdiction not in MARKET_CURRENCIES:
        raise DomainError(
            "unknown_market",
            UNKNOWN_MARKET.format(value=jurisdiction, valid=", ".join(MARKET_CURRENCIES)),
            field="jurisdiction",
        )
    market_currency = MARKET_CURRENCIES[jurisdiction]
    currency = (currency or market_currency).strip().upper()
    if currency != market_currency:
        raise DomainError(
            "currency_not_offered",
            CURRENCY_NOT_OFFERED.format(market=jurisdiction, currency=market_currency),
            field="currency",
        )
    unknown = set(profile) - set(UPDATABLE_FIELDS)
    if unknown:
        raise DomainError("unknown_field", UNKNOWN_FIELD, field=sorted(unknown)[0])
    if registration_channel not in Player.Channel.values:
        raise DomainError("invalid_channel", "Unknown registration channel.", field="registration_channel")
    cleaned = {f: clean_field(f, v) for f, v in profile.items()}
    _check_email_free(cleaned.get("email", ""))
    nid = cleaned.pop("national_id", "")
    player = Player(
        jurisdiction=jurisdiction,
        currency=currency,
        registration_channel=registration_channel,
        country=cleaned.pop("country", "") or jurisdiction,
        **cleaned,
        **national_id.protect(nid),
    )
    player.search_text = player.build_search_text()
    _save_unique(player)
    _, consent_after = _set_consents(player, consents or {}, "registration")
    audit.record(
        actor=actor,
        actor_label=_label(actor, actor_label),
        action="players.player.register",
        target=player,
        after={
            "public_id": player.public_id,
            "jurisdiction": jurisdiction,
            "currency": currency,
            "email": player.email,
            "national_id": player.national_id_masked,
            **consent_after,
        },
    )
    _ensure_wallet_accounts(player)
    _screen(player)
    return player


@transaction.atomic
def player_update(
    *,
    player_id: int,
    changes: dict,
    consents: dict[str, bool] | None = None,
    consent_source: str = "",
    actor=None,
    actor_label: str | None = None,
    note: str = "",
) -> Player:
    """Change profile fields and consents. Audits the before/after of what changed (the
    national id masked); writes nothing, and no event, when nothing changed."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise DomainError("unknown_field", UNKNOWN_FIELD, field=sorted(unknown)[0])
    player = _lock(player_id)
    before, after, dirty = {}, {}, []
    for field, raw in changes.items():
        value = clean_field(field, raw)
        if field == "national_id":
            if (national_id.search_hash(value) if value else "") == player.national_id_hash:
                continue
            before["national_id"] = player.national_id_masked
            for f, v in national_id.protect(value).items():
                setattr(player, f, v)
                dirty.append(f)
            after["national_id"] = player.national_id_masked
            continue
        if getattr(player, field) == value:
            continue
        if field == "email":
            _check_email_free(value, exclude_pk=player.pk)
        before[field] = _audit_value(field, player)
        setattr(player, field, value)
        after[field] = _audit_value(field, player)
        dirty.append(field)
    if dirty:
        player.search_text = player.build_search_text()
        _save_unique(player, update_fields=[*dirty, "search_text"])
        if SCREENED_FIELDS & set(dirty):
            _screen(player)
    source = consent_source or actor_label or (actor.email if actor is not None else "system")
    c_before, c_after = _set_consents(player, consents or {}, source)
    before.update(c_before)
    after.update(c_after)
    if after:
        audit.record(
            actor=actor,
            actor_label=_label(actor, actor_label),
            action="players.player.update",
            target=player,
            before=before,
            after=after,
            note=note,
        )
    return player


def _status_change(
    *,
    player_id: int,
    to: str,
    allowed_from: set[str],
    verb: str,
    action: str,
    reason: str,
    actor,
    actor_label,
) -> Player:
    if not (reason or "").strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    player = _lock(player_id)
    if player.status not in allowed_from:
        raise DomainError(
            "status_refused", STATUS_REFUSED.format(status=player.get_status_display().lower(), verb=verb)
        )
    before = {"status": player.status, "status_reason": player.status_reason}
    player.status, player.status_reason = to, reason.strip()[:300]
    player.status_changed_by = actor if actor is not None else None
    player.status_changed_at = timezone.now()
    player.save(update_fields=["status", "status_reason", "status_changed_by", "status_changed_at"])
    audit.record(
        actor=actor,
        actor_label=_label(actor, actor_label),
        action=action,
        target=player,
        before=before,
        after={"status": player.status, "status_reason": player.status_reason},
        note=reason,
    )
    return player


@transaction.atomic
def player_suspend(*, player_id: int, reason: str, actor=None, actor_label: str | None = None) -> Player:
    """Active -> suspended (reversible): the player cannot play or pay until reactivated."""
    return _status_change(
        player_id=player_id,
        to=Player.Status.SUSPENDED,
        allowed_from={Player.Status.ACTIVE},
        verb="suspended",
        action="players.player.suspend",
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


@transaction.atomic
def player_reactivate(*, player_id: int, reason: str, actor=None, actor_label: str | None = None) -> Player:
    """Suspended -> active. A closed or blocked account is not reopened here."""
    return _status_change(
        player_id=player_id,
        to=Player.Status.ACTIVE,
        allowed_from={Player.Status.SUSPENDED},
        verb="reactivated",
        action="players.player.reactivate",
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


@transaction.atomic
def player_close(*, player_id: int, reason: str, actor=None, actor_label: str | None = None) -> Player:
    """Active or suspended -> closed. Final: the account is kept for the record only."""
    return _status_change(
        player_id=player_id,
        to=Player.Status.CLOSED,
        allowed_from={Player.Status.ACTIVE, Player.Status.SUSPENDED},
        verb="closed",
        action="players.player.close",
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


@transaction.atomic
def session_start(
    *,
    player_id: int,
    ip: str | None = None,
    user_agent: str = "",
    device_id: str = "",
    started_at: datetime | None = None,
    reported_by: str = "",
) -> PlayerSession:
    """Record a login reported by the front end. Sessions are the player's own activity,
    not an operator's change: the row itself (with who reported it) is the record, so
    no audit event is written per login. Whether a player may log in is compliance's gate."""
    player = _lock(player_id)
    session = PlayerSession.objects.create(
        player=player,
        started_at=started_at or timezone.now(),
        ip=ip or None,
        user_agent=(user_agent or "")[:500],
        device_id=(device_id or "")[:128],
        reported_by=reported_by[:100],
    )
    Player.objects.filter(pk=player.pk).update(last_seen_at=session.started_at)
    return session


@transaction.atomic
def session_end(*, player_id: int, session_id: int, ended_at: datetime | None = None) -> PlayerSession:
    """Record a logout. Idempotent: ending an ended session returns it unchanged."""
    try:
        session = PlayerSession.objects.select_for_update().get(pk=session_id, player_id=player_id)
    except PlayerSession.DoesNotExist:
        raise DomainError("session_not_found", SESSION_NOT_FOUND, field="session_id", status=404) from None
    if session.ended_at is not None:
        return session
    ended_at = ended_at or timezone.now()
    if ended_at < session.started_at:
        raise DomainError("session_ends_before_start", SESSION_ENDS_BEFORE_START, field="at")
    session.ended_at = ended_at
    session.save(update_fields=["ended_at"])
    Player.objects.filter(pk=player_id).update(last_seen_at=ended_at)
    return session


@transaction.atomic
def note_add(*, player_id: int, body: str, actor, pinned: bool = False) -> PlayerNote:
    """An operator's note on a player; audited with its text."""
    if not (body or "").strip():
        raise DomainError("note_empty", NOTE_EMPTY, field="body")
    player = _lock(player_id)
    note = PlayerNote.objects.create(player=player, author=actor, body=body.strip(), pinned=pinned)
    audit.record(
        actor=actor,
        action="players.note.add",
        target=player,
        after={"note_id": note.pk, "pinned": pinned},
        note=note.body,
    )
    return note


@transaction.atomic
def player_national_id_reveal(*, player_id: int, actor) -> str:
    """The clear national id, for an operator allowed to see it. The audit event is
    written in the same transaction: no reveal without its record."""
    if not actor.has_perm("players.reveal_national_id"):
        raise DomainError("forbidden", "You may not reveal national identity numbers.", status=403)
    try:
        player = Player.objects.get(pk=player_id)
    except Player.DoesNotExist:
        raise DomainError("player_not_found", PLAYER_NOT_FOUND, status=404) from None
    if not player.national_id_encrypted:
        raise DomainError("national_id_none", NATIONAL_ID_NONE)
    try:
        value = national_id.decrypt(player.national_id_encrypted)
    except national_id.NationalIdUnreadable:
        raise DomainError("national_id_unreadable", NATIONAL_ID_UNREADABLE) from None
    audit.record(
        actor=actor,
        action="players.national_id.reveal",
        target=player,
        after={"national_id": player.national_id_masked},
    )
    return value
