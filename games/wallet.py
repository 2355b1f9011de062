"""The seamless wallet: what an aggregator's authenticate, balance, bet, win and rollback
calls do. games/wallet_api.py is the HTTP door (signature, JSON); this module is the
money. Every movement posts through wallet.services.transaction_post, in one database
transaction with the call's record (WalletTransaction).

Rules (docs/wallet-api.md has the protocol):

- (provider, transaction_id) is unique. A replay with the same content returns the
  stored answer and moves nothing; the same id with other content is DUPLICATE_CONFLICT.
  Concurrent copies of one call serialise on that unique index (and on the ledger's
  idempotency key): the loser rolls back and answers the winner's stored answer.
- A bet's answer is final whatever it is (a refused bet stays refused: the provider has
  already treated it as failed). A win or rollback that refers to a bet we have not seen
  is not stored, so the provider's retry after the bet arrives succeeds, except that a
  rollback of an unknown bet succeeds and stores the bet's id as a tombstone: the late
  bet collides with it and is refused with BET_ALREADY_SETTLED.
- A rollback refunds exactly the bet's postings, once (the ledger's `reverses` is
  unique); a second rollback of the same bet answers OK and moves nothing; a rollback
  after a win on the bet or after its round closed is BET_ALREADY_SETTLED.
- A bet asks the compliance gates (status, exclusions, KYC before play, mandatory,
  wager and loss limits, session time) with the player's accounts locked, so two bets
  racing on one player cannot both pass a limit. It spends cash first, then bonus money.
- A win needs no live session (it may come after the session expired or the player was
  blocked: the money is owed). It is split between cash and bonus in the proportion its
  bet was paid."""

import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from backoffice.errors import DomainError
from compliance import gates
from players.models import Player
from wallet import services as ledger
from wallet.models import Account, Posting, Transaction
from wallet.posting import PreparedCursor

from .models import Game, GameProvider, GameSession, Round, WalletTransaction

logger = logging.getLogger("pitboss.wallet")

OK = "OK"
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
INVALID_SIGNATURE = "INVALID_SIGNATURE"
INVALID_TOKEN = "INVALID_TOKEN"
TOKEN_EXPIRED = "TOKEN_EXPIRED"
PLAYER_BLOCKED = "PLAYER_BLOCKED"
LIMIT_REACHED = "LIMIT_REACHED"
WRONG_CURRENCY = "WRONG_CURRENCY"
UNKNOWN_GAME = "UNKNOWN_GAME"
DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND"
BET_ALREADY_SETTLED = "BET_ALREADY_SETTLED"
BAD_REQUEST = "BAD_REQUEST"
STATUSES = (
    OK,
    INSUFFICIENT_FUNDS,
    INVALID_SIGNATURE,
    INVALID_TOKEN,
    TOKEN_EXPIRED,
    PLAYER_BLOCKED,
    LIMIT_REACHED,
    WRONG_CURRENCY,
    UNKNOWN_GAME,
    DUPLICATE_CONFLICT,
    TRANSACTION_NOT_FOUND,
    BET_ALREADY_SETTLED,
    BAD_REQUEST,
)

# Gate reason codes (compliance.gates) by the wallet status they answer.
LIMIT_CODES = frozenset({"wager_limit_reached", "loss_limit_reached", "session_limit_reached"})

MAX_AMOUNT = 10**15  # minor units; far above any stake, well inside a bigint
MAX_ID = 200


# --- requests ----------------------------------------------------------------------------


class Refusal(Exception):
    """A business outcome other than OK. `store`: the answer is final and recorded."""

    def __init__(self, status: str, message: str, *, field: str | None = None, store: bool = True):
        super().__init__(message)
        self.status, self.message, self.field, self.store = status, message, field, store


def bad_request(fld: str, message: str) -> Refusal:
    return Refusal(BAD_REQUEST, message, field=fld, store=False)


# Every field a call may carry, by JSON type.
_STR, _INT, _BOOL = "string", "integer", "boolean"
FIELDS = {
    "token": _STR,
    "player_id": _STR,
    "transaction_id": _STR,
    "round_id": _STR,
    "game_code": _STR,
    "amount": _INT,
    "currency": _STR,
    "reference_transaction_id": _STR,
    "round_closed": _BOOL,
}
REQUIRED = {
    "authenticate": ("token",),
    "balance": ("player_id",),
    "bet": ("token", "player_id", "transaction_id", "round_id", "game_code", "amount", "currency"),
    "win": (
        "player_id",
        "transaction_id",
        "round_id",
        "game_code",
        "amount",
        "currency",
        "reference_transaction_id",
    ),
    "rollback": ("player_id", "transaction_id", "reference_transaction_id"),
}
# Optional fields each call reads; any other field is ignored.
OPTIONAL = {
    "authenticate": (),
    "balance": ("token", "currency"),
    "bet": ("round_closed",),
    "win": ("round_closed", "token"),
    "rollback": ("round_id", "game_code", "amount", "currency"),
}
# The content a replay must match: every field the call defines except the session token
# (a retry may carry a refreshed one) and round_closed's absence versus false.
HASHED = {
    "bet": ("player_id", "round_id", "game_code", "amount", "currency", "round_closed"),
    "win": (
        "player_id",
        "round_id",
        "game_code",
        "amount",
        "currency",
        "reference_transaction_id",
        "round_closed",
    ),
    "rollback": ("player_id", "reference_transaction_id", "round_id", "amount"),
}


def _encodable(v: str) -> bool:
    try:
        v.encode("utf-8")  # lone surrogates ("\\ud800") parse as JSON but are not text
    except UnicodeEncodeError:
        return False
    return True


def parse(endpoint: str, raw: bytes) -> dict:
    """The request's fields, checked: a JSON object, each known field of its type, the
    endpoint's required ones present. Unknown fields are ignored (aggregators add their
    own, such as request ids). Raises a BAD_REQUEST Refusal naming the field."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("body", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise bad_request("body", "The body must be a JSON object.")
    out: dict = {}
    for name in (*REQUIRED[endpoint], *OPTIONAL[endpoint]):
        if name not in data or data[name] is None:
            continue
        v, kind = data[name], FIELDS[name]
        if kind == _STR:
            if not isinstance(v, str) or not v.strip():
                raise bad_request(name, f"{name} must be a non-empty string.")
            if len(v) > MAX_ID:
                raise bad_request(name, f"{name} is longer than {MAX_ID} characters.")
            if "\x00" in v or not _encodable(v):
                raise bad_request(name, f"{name} contains characters that are not valid text.")
        elif kind == _INT:
            if isinstance(v, bool) or not isinstance(v, int):
                raise bad_request(name, f"{name} must be an integer number of minor units.")
            if not 0 <= v <= MAX_AMOUNT:
                raise bad_request(name, f"{name} must be between 0 and {MAX_AMOUNT}.")
        elif not isinstance(v, bool):
            raise bad_request(name, f"{name} must be true or false.")
        out[name] = v
    for name in REQUIRED[endpoint]:
        if name not in out:
            raise bad_request(name, f"{name} is required.")
    if "currency" in out and (len(out["currency"]) != 3 or not out["currency"].isalpha()):
        raise bad_request("currency", "currency is an ISO 4217 code such as EUR.")
    if "reference_transaction_id" in out and out["reference_transaction_id"] == out.get("transaction_id"):
        raise bad_request("reference_transaction_id", "A call cannot refer to its own transaction id.")
    if endpoint in ("bet", "win"):
        out.setdefault("round_closed", False)
    return out


def request_hash(endpoint: str, data: dict) -> str:
    content = [endpoint, *[data.get(k) for k in HASHED[endpoint]]]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


# --- answers ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: str
    balance: int | None = None
    currency: str | None = None
    transaction_id: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"status": self.status, "balance": self.balance, "currency": self.currency}
        if self.transaction_id is not None:
            out["transaction_id"] = self.transaction_id
        out.update(self.extra)
        return out


def _refusal_answer(r: Refusal, *, balance=None, currency=None, transaction_id=None) -> dict:
    extra = {"message": r.message}
    if r.field:
        extra["field"] = r.field
    return Answer(r.status, balance, currency, transaction_id, extra).as_dict()


# --- helpers ------------------------------------------------------------------------------


# House account ids by (provider code, currency). An id enters the cache only once the
# transaction that read or created it has committed: an account created by a call that
# then rolled back must not be remembered.
_house_ids: dict[tuple[str, str], int] = {}


def clear_caches() -> None:
    """Forget cached house account ids and providers (tests that flush the database call this)."""
    from .wallet_api import clear_provider_cache

    _house_ids.clear()
    clear_provider_cache()


def _house(provider: GameProvider, currency: str) -> Account:
    key = (provider.code, currency)
    pk = _house_ids.get(key)
    if pk is None:
        pk = ledger.house_account(Account.Kind.HOUSE_GAME_PROVIDER, provider.code, currency).pk
        transaction.on_commit(lambda: _house_ids.__setitem__(key, pk))
    return Account(pk=pk, kind=Account.Kind.HOUSE_GAME_PROVIDER, code=provider.code, currency=currency)


_ACCOUNTS = """
SELECT id, kind, balance FROM wallet_account
 WHERE player_id = %s AND currency = %s AND kind IN ('player_cash', 'player_bonus')
 ORDER BY id
"""


def _accounts(player: Player, *, lock: bool) -> tuple[Account, Account]:
    """The player's cash and bonus accounts in their currency (created when missing),
    locked in id order when `lock`. One prepared statement on PostgreSQL."""

    def read() -> dict[str, Account]:
        if connection.vendor != "postgresql":
            kinds = (Account.Kind.PLAYER_CASH, Account.Kind.PLAYER_BONUS)
            qs = Account.objects.filter(player=player, currency=player.currency, kind__in=kinds)
            return {a.kind: a for a in (qs.select_for_update() if lock else qs).order_by("id")}
        with PreparedCursor() as cur:
            rows = cur.all(_ACCOUNTS + (" FOR UPDATE" if lock else ""), [player.pk, player.currency])
        found = {}
        for pk, kind, held in rows:
            a = Account(pk=pk, kind=kind, currency=player.currency, player=player, balance=held)
            a._state.adding, a._state.db = False, "default"
            found[kind] = a
        return found

    found = read()
    if len(found) < 2:
        ledger.player_accounts_ensure(player)
        found = read()
    return found[Account.Kind.PLAYER_CASH], found[Account.Kind.PLAYER_BONUS]


def _one(qs):
    """The first row of a lookup by a unique key, without the ORDER BY `.first()` adds."""
    rows = list(qs.order_by()[:1])
    return rows[0] if rows else None


def _balance(player: Player) -> int:
    cash, bonus = _accounts(player, lock=False)
    return cash.balance + bonus.balance


def _player(public_id: str) -> Player:
    player = _one(Player.objects.filter(public_id=public_id))
    if player is None:
        raise bad_request("player_id", "Unknown player.")
    return player


def _game(provider: GameProvider, code: str) -> Game:
    game = _one(Game.objects.filter(code=code))
    if game is None or game.provider_id != provider.pk:
        raise Refusal(UNKNOWN_GAME, f"Unknown game {code!r} for provider {provider.code}.", field="game_code")
    return game


def _ledger_key(provider: GameProvider, transaction_id: str) -> str:
    return f"wallet:{provider.code}:{transaction_id}"


def _stored(provider: GameProvider, transaction_id: str) -> WalletTransaction | None:
    return _one(WalletTransaction.objects.filter(provider=provider, transaction_id=transaction_id))


def _replay(stored: WalletTransaction, kind: str, h: str) -> dict:
    """The answer for a transaction id we already hold."""
    if stored.tombstone:
        if kind == WalletTransaction.Kind.BET:
            return _refusal_answer(
                Refusal(
                    BET_ALREADY_SETTLED,
                    "This bet was rolled back before it arrived; it is refused.",
                    field="transaction_id",
                ),
                transaction_id=stored.transaction_id,
            )
    elif stored.kind == kind and stored.request_hash == h:
        return dict(stored.response, replayed=True)
    return _refusal_answer(
        Refusal(
            DUPLICATE_CONFLICT,
            f"Transaction id {stored.transaction_id!r} was already used for a different "
            f"{stored.get_kind_display().lower()} (#{stored.pk}).",
            field="transaction_id",
        ),
        transaction_id=stored.transaction_id,
    )


def _gate_refusal(decision: gates.Decision) -> Refusal:
    status = LIMIT_REACHED if decision.code in LIMIT_CODES else PLAYER_BLOCKED
    return Refusal(status, decision.message)


class _Collision(Exception):
    """Another copy of this call (or a tombstone) committed first: answer from its row."""


def _run(provider: GameProvider, kind: str, data: dict, work) -> dict:
    """Run `work` (which returns the answer and writes the WalletTransaction) in one
    database transaction; on a collision with a concurrent copy of the same call, answer
    the stored one instead."""
    txid = data["transaction_id"]
    h = request_hash(kind, data)
    # No look-up of the id first: a replay is rare, and the call's own record insert (or
    # the ledger's idempotency key) detects it, after which this attempt rolls back and
    # the stored answer is given.
    try:
        with transaction.atomic():
            return work(h)
    except (_Collision, IntegrityError) as exc:
        stored = _stored(provider, txid)
        if stored is None:
            raise  # not our unique key: a real fault, the caller answers 5xx (retry)
        logger.info("wallet %s %s:%s collided with a concurrent copy (%s)", kind, provider.code, txid, exc)
        return _replay(stored, kind, h)


_RECORD_INSERT = """
INSERT INTO games_wallettransaction
  (provider_id, transaction_id, kind, status, tombstone, player_id, round_id, game_id, amount, currency,
   bonus_amount, wagering_contribution, reference_transaction_id, round_closed, request_hash, request,
   response, ledger_transaction_id, created_at, duration_ms)
VALUES (%s, %s, %s, %s, false, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s)
RETURNING id
"""


def _record(provider, kind, data, h, answer: dict, started, **fields) -> WalletTransaction:
    """Insert the call's record. The unique (provider, transaction_id) makes the second of
    two racing copies fail here (IntegrityError), after waiting for the first to commit."""
    row = WalletTransaction(
        provider=provider,
        transaction_id=data["transaction_id"],
        kind=kind,
        status=answer["status"],
        amount=data.get("amount") or 0,
        currency=data.get("currency", ""),
        reference_transaction_id=data.get("reference_transaction_id", ""),
        round_closed=data.get("round_closed", False),
        request_hash=h,
        # The session token is a credential: not kept (it is not part of the content either).
        request={k: v for k, v in data.items() if k != "token"},
        response=answer,
        created_at=started,
        duration_ms=int((timezone.now() - started).total_seconds() * 1000),
        **fields,
    )
    if connection.vendor != "postgresql":
        row.save(force_insert=True)
        return row
    # PostgreSQL: one statement prepared once per connection (a record per spin; the ORM's
    # SQL compilation was a tenth of the call's time).
    with PreparedCursor() as cur:
        (row.pk,) = cur.one(
            _RECORD_INSERT,
            [
                provider.pk,
                row.transaction_id,
                row.kind,
                row.status,
                row.player_id,
                row.round_id,
                row.game_id,
                row.amount,
                row.currency,
                row.bonus_amount,
                row.wagering_contribution,
                row.reference_transaction_id,
                row.round_closed,
                h,
                json.dumps(row.request),
                json.dumps(row.response),
                row.ledger_transaction_id,
                started,
                row.duration_ms,
            ],
        )
    row._state.adding = False
    return row


# --- authenticate and balance --------------------------------------------------------------


def _session(token: str) -> GameSession:
    session = _one(GameSession.objects.select_related("player", "game").filter(token=token))
    if session is None:
        raise Refusal(INVALID_TOKEN, "Unknown game session token.", field="token", store=False)
    return session


def authenticate(provider: GameProvider, data: dict) -> dict:
    """Who the token's player is, their currency and balance. TOKEN_EXPIRED after the
    session's expiry; PLAYER_BLOCKED when the player may not play now."""
    try:
        session = _session(data["token"])
        if session.game.provider_id != provider.pk:
            raise Refusal(INVALID_TOKEN, "The token was issued for another provider's game.", field="token")
        player = session.player
        if timezone.now() >= session.expires_at:
            raise Refusal(
                TOKEN_EXPIRED, "The game session has expired; launch the game again.", field="token"
            )
        decision = gates.can_wager(player, 0, session_started_at=session.created_at)
        if not decision:
            raise _gate_refusal(decision)
    except Refusal as r:
        return _refusal_answer(r)
    return Answer(
        OK,
        _balance(player),
        player.currency,
        extra={
            "player_id": player.public_id,
            "country": player.jurisdiction,
            "game_code": session.game.code,
            "expires_at": session.expires_at.isoformat(),
        },
    ).as_dict()


def balance(provider: GameProvider, data: dict) -> dict:
    """The player's cash plus bonus balance. A token, when sent, must be the player's
    (an expired one is fine: balance is asked after play too)."""
    try:
        player = _player(data["player_id"])
        if "token" in data:
            session = _session(data["token"])
            if session.player_id != player.pk or session.game.provider_id != provider.pk:
                raise Refusal(
                    INVALID_TOKEN, "The token belongs to another player or provider.", field="token"
                )
        if data.get("currency", player.currency) != player.currency:
            raise Refusal(
                WRONG_CURRENCY, f"The player's currency is {player.currency}.", field="currency", store=False
            )
    except Refusal as r:
        return _refusal_answer(r)
    return Answer(OK, _balance(player), player.currency, extra={"player_id": player.public_id}).as_dict()


# --- bet -------------------------------------------------------------------------------------


def bet(provider: GameProvider, data: dict) -> dict:
    started = timezone.now()

    def work(h: str) -> dict:
        player = game = rnd = None
        try:
            session = _session(data["token"])
            player = session.player
            if player.public_id != data["player_id"]:
                raise Refusal(INVALID_TOKEN, "The token belongs to another player.", field="token")
            game = (
                session.game if session.game.code == data["game_code"] else _game(provider, data["game_code"])
            )
            if game.provider_id != provider.pk:
                raise Refusal(UNKNOWN_GAME, f"Unknown game {game.code!r} for provider {provider.code}.")
            if session.game_id != game.pk:
                raise Refusal(INVALID_TOKEN, f"The token was issued for {session.game.code}.", field="token")
            if started >= session.expires_at:
                raise Refusal(TOKEN_EXPIRED, "The game session has expired; launch the game again.")
            if data["currency"] != player.currency:
                raise Refusal(
                    WRONG_CURRENCY, f"The player's currency is {player.currency}.", field="currency"
                )
            if not game.enabled or provider.status != GameProvider.Status.ACTIVE:
                raise Refusal(
                    UNKNOWN_GAME, f"{game.title} is not available at the moment.", field="game_code"
                )
            cash, bonus = _accounts(player, lock=True)
            amount = data["amount"]
            decision = gates.can_wager(player, amount, at=started, session_started_at=session.created_at)
            if not decision:
                raise _gate_refusal(decision)
            held = cash.balance + bonus.balance
            if held < amount:
                raise Refusal(INSUFFICIENT_FUNDS, "The player's balance does not cover the bet.")
            contribution = amount * game.wagering_contribution // 100
            rnd = _round_add_bet(provider, data, player, game, amount, contribution, started)
        except Refusal as r:
            held = _balance(player) if player is not None else None
            answer = _refusal_answer(
                r,
                balance=held,
                currency=player.currency if player is not None else None,
                transaction_id=data["transaction_id"],
            )
            _record(provider, "bet", data, h, answer, started, player=player, game=game, round=rnd)
            return answer
        from_cash = min(cash.balance, amount)
        from_bonus = amount - from_cash
        ledger_txn = None
        if amount:
            legs = [ledger.Leg(_house(provider, player.currency), amount)]
            if from_cash:
                legs.append(ledger.Leg(cash, -from_cash))
            if from_bonus:
                legs.append(ledger.Leg(bonus, -from_bonus))
            ledger_txn = _post(
                provider,
                Transaction.Kind.BET,
                data,
                legs,
                {"game": game.code, "bonus": from_bonus, "wagering_contribution": contribution},
            )
        answer = Answer(OK, held - amount, player.currency, data["transaction_id"]).as_dict()
        _record(
            provider,
            "bet",
            data,
            h,
            answer,
            started,
            player=player,
            game=game,
            round=rnd,
            bonus_amount=from_bonus,
            wagering_contribution=contribution,
            ledger_transaction=ledger_txn,
        )
        return answer

    return _run(provider, "bet", data, work)


_ROUND_INSERT = """
INSERT INTO games_round
  (provider_id, external_id, player_id, game_id, currency, total_bet, total_win, wagering_contributed,
   opened_at, closed_at)
VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s, %s)
ON CONFLICT (provider_id, external_id) DO NOTHING
RETURNING id
"""


def _round_add_bet(provider, data, player, game, amount: int, contribution: int, at) -> Round:
    """Open the bet's round with it (one statement, the common case), or add the bet to the
    round already open for this player and game. A round of another player or game, or a
    closed one, refuses the bet."""
    closed_at = at if data["round_closed"] else None
    with connection.cursor() as cur:
        cur.execute(
            _ROUND_INSERT,
            [
                provider.pk,
                data["round_id"],
                player.pk,
                game.pk,
                player.currency,
                amount,
                contribution,
                at,
                closed_at,
            ],
        )
        row = cur.fetchone()
    if row is not None:
        return Round(
            pk=row[0],
            provider=provider,
            external_id=data["round_id"],
            player=player,
            game=game,
            currency=player.currency,
            total_bet=amount,
            wagering_contributed=contribution,
            opened_at=at,
            closed_at=closed_at,
        )
    rnd = Round.objects.select_for_update().get(provider=provider, external_id=data["round_id"])
    if rnd.player_id != player.pk or rnd.game_id != game.pk:
        raise Refusal(BAD_REQUEST, "This round belongs to another player or game.", field="round_id")
    if rnd.closed_at is not None:
        raise Refusal(BAD_REQUEST, "This round is closed: no more bets.", field="round_id")
    Round.objects.filter(pk=rnd.pk).update(
        total_bet=F("total_bet") + amount,
        wagering_contributed=F("wagering_contributed") + contribution,
        closed_at=closed_at,
    )
    return rnd


def _post(provider, kind, data, legs, metadata, reverses=None) -> Transaction:
    try:
        txn = ledger.transaction_post(
            kind=kind,
            idempotency_key=_ledger_key(provider, data["transaction_id"]),
            legs=legs,
            reference=f"{provider.code}:{data.get('round_id', '')}",
            metadata={"provider": provider.code, "round": data.get("round_id", ""), **metadata},
            reverses=reverses,
            # The call's own transaction is the unit: any refusal inside rolls all of it back.
            savepoint=False,
        )
    except DomainError as e:
        if e.code == "idempotency_conflict":
            raise _Collision(e.message) from None
        raise
    if txn.replayed:  # a concurrent copy posted it: roll this attempt back, answer the stored one
        raise _Collision("ledger key replayed")
    return txn


# --- win -------------------------------------------------------------------------------------


def _the_bet(provider, data) -> WalletTransaction:
    """The bet a win or rollback refers to, locked, with its player, game and round (one
    query). TRANSACTION_NOT_FOUND (not stored: a retry after the bet arrives succeeds) when
    we hold no bet by that id; BAD_REQUEST when the id is not a bet or not this player's."""
    ref = data["reference_transaction_id"]
    row = _one(
        WalletTransaction.objects.select_for_update(of=("self",))
        .filter(provider=provider, transaction_id=ref)
        .select_related("round", "player", "game")
    )
    if row is None:
        raise Refusal(
            TRANSACTION_NOT_FOUND,
            f"No bet {ref!r} from {provider.code}.",
            field="reference_transaction_id",
            store=False,
        )
    if row.kind != WalletTransaction.Kind.BET:
        raise bad_request("reference_transaction_id", f"{ref!r} is a {row.kind}, not a bet.")
    if row.player is not None and row.player.public_id != data["player_id"]:
        raise bad_request("reference_transaction_id", f"Bet {ref!r} belongs to another player.")
    return row


def win(provider: GameProvider, data: dict) -> dict:
    started = timezone.now()

    def work(h: str) -> dict:
        the_bet = _the_bet(provider, data)
        if the_bet.tombstone or the_bet.status != OK:
            raise Refusal(
                TRANSACTION_NOT_FOUND,
                f"Bet {the_bet.transaction_id!r} was refused or never arrived: it pays no win.",
                field="reference_transaction_id",
                store=False,
            )
        player, game, rnd = the_bet.player, the_bet.game, the_bet.round
        if data["currency"] != player.currency:
            raise Refusal(
                WRONG_CURRENCY, f"The player's currency is {player.currency}.", field="currency", store=False
            )
        if data["game_code"] != game.code:
            _game(provider, data["game_code"])  # UNKNOWN_GAME when it is no game of ours
            raise bad_request("game_code", "The win's game is not its bet's.")
        if rnd.external_id != data["round_id"]:
            raise bad_request("round_id", "The win's round is not its bet's.")
        if the_bet.rolled_back_by_id is not None:
            answer = _refusal_answer(
                Refusal(BET_ALREADY_SETTLED, "The bet was rolled back: it pays no win."),
                balance=_balance(player),
                currency=player.currency,
                transaction_id=data["transaction_id"],
            )
            _record(provider, "win", data, h, answer, started, player=player, game=game, round=rnd)
            return answer
        amount = data["amount"]
        # Locked when money moves (the posting locks them anyway): the answer's balance is exact.
        cash, bonus = _accounts(player, lock=bool(amount))
        ledger_txn = None
        if amount:
            to_bonus = amount * the_bet.bonus_amount // the_bet.amount if the_bet.amount else 0
            to_cash = amount - to_bonus
            legs = [ledger.Leg(_house(provider, player.currency), -amount)]
            if to_cash:
                legs.append(ledger.Leg(cash, to_cash))
            if to_bonus:
                legs.append(ledger.Leg(bonus, to_bonus))
            ledger_txn = _post(
                provider,
                Transaction.Kind.WIN,
                data,
                legs,
                {"game": game.code, "bet": the_bet.transaction_id, "bonus": to_bonus},
            )
        update = {"total_win": F("total_win") + amount}
        if data["round_closed"] and rnd.closed_at is None:
            update["closed_at"] = started
        Round.objects.filter(pk=rnd.pk).update(**update)
        held = cash.balance + bonus.balance + amount
        answer = Answer(OK, held, player.currency, data["transaction_id"]).as_dict()
        _record(
            provider,
            "win",
            data,
            h,
            answer,
            started,
            player=player,
            game=game,
            round=rnd,
            ledger_transaction=ledger_txn,
        )
        return answer

    try:
        return _run(provider, "win", data, work)
    except Refusal as r:
        return _refusal_answer(r, transaction_id=data["transaction_id"])


# --- rollback --------------------------------------------------------------------------------


def _claim_tombstone(provider, data, player) -> bool:
    """Insert the referenced bet's id as a tombstone unless a row holds it. True when the
    tombstone was written (the bet is unknown). Waits for a concurrent insert of that id
    to commit or roll back, so a bet and its rollback racing cannot both miss."""
    ref = data["reference_transaction_id"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO games_wallettransaction
                  (provider_id, transaction_id, kind, status, tombstone, player_id, amount, currency,
                   bonus_amount, wagering_contribution, reference_transaction_id, round_closed,
                   request_hash, request, response, created_at)
                VALUES (%s, %s, 'bet', %s, true, %s, 0, '', 0, 0, '', false, '', '{}'::jsonb,
                        %s::jsonb, %s)
                ON CONFLICT (provider_id, transaction_id) DO NOTHING
                RETURNING id
                """,
                [
                    provider.pk,
                    ref,
                    BET_ALREADY_SETTLED,
                    player.pk,
                    json.dumps({"status": BET_ALREADY_SETTLED, "tombstone_for": data["transaction_id"]}),
                    timezone.now(),
                ],
            )
            return cur.fetchone() is not None
    if _stored(provider, ref) is not None:  # SQLite (the embedded demo): writers are serialised
        return False
    WalletTransaction.objects.create(
        provider=provider,
        transaction_id=ref,
        kind="bet",
        status=BET_ALREADY_SETTLED,
        tombstone=True,
        player=player,
        response={"status": BET_ALREADY_SETTLED, "tombstone_for": data["transaction_id"]},
    )
    return True


def rollback(provider: GameProvider, data: dict) -> dict:
    started = timezone.now()

    def work(h: str) -> dict:
        player = _player(data["player_id"])
        if "currency" in data and data["currency"] != player.currency:
            raise Refusal(
                WRONG_CURRENCY, f"The player's currency is {player.currency}.", field="currency", store=False
            )

        def ok(**fields) -> dict:
            answer = Answer(OK, _balance(player), player.currency, data["transaction_id"]).as_dict()
            row = _record(provider, "rollback", data, h, answer, started, player=player, **fields)
            return answer, row

        if _claim_tombstone(provider, data, player):
            return ok()[0]
        the_bet = _the_bet(provider, data)
        if "amount" in data and not the_bet.tombstone and data["amount"] != the_bet.amount:
            raise bad_request("amount", f"The bet was {the_bet.amount}, not {data['amount']}.")
        if the_bet.tombstone or the_bet.rolled_back_by_id is not None:
            return ok(round=the_bet.round)[0]  # already rolled back: nothing moves
        if the_bet.status != OK:  # the bet was refused: nothing to refund
            answer, row = ok(round=the_bet.round)
            WalletTransaction.objects.filter(pk=the_bet.pk).update(rolled_back_by=row)
            return answer
        rnd = the_bet.round
        settled = (
            rnd.closed_at is not None
            or WalletTransaction.objects.filter(
                provider=provider, kind="win", reference_transaction_id=the_bet.transaction_id, status=OK
            ).exists()
        )
        if settled:
            answer = _refusal_answer(
                Refusal(
                    BET_ALREADY_SETTLED, "The bet's round is settled (a win was paid or the round closed)."
                ),
                balance=_balance(player),
                currency=player.currency,
                transaction_id=data["transaction_id"],
            )
            _record(provider, "rollback", data, h, answer, started, player=player, round=rnd)
            return answer
        ledger_txn = None
        if the_bet.ledger_transaction_id is not None:
            postings = Posting.objects.filter(transaction_id=the_bet.ledger_transaction_id).select_related(
                "account"
            )
            ledger_txn = _post(
                provider,
                Transaction.Kind.ROLLBACK,
                {**data, "round_id": rnd.external_id},
                [ledger.Leg(p.account, -p.amount) for p in postings],
                {"bet": the_bet.transaction_id},
                reverses=Transaction(pk=the_bet.ledger_transaction_id),
            )
        Round.objects.filter(pk=rnd.pk).update(
            total_bet=F("total_bet") - the_bet.amount,
            wagering_contributed=F("wagering_contributed") - the_bet.wagering_contribution,
        )
        answer = Answer(OK, _balance(player), player.currency, data["transaction_id"]).as_dict()
        row = _record(
            provider,
            "rollback",
            data,
            h,
            answer,
            started,
            player=player,
            game=the_bet.game,
            round=rnd,
            ledger_transaction=ledger_txn,
        )
        WalletTransaction.objects.filter(pk=the_bet.pk).update(rolled_back_by=row)
        return answer

    try:
        return _run(provider, "rollback", data, work)
    except Refusal as r:
        return _refusal_answer(r, transaction_id=data["transaction_id"])


HANDLERS = {"authenticate": authenticate, "balance": balance, "bet": bet, "win": win, "rollback": rollback}
