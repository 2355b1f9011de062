"""The load generator of bench/wallet_api.py: plain Python, no Django, in its own processes.

Each connection is one thread holding one TCP connection (raw HTTP/1.1 over a socket: no
http.client parsing, the least CPU per request we can get in Python; kept alive when the
server allows, re-opened, inside the measured latency, when it answers "Connection:
close", as gunicorn's sync workers do) and plays its own players' rounds: a bet, then a win on that bet (a random amount, half of
them 0; every win closes its round). Every request body is built and signed (hex
HMAC-SHA256 of the raw bytes with the provider's secret) before the clock starts; during
the run a thread only sends, reads, and notes the time and the answer's status.

A run answers, per connection: request latencies, counts of answer statuses and HTTP
errors, and the money each of its players should have moved (bets and wins the server
answered OK), which the bench compares with the ledger afterwards."""

import hashlib
import hmac
import json
import random
import re
import resource
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

_OK = re.compile(rb'"status":\s*"OK"')
_STATUS = re.compile(rb'"status":\s*"([A-Z_]+)"')


@dataclass
class Spec:
    """One client process's share of a run."""

    port: int
    kind: str  # "wallet" or "ping"
    seconds: float
    tag: str  # makes every transaction and round id of the run unique
    provider: str
    secret: str
    game: str
    currency: str
    players: list  # [(index, public_id, token)], the whole set; connections take their own
    connections: list  # the connection numbers this process runs
    total_connections: int
    rounds: int  # rounds pre-signed per connection (the run stops early if they run out)
    seed: int = 0


@dataclass
class ConnResult:
    latencies: list = field(default_factory=list)  # seconds, every completed request
    bet_latencies: list = field(default_factory=list)
    win_latencies: list = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # answer status -> count
    http_errors: Counter = field(default_factory=Counter)  # "HTTP 500", "ConnectionResetError" ...
    moved: dict = field(default_factory=dict)  # player index -> minor units (OK wins - OK bets)
    unsure: set = field(default_factory=set)  # players with a request of unknown outcome
    bets: int = 0
    wins: int = 0
    bet_total: int = 0
    win_total: int = 0
    reconnects: int = 0
    ran_out: bool = False
    ended: float = 0.0


def _request(port: int, path: str, provider: str, secret: str, body: dict) -> bytes:
    raw = json.dumps(body, separators=(",", ":")).encode()
    sig = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Provider: {provider}\r\n"
        f"X-Signature: {sig}\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n"
    )
    return head.encode() + raw


def _plan(spec: Spec, conn: int) -> list:
    """[(bet_request, win_request, player_index, bet, win)] for one connection."""
    rnd = random.Random(spec.seed * 100_003 + conn)
    mine = [p for p in spec.players if p[0] % spec.total_connections == conn]
    out = []
    for n in range(spec.rounds):
        idx, public_id, token = mine[n % len(mine)]
        round_id = f"{spec.tag}-c{conn}-r{n}"
        bet_tx = f"{round_id}-b"
        amount = rnd.randrange(10, 501)  # 0.10 to 5.00
        win = 0 if rnd.random() < 0.5 else rnd.randrange(1, 5 * amount + 1)
        bet = _request(
            spec.port,
            "/api/wallet/v1/bet",
            spec.provider,
            spec.secret,
            {
                "token": token,
                "player_id": public_id,
                "transaction_id": bet_tx,
                "round_id": round_id,
                "game_code": spec.game,
                "amount": amount,
                "currency": spec.currency,
            },
        )
        pay = _request(
            spec.port,
            "/api/wallet/v1/win",
            spec.provider,
            spec.secret,
            {
                "player_id": public_id,
                "transaction_id": f"{round_id}-w",
                "round_id": round_id,
                "game_code": spec.game,
                "amount": win,
                "currency": spec.currency,
                "reference_transaction_id": bet_tx,
                "round_closed": True,
            },
        )
        out.append((bet, pay, idx, amount, win))
    return out


def _ping_request(spec: Spec) -> bytes:
    """The bare endpoint gets a wallet-sized signed body too (it reads it, checks nothing)."""
    idx, public_id, token = spec.players[0]
    body = {
        "token": token,
        "player_id": public_id,
        "transaction_id": f"{spec.tag}-ping",
        "round_id": f"{spec.tag}-ping",
        "game_code": spec.game,
        "amount": 100,
        "currency": spec.currency,
    }
    return _request(spec.port, "/bench/ping", spec.provider, spec.secret, body)


class _Conn:
    def __init__(self, port: int):
        self.port = port
        self.sock = None
        self.reconnects = -1

    def open(self):
        self.close()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.reconnects += 1

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def roundtrip(self, req: bytes) -> tuple[int, bytes]:
        """Send one request, read one response (Content-Length framed). Reconnects first
        when the server closed the connection after the previous answer."""
        if self.sock is None:
            self.open()
        sock = self.sock
        sock.sendall(req)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server before an answer")
            data += chunk
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                break
        head = data[:end].lower()
        status = int(head[9:12])
        i = head.find(b"content-length:")
        if i < 0:
            raise ConnectionError("answer without Content-Length")
        j = head.find(b"\r\n", i)
        length = int(head[i + 15 : j if j > 0 else None])
        need = end + 4 + length
        while len(data) < need:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server mid-answer")
            data += chunk
        if b"connection: close" in head:
            self.close()
        return status, data[end + 4 : need]


def _one(spec: Spec, conn: int, plan, ping: bytes | None, start_at: float, out: ConnResult):
    c = _Conn(spec.port)
    clock = time.perf_counter
    wall_end = start_at + spec.seconds
    try:
        c.open()
    except OSError as e:
        out.http_errors[type(e).__name__] += 1
        return
    # The clock: every thread waits for the same wall-clock instant.
    time.sleep(max(0.0, start_at - time.time()))
    deadline = clock() + (wall_end - time.time())

    def call(req: bytes, lat: list | None) -> str:
        """ "ok", "refused" (a business answer other than OK: nothing moved) or "error"
        (no answer or not HTTP 200: the outcome is unknown)."""
        t0 = clock()
        try:
            status, body = c.roundtrip(req)
        except (OSError, ValueError) as e:
            out.http_errors[type(e).__name__] += 1
            c.close()
            return "error"
        dt = clock() - t0
        out.latencies.append(dt)
        if lat is not None:
            lat.append(dt)
        if status != 200:
            out.http_errors[f"HTTP {status}"] += 1
            return "error"
        if _OK.search(body):
            out.statuses["OK"] += 1
            return "ok"
        m = _STATUS.search(body)
        out.statuses[m.group(1).decode() if m else "unreadable"] += 1
        return "refused"

    if ping is not None:
        while clock() < deadline:
            call(ping, None)
    else:
        n = 0
        while clock() < deadline:
            if n >= len(plan):
                out.ran_out = True
                break
            bet, pay, idx, amount, win = plan[n]
            n += 1
            out.bets += 1
            got = call(bet, out.bet_latencies)
            if got != "ok":
                if got == "error":
                    out.unsure.add(idx)
                continue
            out.bet_total += amount
            out.moved[idx] = out.moved.get(idx, 0) - amount
            if clock() >= deadline:
                break  # the round stays open: its bet is counted, no win
            out.wins += 1
            got = call(pay, out.win_latencies)
            if got == "ok":
                out.win_total += win
                out.moved[idx] = out.moved.get(idx, 0) + win
            elif got == "error":
                out.unsure.add(idx)
    out.ended = time.time()
    out.reconnects = max(c.reconnects, 0)
    c.close()


def client_process(spec: Spec, ready, go, results) -> None:
    """Entry point of one client process: plan, wait at the barrier, run, send results."""
    plans = {conn: (_plan(spec, conn) if spec.kind == "wallet" else None) for conn in spec.connections}
    ping = _ping_request(spec) if spec.kind == "ping" else None
    ready.put(True)
    start_at = go.get()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    outs = {conn: ConnResult() for conn in spec.connections}
    threads = [
        threading.Thread(target=_one, args=(spec, conn, plans[conn], ping, start_at, outs[conn]))
        for conn in spec.connections
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    results.put((list(outs.values()), cpu))
