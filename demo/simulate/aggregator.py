"""The game aggregator's side: launch a game through the platform API, then play rounds
through the signed wallet API the way aggregators do, with their retries, duplicates and
rollbacks, each answer checked against the player's balance as the simulator knows it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .model import SimPlayer
from .world import World

TOKEN_MARGIN = timedelta(minutes=5)


def _bal(p: SimPlayer, value: int) -> int | None:
    """The balance to expect, or None (not checked) once the model lost track of it."""
    return None if p.uncertain else value


def play(w: World, rng: random.Random, p: SimPlayer) -> None:
    a = "play"
    if p.token is not None and p.token_expires - datetime.now(UTC) < TOKEN_MARGIN:
        p.token = None  # a launch is good for hours: runs that last longer launch again
    if p.token is None:
        game = w.creds.games[p.market]
        got = w.expect(
            a, reply := w.api(a, "POST", "/game-sessions", {"player_id": p.public_id, "game_code": game}), 201
        )
        w.check(a, reply, bool(got.get("token")), "a launch token")
        p.token, p.game = got["token"], game
        p.token_expires = datetime.fromisoformat(got["expires_at"])
        reply = w.wallet(a, "authenticate", {"token": p.token})
        got = w.expect_wallet(a, reply, "OK", _bal(p, p.cash))
        w.check(a, reply, got.get("player_id") == p.public_id, "the token is the player's")
        w.report.count(a, "launched")
    if rng.random() < 0.05:  # a call signed with the wrong secret: refused, nothing moves
        reply = w.wallet(a, "balance", {"player_id": p.public_id}, secret="not-the-secret")
        w.expect_wallet(a, reply, "INVALID_SIGNATURE")
        w.report.count(a, "bad-signature-refused")
    for _ in range(rng.randint(1, 3)):
        if not _round(w, rng, p):
            break  # out of money: the player leaves the game


def _round(w: World, rng: random.Random, p: SimPlayer) -> bool:
    """One round; False when the player could not cover the bet."""
    a = "play"
    n = w.unique()
    round_id = f"sim-{w.tag}-r{n}"
    bet_tx = f"{round_id}-bet"
    base = {"player_id": p.public_id, "round_id": round_id, "game_code": p.game, "currency": p.currency}
    if rng.random() < 0.08:
        # A rollback of a bet we never got succeeds; the bet arriving after it is refused.
        rb = {**base, "transaction_id": f"{round_id}-rb", "reference_transaction_id": bet_tx}
        w.expect_wallet(a, w.wallet(a, "rollback", rb), "OK")
        bet = {**base, "token": p.token, "transaction_id": bet_tx, "amount": 100}
        w.expect_wallet(a, w.wallet(a, "bet", bet), "BET_ALREADY_SETTLED")
        w.report.count(a, "unknown-bet-rolled-back")
        return True
    if p.cash == 0 or rng.random() < 0.1:
        bet = {**base, "token": p.token, "transaction_id": bet_tx, "amount": p.cash + rng.randint(1, 500)}
        w.expect_wallet(a, w.wallet(a, "bet", bet), "INSUFFICIENT_FUNDS", _bal(p, p.cash))
        # A bet's answer is final: the same call again is refused again.
        w.expect_wallet(a, w.wallet(a, "bet", bet), "INSUFFICIENT_FUNDS")
        w.report.count(a, "insufficient-funds")
        return False
    amount = rng.randint(1, min(p.cash, 500))
    bet = {**base, "token": p.token, "transaction_id": bet_tx, "amount": amount}
    first = w.expect_wallet(a, w.wallet(a, "bet", bet), "OK", _bal(p, p.cash - amount))
    p.cash -= amount
    if rng.random() < 0.15:  # the aggregator did not get our answer and sends the bet again
        again = w.expect_wallet(a, reply := w.wallet(a, "bet", bet), "OK", first.get("balance"))
        w.check(a, reply, again.get("replayed") is True, "a replay is answered as replayed")
        w.report.count(a, "bet-replayed")
    if rng.random() < 0.1:  # the same transaction id with other content
        reply = w.wallet(a, "bet", {**bet, "amount": amount + 1})
        w.expect_wallet(a, reply, "DUPLICATE_CONFLICT")
        w.report.count(a, "conflict-refused")
    if rng.random() < 0.15:
        rb = {**base, "transaction_id": f"{round_id}-rb", "reference_transaction_id": bet_tx}
        w.expect_wallet(a, w.wallet(a, "rollback", rb), "OK", _bal(p, p.cash + amount))
        p.cash += amount
        if rng.random() < 0.3:
            w.expect_wallet(a, w.wallet(a, "rollback", rb), "OK", _bal(p, p.cash))
        w.report.count(a, "bet-rolled-back")
        return True
    won = 0 if rng.random() < 0.5 else rng.randint(1, 3 * amount)
    win = {
        **base,
        "transaction_id": f"{round_id}-win",
        "reference_transaction_id": bet_tx,
        "amount": won,
        "round_closed": True,
    }
    first = w.expect_wallet(a, w.wallet(a, "win", win), "OK", _bal(p, p.cash + won))
    p.cash += won
    if rng.random() < 0.15:
        again = w.expect_wallet(a, reply := w.wallet(a, "win", win), "OK", first.get("balance"))
        w.check(a, reply, again.get("replayed") is True, "a replay is answered as replayed")
        w.report.count(a, "win-replayed")
    w.report.count(a, "won" if won else "lost")
    return True
