"""What the simulator remembers: each player it created, with the money a correct Pitboss
must hold for them, and the report (counts per action and outcome, unexpected answers)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SimPlayer:
    public_id: str
    market: str
    currency: str
    cash: int = 0  # minor units the simulator expects (cash; it is never given bonus money)
    withdrawal_pending: int = 0
    deposit_limit: int | None = None  # the monthly deposit limit in force, minor units
    pending_limit: tuple[int, datetime] | None = None  # an increase and when it comes into force
    deposited: int = 0  # credited deposits, kept well under the limit
    deposit_providers: set[str] = field(default_factory=set)
    session_id: int | None = None  # the open login
    token: str | None = None  # the game session's launch token
    token_expires: datetime | None = None
    game: str | None = None
    withdrawals: list[tuple[str, int]] = field(default_factory=list)  # (reference, amount) cancellable
    uncertain: str = ""  # why the model no longer knows this player's balance (a check is skipped)


@dataclass(frozen=True)
class Unexpected:
    action: str
    why: str
    exchange: str  # the request and the answer

    def __str__(self) -> str:
        return f"[{self.action}] {self.why}\n    {self.exchange}"


class Report:
    """Thread-safe counters: (action, outcome) -> n; requests sent; unexpected answers."""

    def __init__(self, on_wrong=None) -> None:
        self.on_wrong = on_wrong  # called with each unexpected answer as it happens
        self._lock = threading.Lock()
        self.outcomes: Counter = Counter()
        self.actions: Counter = Counter()  # action -> times started
        self.requests: Counter = Counter()  # "POST /api/wallet/v1/bet" -> n
        self.unexpected: list[Unexpected] = []
        self.unreachable: list[str] = []

    def begin(self, action: str) -> None:
        with self._lock:
            self.actions[action] += 1

    def count(self, action: str, outcome: str) -> None:
        with self._lock:
            self.outcomes[(action, outcome)] += 1

    def sent(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def wrong(self, action: str, why: str, exchange: str) -> None:
        with self._lock:
            self.unexpected.append(u := Unexpected(action, why, exchange))
            self.outcomes[(action, "UNEXPECTED")] += 1
        if self.on_wrong is not None:
            self.on_wrong(u)

    def lost(self, action: str, error: str) -> None:
        with self._lock:
            self.unreachable.append(f"[{action}] {error}")
            self.outcomes[(action, "UNREACHABLE")] += 1

    @property
    def failed(self) -> bool:
        return bool(self.unexpected or self.unreachable)

    def lines(self, *, elapsed: float, final: bool) -> list[str]:
        with self._lock:
            total = sum(self.actions.values())
            outcomes = sorted(self.outcomes.items())
            requests = sum(self.requests.values())
            unexpected, unreachable = list(self.unexpected), list(self.unreachable)
        head = "Simulation finished" if final else "Simulation so far"
        out = [
            f"{head}: {total} actions, {requests} requests in {elapsed:.1f} s "
            f"({requests / elapsed if elapsed else 0:.1f} requests/s), "
            f"{len(unexpected)} unexpected answer(s), {len(unreachable)} unreachable."
        ]
        by_action: dict[str, list[str]] = {}
        for (action, outcome), n in outcomes:
            by_action.setdefault(action, []).append(f"{outcome} {n}")
        for action, parts in by_action.items():
            started = self.actions.get(action)
            out.append(f"  {action:10} {started or '':>5}  {', '.join(parts)}")
        if final:
            out.append("Requests sent:")
            out.extend(f"  {n:6}  {endpoint}" for endpoint, n in sorted(self.requests.items()))
            for u in unexpected:
                out.append(f"UNEXPECTED {u}")
            for u in unreachable:
                out.append(f"UNREACHABLE {u}")
        return out
