"""The scheduler: one action every 1/rate seconds, chosen by weight with a seeded random
generator, run on a small thread pool (each thread keeps its own connection). An action
that must come back later (a late notification) is put on a timer heap and finished by
the pool when due; its player stays out of other actions until then. When the duration
is over (or on Ctrl-C) no new action starts and what is under way finishes."""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from .actions import ACTIONS, DEPOSIT_CAP, PLAYERLESS, Later, step
from .model import SimPlayer
from .world import World

WEIGHTS = {
    "register": 8,
    "paynplay": 4,
    "login": 10,
    "limit": 6,
    "document": 6,
    "play": 28,
    "deposit": 24,
    "withdraw": 10,
}
MIN_PLAYERS = 4  # registrations come first until there are this many players to act on
DRAIN_SECONDS = 30.0


class Simulation:
    def __init__(
        self,
        world: World,
        *,
        rate: float,
        duration: float,
        seed: int,
        threads: int = 4,
        progress_every: float | None = None,
        write: Callable[[str], None] = print,
    ):
        self.w = world
        self.rate, self.duration, self.threads = rate, duration, threads
        self.rng = random.Random(seed)
        self.progress_every, self.write = progress_every, write
        self._later: list = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._busy = 0
        self.started = 0.0
        # Every kind of action once, early in the run (in a seeded order), then by weight.
        self._tour = [n for n in WEIGHTS if n != "paynplay" or world.doubles.zimpler is not None]
        self.rng.shuffle(self._tour)

    # --- choosing ---------------------------------------------------------------------------

    def _choose(self) -> tuple[str, SimPlayer | None]:
        toured = None
        names = [n for n in WEIGHTS if n != "paynplay" or self.w.doubles.zimpler is not None]
        name = self.rng.choices(names, weights=[WEIGHTS[n] for n in names])[0]
        if len(self.w.players) < MIN_PLAYERS:
            name = "register"
        elif self._tour:
            name = toured = self._tour.pop()
        if name in PLAYERLESS:
            return name, None
        # Mostly the players an action suits (money to bet or withdraw, little left for a
        # deposit); sometimes anyone, so the refusals (no funds) are exercised too.
        suits = {
            "play": lambda p: p.cash > 0,
            "withdraw": lambda p: p.cash >= 100,
            "deposit": lambda p: p.cash < 2_000 and p.deposited < DEPOSIT_CAP,
        }.get(name)
        player = None
        if suits is not None and self.rng.random() < 0.85:
            player = self.w.checkout(self.rng, suits)
            if player is None and name == "play":  # nobody has money to bet: someone deposits first
                name = "deposit"
        if player is None:
            capped = (lambda p: p.deposited < DEPOSIT_CAP) if name == "deposit" else None
            player = self.w.checkout(self.rng, capped)
        if toured is not None and (player is None or name != toured):
            self._tour.append(toured)  # its turn comes again
        if player is None:  # every player is busy (or capped): a new player arrives instead
            return "register", None
        return name, player

    # --- running ----------------------------------------------------------------------------

    def _submit(self, pool: ThreadPoolExecutor, name: str, fn, player: SimPlayer | None) -> None:
        with self._lock:
            self._busy += 1
        pool.submit(self._task, name, fn, player)

    def _task(self, name: str, fn, player: SimPlayer | None) -> None:
        try:
            later = step(fn, player)
        except Exception:  # a bug in the simulator itself: shown, and the run fails
            self.w.report.wrong(name, "the simulator failed", traceback.format_exc(limit=3))
            if player is not None:
                player.uncertain = "simulator error"
            later = None
        if isinstance(later, Later):
            with self._lock:
                due = time.monotonic() + later.seconds
                heapq.heappush(self._later, (due, next(self._seq), name, later.then, player))
        elif player is not None:
            self.w.release(player)
        with self._lock:
            self._busy -= 1

    def _due(self, pool: ThreadPoolExecutor, now: float) -> float | None:
        """Submit the continuations that are due; when the next one is."""
        while True:
            with self._lock:
                if not self._later:
                    return None
                if self._later[0][0] > now:
                    return self._later[0][0]
                _due, _n, name, then, player = heapq.heappop(self._later)
            self._submit(pool, name, then, player)

    def run(self) -> None:
        self.started = time.monotonic()
        interval = 1.0 / self.rate
        stop_at = self.started + self.duration if self.duration > 0 else None
        next_at, next_progress = self.started, self.started + (self.progress_every or 0)
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="simulate")
        try:
            while stop_at is None or time.monotonic() < stop_at:
                now = time.monotonic()
                wake = self._due(pool, now)
                if now >= next_at:
                    next_at += interval
                    if self._busy >= self.threads * 4:  # the server is slower than the rate
                        self.w.report.count("scheduler", "behind-skipped")
                    else:
                        name, player = self._choose()
                        fn = ACTIONS[name]
                        self.w.report.begin(name)
                        rng = random.Random(self.rng.getrandbits(64))
                        call = (
                            partial(fn, self.w, rng) if player is None else partial(fn, self.w, rng, player)
                        )
                        self._submit(pool, name, call, player)
                if self.progress_every and now >= next_progress:
                    next_progress += self.progress_every
                    for line in self.w.report.lines(elapsed=now - self.started, final=False):
                        self.write(line)
                # Pace the schedule: wait for the next action or continuation, whichever comes first.
                until = min(x for x in (next_at, wake, stop_at) if x is not None)
                time.sleep(max(0.0, min(until - time.monotonic(), 0.25)))
        except KeyboardInterrupt:
            self.write("Interrupted: finishing the actions under way.")
        finally:
            self._drain(pool)

    def _drain(self, pool: ThreadPoolExecutor) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while time.monotonic() < deadline:
                wake = self._due(pool, time.monotonic())
                with self._lock:
                    if not self._busy and not self._later:
                        break
                time.sleep(0.01 if wake is None else min(max(wake - time.monotonic(), 0.0), 0.05))
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for what is under way
            self.write("Interrupted again: not waiting for the actions under way.")
            pool.shutdown(wait=False, cancel_futures=True)
            return
        pool.shutdown(wait=True, cancel_futures=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
