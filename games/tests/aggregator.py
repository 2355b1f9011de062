"""A test double of a game aggregator: it signs each request's raw bytes with its secret
and calls the wallet API, as Hub88-style aggregators do. Also the shared set-up of the
wallet tests (a provider, a game, a funded player in a session)."""

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from games.models import Game, GameProvider, GameSession
from games.services import provider_create
from games.sessions import game_session_start
from players.models import Player
from wallet.models import Account
from wallet.services import Leg, house_account, player_accounts_ensure, transaction_post

BASE = "/api/wallet/v1/"


def sign(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass
class Aggregator:
    client: object  # django.test.Client
    code: str
    secret: str

    def raw(self, endpoint: str, raw: bytes, *, signature: str | None = None, provider: str | None = None):
        headers = {"HTTP_X_PROVIDER": provider if provider is not None else self.code}
        sig = sign(self.secret, raw) if signature is None else signature
        if sig:
            headers["HTTP_X_SIGNATURE"] = sig
        return self.client.generic("POST", BASE + endpoint, raw, content_type="application/json", **headers)

    def call(self, endpoint: str, body: dict, **kw) -> dict:
        r = self.raw(endpoint, json.dumps(body).encode(), **kw)
        assert r.status_code == 200, (r.status_code, r.content)
        return r.json()


def tx() -> str:
    return f"tx-{uuid.uuid4().hex[:12]}"


def credit(player: Player, amount: int, *, bonus: bool = False) -> None:
    """Put money on a player's cash (a deposit) or bonus account (a bonus grant)."""
    accounts = player_accounts_ensure(player)
    if bonus:
        mine, house, kind = accounts["player_bonus"], Account.Kind.HOUSE_BONUS_EXPENSE, "bonus"
    else:
        mine, house, kind = accounts["player_cash"], Account.Kind.HOUSE_PSP, "deposit"
    transaction_post(
        kind=kind,
        idempotency_key=f"test:{uuid.uuid4()}",
        legs=[Leg(mine, amount), Leg(house_account(house, "test", player.currency), -amount)],
    )


@dataclass
class World:
    agg: Aggregator
    provider: GameProvider
    game: Game
    player: Player
    session: GameSession

    def bet(self, amount: int, /, *, txid: str | None = None, round_id: str = "r1", **extra) -> dict:
        body = {
            "token": self.session.token,
            "player_id": self.player.public_id,
            "transaction_id": txid or tx(),
            "round_id": round_id,
            "game_code": self.game.code,
            "amount": amount,
            "currency": self.player.currency,
            **extra,
        }
        return self.agg.call("bet", body)

    def win(self, amount: int, bet_txid: str, /, *, txid: str | None = None, round_id: str = "r1", **extra):
        body = {
            "player_id": self.player.public_id,
            "transaction_id": txid or tx(),
            "round_id": round_id,
            "game_code": self.game.code,
            "amount": amount,
            "currency": self.player.currency,
            "reference_transaction_id": bet_txid,
            **extra,
        }
        return self.agg.call("win", body)

    def rollback(self, bet_txid: str, *, txid: str | None = None, **extra) -> dict:
        body = {
            "player_id": self.player.public_id,
            "transaction_id": txid or tx(),
            "reference_transaction_id": bet_txid,
            "round_id": "r1",
            **extra,
        }
        return self.agg.call("rollback", body)

    def balances(self) -> tuple[int, int]:
        accounts = player_accounts_ensure(self.player)
        return accounts["player_cash"].balance, accounts["player_bonus"].balance


def make_world(client, *, cash: int = 10_000, contribution: int = 100, code: str = "northlight") -> World:
    provider, secret = provider_create(code=code, name="Northlight Studios")
    game = Game.objects.create(
        provider=provider,
        external_code="frost",
        code=Game.code_for(code, "frost"),
        title="Frost Reels",
        category="slots",
        rtp="96.10",
        wagering_contribution=contribution,
        markets=["MT"],
    )
    player = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="Ada", last_name="Spin")
    if cash:
        credit(player, cash)
    session = game_session_start(player_id=player.pk, game_code=game.code, started_via="api:test")
    return World(Aggregator(client, code, secret), provider, game, player, session)
