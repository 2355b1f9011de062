"""The simulation's shared state and the checks every action uses: one HTTP client for
Pitboss, the credentials, the payment doubles, the players the simulator created (each
used by one action at a time) and the report."""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field

from .client import Http, Reply, Unreachable, wallet_signature
from .model import Report, SimPlayer
from .sandboxes import Doubles

_IDS = re.compile(r"/(players|withdrawals)/[^/]+")  # counted per endpoint, not per player
WALLET_RETRIES = 6  # a 5xx from the wallet means nothing moved: the aggregator retries


class Lost(Exception):
    """The action cannot go on: the server did not answer, or an answer was unexpected
    and the model of the player can no longer be trusted."""


@dataclass(frozen=True)
class Credentials:
    api_key: str
    provider: str  # the game provider's code (X-Provider)
    secret: str
    games: dict[str, str]  # market -> a game code offered there


@dataclass
class World:
    http: Http
    creds: Credentials
    doubles: Doubles
    report: Report
    tag: str  # makes this run's emails, national ids and transaction ids unique
    players: list[SimPlayer] = field(default_factory=list)
    _idle: list[SimPlayer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _n: int = 0

    # --- players: each in one action at a time, so the model's balance is exact --------------

    def add(self, p: SimPlayer) -> None:
        with self._lock:
            self.players.append(p)
            self._idle.append(p)

    def checkout(self, rng: random.Random, want=None) -> SimPlayer | None:
        with self._lock:
            pool = [p for p in self._idle if want is None or want(p)]
            if not pool:
                return None
            p = rng.choice(pool)
            self._idle.remove(p)
            return p

    def release(self, p: SimPlayer) -> None:
        with self._lock:
            self._idle.append(p)

    def unique(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    # --- calls and checks ------------------------------------------------------------------------

    def _send(self, action: str, fn, *args, **kw) -> Reply:
        try:
            reply = fn(*args, **kw)
        except Unreachable as exc:
            self.report.lost(action, str(exc))
            raise Lost(str(exc)) from None
        endpoint = _IDS.sub(r"/\1/{id}", reply.path.split("?")[0])
        self.report.sent(f"{reply.method} {endpoint}")
        return reply

    def api(self, action: str, method: str, path: str, data=None) -> Reply:
        auth = {"Authorization": f"Bearer {self.creds.api_key}"}
        return self._send(action, self.http.json, method, "/api/platform/v1" + path, data, auth)

    def upload(self, action: str, path: str, fields: dict, files: dict) -> Reply:
        auth = {"Authorization": f"Bearer {self.creds.api_key}"}
        return self._send(action, self.http.multipart, "/api/platform/v1" + path, fields, files, auth)

    def webhook(self, action: str, path: str, body: bytes, content_type: str) -> Reply:
        return self._send(action, self.http.form, path, body, content_type)

    def wallet(self, action: str, endpoint: str, data: dict, *, secret: str | None = None) -> Reply:
        """A signed wallet call, sent again as it was while the answer is a 5xx (RETRY,
        INTERNAL_ERROR: nothing moved), as aggregators do."""
        import json

        raw = json.dumps(data, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Provider": self.creds.provider,
            "X-Signature": wallet_signature(secret or self.creds.secret, raw),
        }
        for attempt in range(WALLET_RETRIES + 1):
            reply = self._send(action, self.http.request, "POST", f"/api/wallet/v1/{endpoint}", raw, headers)
            if reply.status not in (500, 503) or attempt == WALLET_RETRIES:
                return reply
            body = reply.json() or {}
            if body.get("status") not in ("RETRY", "INTERNAL_ERROR"):
                return reply
            self.report.count(action, f"{endpoint}-{reply.status}-{body.get('status')}-retried")
            time.sleep(0.05 * 2**attempt)  # the aggregator's back-off before the same call again
        return reply

    def check(self, action: str, reply: Reply, ok: bool, why: str) -> None:
        """Record an unexpected answer and stop the action when `ok` is false."""
        if not ok:
            self.report.wrong(action, why, reply.describe())
            raise Lost(why)

    def expect(self, action: str, reply: Reply, status: int, code: str | None = None, field_=None) -> dict:
        body = reply.json()
        self.check(action, reply, reply.status == status, f"expected HTTP {status}")
        if code is not None:
            err = (body or {}).get("error") or {}
            self.check(action, reply, err.get("code") == code, f"expected error code {code!r}")
            if field_ is not None:
                self.check(action, reply, err.get("field") == field_, f"expected error field {field_!r}")
        self.check(action, reply, isinstance(body, dict | list), "expected a JSON answer")
        return body

    def expect_wallet(self, action: str, reply: Reply, status: str, balance: int | None = None) -> dict:
        body = self.expect(action, reply, 200)
        self.check(action, reply, body.get("status") == status, f"expected wallet status {status}")
        if balance is not None:
            self.check(
                action, reply, body.get("balance") == balance, f"expected balance {balance} (cash+bonus)"
            )
        return body

    def check_balance(self, action: str, p: SimPlayer) -> None:
        """The player's balances as Pitboss reports them must be the model's."""
        if p.uncertain:
            return
        reply = self.api(action, "GET", f"/players/{p.public_id}/balance")
        body = self.expect(action, reply, 200)
        want = {"cash": money(p.cash), "bonus": "0.00", "withdrawal_pending": money(p.withdrawal_pending)}
        got = {k: body.get(k) for k in want}
        self.check(action, reply, got == want, f"expected balances {want}")


def money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"
