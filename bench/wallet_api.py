#!/usr/bin/env python
"""Wallet API benchmark: signed bet+win pairs over HTTP against gunicorn on loopback with
PostgreSQL, at 1, 8 and 32 concurrent keep-alive connections; beside them, in the same
run, (a) a bare Django JSON endpoint served by the same gunicorn and (b) the in-process
ledger posting rate of bench/ledger.py (wallet.services.transaction_post in worker
processes).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/wallet_api.py

Drops and creates the database pitboss_bench_wallet on that server (never the one named
in DATABASE_URL), migrates it, seeds players (MT, EUR, funded through the ledger
service), a game provider, a game and one game session per player. Ends by running the
ledger verification and comparing every player's balance with what the load generator
saw the server accept. docs/benchmarks.md ("Wallet API") explains the figures."""

import argparse
import cProfile
import io
import math
import multiprocessing as mp
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ledger as ledger_bench  # noqa: E402
from bench import wallet_load  # noqa: E402

DBNAME = "pitboss_bench_wallet"
PROVIDER = "bench"  # also the code of bench/ledger.py's house account, which (b) posts to
OPENING = 10**10  # minor units per player: bets of at most 5.00 never run out
REDIS_URL = "redis://127.0.0.1:6379/12"
TICK = os.sysconf("SC_CLK_TCK")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _env(url: str, data_dir: str) -> dict:
    """The environment of this process, of gunicorn and of the ledger workers: the bench
    database, production-like settings (DEBUG off), Redis db 12, no network beyond."""
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.wallet_settings",
        "SECRET_KEY": "bench-wallet-api-only-" + "0" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": REDIS_URL,
        "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "STATIC_ROOT": str(Path(data_dir) / "static"),  # empty: the API serves no static files
        "LOG_LEVEL": "WARNING",
        "PITBOSS_DATA_DIR": data_dir,
        "PITBOSS_ENVIRONMENT": "bench",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


# --- set-up ------------------------------------------------------------------------------------


def seed(players: int) -> dict:
    """Migrate, then players with cash and bonus accounts funded by a deposit through
    transaction_post, the provider (its secret), a game and a session per player."""
    from django.core.management import call_command
    from django.db import connection

    from games.models import Game
    from games.services import provider_create
    from games.sessions import game_session_start
    from players.models import Player
    from wallet.models import Account
    from wallet.services import Leg, house_account, player_accounts_ensure, transaction_post

    call_command("migrate", verbosity=0)
    provider, secret = provider_create(code=PROVIDER, name="Bench Studios")
    game = Game.objects.create(
        provider=provider,
        external_code="bench-reels",
        code=Game.code_for(PROVIDER, "bench-reels"),
        title="Bench Reels",
        category="slots",
        rtp="96.00",
        wagering_contribution=100,
        markets=["MT"],
    )
    house_account(Account.Kind.HOUSE_GAME_PROVIDER, PROVIDER, "EUR")
    psp = house_account(Account.Kind.HOUSE_PSP, "bench", "EUR")
    made = Player.objects.bulk_create(
        [
            Player(jurisdiction="MT", currency="EUR", first_name="Bench", last_name=str(i))
            for i in range(players)
        ],
        batch_size=2000,
    )
    out = []
    for i, player in enumerate(made):
        cash = player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
        transaction_post(
            kind="deposit",
            idempotency_key=f"bench:opening:{player.pk}",
            legs=[Leg(cash, OPENING), Leg(psp, -OPENING)],
            reference="opening",
        )
        session = game_session_start(player_id=player.pk, game_code=game.code, started_via="bench")
        out.append((i, player.public_id, session.token))
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    return {"secret": secret, "game": game.code, "players": out, "pks": [p.pk for p in made]}


def balances(pks: list[int]) -> list[int]:
    """Cash plus bonus of each player, in the order of `pks`."""
    from django.db.models import Sum

    from wallet.models import Account

    rows = dict(
        Account.objects.filter(player_id__in=pks, kind__in=["player_cash", "player_bonus"])
        .values("player_id")
        .annotate(s=Sum("balance"))
        .values_list("player_id", "s")
    )
    return [rows.get(pk, 0) for pk in pks]


# --- (b) the in-process ledger rate, bench/ledger.py's own measurement --------------------------------


def ledger_rates(url: str, workers: list[int], seconds: int) -> list[tuple[int, float, int]]:
    ctx = mp.get_context("spawn")
    out = []
    with ctx.Pool(max(workers), initializer=ledger_bench._ours_init, initargs=(url,)) as pool:
        ledger_bench._warm(pool, max(workers))
        for w in workers:
            rate, errors = ledger_bench._pool_rate(pool, ledger_bench._ours_run, w, "spread", seconds)
            print(f"  in-process transaction_post, {w} worker(s): {rate:,.0f} tx/s", flush=True)
            out.append((w, rate, errors))
    return out


# --- gunicorn --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_start(port: int, worker_class: str, workers: int, threads: int, log: Path) -> subprocess.Popen:
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "backoffice.wsgi:application",
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        worker_class,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
    ]
    proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited with {proc.returncode}; see {log}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(
                    b"POST /bench/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    sys.exit(f"gunicorn did not answer within 60 s; see {log}")


def gunicorn_stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _redis_clients(rds) -> set:
    """Ids of the Redis clients on db 12 (ours), this one excluded."""
    me = rds.client_id()
    return {
        c["id"]
        for c in rds.client_list()
        if c.get("db") == REDIS_URL.rsplit("/", 1)[1] and c["id"] != str(me)
    }


def _hexaddr(h: str) -> str:
    ip, port = h.split(":")
    if len(ip) == 8:
        addr = socket.inet_ntop(socket.AF_INET, bytes.fromhex(ip)[::-1])
    else:
        addr = socket.inet_ntop(
            socket.AF_INET6, b"".join(bytes.fromhex(ip[i : i + 8])[::-1] for i in range(0, 32, 8))
        )
    return f"{addr}:{int(port, 16)}"


def worker_sockets(gunicorn_pid: int, port: int) -> dict[str, int]:
    """The network peers of gunicorn's workers' open sockets (TCP and UDP), other than
    their clients on the bench port: expected only PostgreSQL (5432)."""
    inodes = set()
    for pid, (ppid, _, _) in _proc_stats().items():
        if ppid != gunicorn_pid and pid != gunicorn_pid:
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    peers: dict[str, int] = {}
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[9] not in inodes:
                continue
            local, remote = _hexaddr(cols[1]), _hexaddr(cols[2])
            if local.endswith(f":{port}") or remote.endswith(":0"):
                continue  # a client of ours, or the listening socket
            key = f"{table} {remote}"
            peers[key] = peers.get(key, 0) + 1
    return peers


# --- CPU accounting (from /proc: who used the two cores during a run) -------------------------------


def _proc_stats() -> dict[int, tuple[int, str, float]]:
    """pid -> (ppid, comm, cpu seconds) of every process we can read."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        out[int(d)] = (int(rest[1]), comm, (int(rest[11]) + int(rest[12])) / TICK)
    return out


def _pg_role(pid: int) -> str:
    """ "ours": a backend on the bench database; "shared": PostgreSQL's own processes (WAL
    writer, checkpointer...); "other": a backend on another database (other work)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "shared"
    if f" {DBNAME} " in title:
        return "ours"
    return "other" if "(" in title or "[local]" in title else "shared"


def _machine_busy() -> float:
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    return (sum(vals) - vals[3] - vals[4]) / TICK  # all but idle and iowait


def cpu_snapshot(gunicorn_pid: int) -> dict:
    procs = _proc_stats()
    snap = {"workers": {}, "ours": {}, "shared": {}, "other": {}, "busy": _machine_busy()}
    for pid, (ppid, comm, cpu) in procs.items():
        if ppid == gunicorn_pid:
            snap["workers"][pid] = cpu
        elif comm == "postgres" or comm.startswith("postgres:"):
            snap[_pg_role(pid)][pid] = cpu
    return snap


def cpu_delta(a: dict, b: dict, client: float, window: float) -> dict:
    def d(key):  # processes that ended between the snapshots are lost (none of ours should)
        return sum(v - a[key].get(p, 0.0) for p, v in b[key].items())

    out = {"gunicorn": d("workers"), "postgres": d("ours") + d("shared"), "client": client}
    busy = b["busy"] - a["busy"]
    # Everything else the machine did meanwhile (other sessions' tests, backends on other
    # databases), in cores: 1.0 is one of the two cores taken from us for the whole run.
    out["other_cores"] = (
        max(0.0, busy - out["gunicorn"] - out["postgres"] - client) / window if window else 0.0
    )
    out["busy_cores"] = busy / window if window else 0.0
    return out


# --- one measured run ------------------------------------------------------------------------------


def load_run(
    world: dict,
    port: int,
    kind: str,
    conns: int,
    seconds: float,
    procs: int,
    max_rps: int,
    tag: str,
    gunicorn_pid: int,
) -> dict:
    ctx = mp.get_context("spawn")
    nproc = max(1, min(procs, conns))
    rounds = math.ceil(max_rps * seconds / 2 / conns) + 50
    ready, go, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
    children = []
    for k in range(nproc):
        spec = wallet_load.Spec(
            port=port,
            kind=kind,
            seconds=seconds,
            tag=tag,
            provider=PROVIDER,
            secret=world["secret"],
            game=world["game"],
            currency="EUR",
            players=world["players"],
            connections=list(range(k, conns, nproc)),
            total_connections=conns,
            rounds=rounds,
            seed=zlib.crc32(tag.encode()),
        )
        p = ctx.Process(target=wallet_load.client_process, args=(spec, ready, go, results))
        p.start()
        children.append(p)
    for _ in children:
        ready.get(timeout=300)
    start_at = time.time() + 0.3
    cpu_a = cpu_snapshot(gunicorn_pid)
    snap_at = time.time()
    for _ in children:
        go.put(start_at)
    # Mid-run: whom do gunicorn's workers talk to, besides their clients?
    time.sleep(max(0.0, start_at + seconds / 2 - time.time()))
    peers = worker_sockets(gunicorn_pid, port)
    conn_results, client_cpu = [], 0.0
    for _ in children:
        outs, cpu = results.get(timeout=seconds + 120)
        conn_results.extend(outs)
        client_cpu += cpu
    cpu_b = cpu_snapshot(gunicorn_pid)
    snap_window = time.time() - snap_at
    for p in children:
        p.join()
    lat = sorted(x for r in conn_results for x in r.latencies)
    window = max((r.ended for r in conn_results), default=start_at) - start_at
    cpu = cpu_delta(cpu_a, cpu_b, client_cpu, snap_window)
    statuses, errors = {}, {}
    for r in conn_results:
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
        for k, v in r.http_errors.items():
            errors[k] = errors.get(k, 0) + v
    return {
        "kind": kind,
        "conns": conns,
        "n": len(lat),
        "window": window,
        "rps": len(lat) / window if window > 0 else 0.0,
        "p50": _pct(lat, 50),
        "p95": _pct(lat, 95),
        "p99": _pct(lat, 99),
        "max": lat[-1] if lat else None,
        "bet_p50": _pct(sorted(x for r in conn_results for x in r.bet_latencies), 50),
        "bet_p95": _pct(sorted(x for r in conn_results for x in r.bet_latencies), 95),
        "win_p50": _pct(sorted(x for r in conn_results for x in r.win_latencies), 50),
        "win_p95": _pct(sorted(x for r in conn_results for x in r.win_latencies), 95),
        "statuses": statuses,
        "non_ok": sum(v for k, v in statuses.items() if k != "OK"),
        "errors": errors,
        "n_errors": sum(errors.values()),
        "ran_out": any(r.ran_out for r in conn_results),
        "reconnects": sum(r.reconnects for r in conn_results),
        "moved": [r.moved for r in conn_results],
        "unsure": set().union(*(r.unsure for r in conn_results)) if conn_results else set(),
        "bets": sum(r.bets for r in conn_results),
        "wins": sum(r.wins for r in conn_results),
        "cpu": cpu,
        "peers": peers,
    }


def _pct(sorted_values: list, q: float):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[i]


# --- after the load: per-call queries and, optionally, a profile -----------------------------------


def per_call_queries(world: dict, profile_pairs: int) -> tuple[dict, str]:
    """Queries per request in-process through the full Django stack (middleware, URLconf,
    view) with django.test.Client, and with `profile_pairs` a cProfile of that many
    bet+win pairs. Run after the verification: these calls move money too."""
    import hashlib
    import hmac
    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    secret = world["secret"]
    idx, public_id, token = world["players"][-1]

    def post(path: str, body: dict):
        raw = json.dumps(body, separators=(",", ":")).encode()
        sig = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        r = client.generic(
            "POST", path, raw, content_type="application/json", HTTP_X_PROVIDER=PROVIDER, HTTP_X_SIGNATURE=sig
        )
        assert r.status_code == 200, (path, r.status_code, r.content[:300])
        return r

    def pair(n: int, amount: int = 100, win: int = 150):
        rid = f"inproc-{uuid.uuid4().hex[:10]}-{n}"
        bet = {
            "token": token,
            "player_id": public_id,
            "transaction_id": f"{rid}-b",
            "round_id": rid,
            "game_code": world["game"],
            "amount": amount,
            "currency": "EUR",
        }
        pay = {
            "player_id": public_id,
            "transaction_id": f"{rid}-w",
            "round_id": rid,
            "game_code": world["game"],
            "amount": win,
            "currency": "EUR",
            "reference_transaction_id": f"{rid}-b",
            "round_closed": True,
        }
        return bet, pay

    for n in range(5):  # warm: connection, caches
        b, w = pair(n)
        post("/api/wallet/v1/bet", b)
        post("/api/wallet/v1/win", w)
    b, w = pair(99)
    b0, w0 = pair(100)
    post("/api/wallet/v1/bet", b0)
    counts = {}
    for name, path, body in (
        ("bet", "/api/wallet/v1/bet", b),
        ("win", "/api/wallet/v1/win", w),
        ("win of 0", "/api/wallet/v1/win", {**w0, "amount": 0}),
        ("bare /bench/ping", "/bench/ping", b),
    ):
        with CaptureQueriesContext(connection) as q:
            r = post(path, body)
        assert b'"OK"' in r.content, r.content
        counts[name] = [x["sql"] for x in q.captured_queries]

    # CPU per call in this process, through the whole Django stack but no HTTP server.
    cpu_now = time.process_time  # this process's CPU, finer than os.times()'s clock ticks

    timing = {}
    pairs = [pair(500 + n) for n in range(100)]
    for name, path, bodies in (
        ("bet", "/api/wallet/v1/bet", [b for b, _ in pairs]),
        ("win", "/api/wallet/v1/win", [w for _, w in pairs]),
        ("bare /bench/ping", "/bench/ping", [b for b, _ in pairs]),
    ):
        w0, c0 = time.perf_counter(), cpu_now()
        for body in bodies:
            post(path, body)
        timing[name] = ((cpu_now() - c0) / len(bodies), (time.perf_counter() - w0) / len(bodies))
    counts["_timing"] = timing
    text = ""
    if profile_pairs:
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for n in range(profile_pairs):
            b, w = pair(1000 + n)
            post("/api/wallet/v1/bet", b)
            post("/api/wallet/v1/win", w)
        prof.disable()
        dt = time.perf_counter() - t0
        s = io.StringIO()
        st = pstats.Stats(prof, stream=s)
        st.sort_stats("cumulative").print_stats(r"/(games|compliance|wallet|players|backoffice)/", 40)
        st.sort_stats("cumulative").print_stats(45)
        st.sort_stats("tottime").print_stats(25)
        text = (
            f"{profile_pairs} bet+win pairs in-process in {dt:.2f} s: "
            f"{dt / (2 * profile_pairs) * 1000:.2f} ms per call (under the profiler)\n" + s.getvalue()
        )
    return counts, text


# --- the report ------------------------------------------------------------------------------------


def _ms(x) -> str:
    return "-" if x is None else f"{x * 1000:.1f}"


def report(runs: list[dict], ledger: list, config: str, seconds: float) -> list[str]:
    lines = [
        f"gunicorn {config}; {seconds:g} s per run; a wallet call is a bet or a win "
        "(a bet+win pair is 2 calls); latency per request, client side",
        "",
        "| endpoint | connections | req/s | p50 ms | p95 ms | p99 ms | non-OK | HTTP errors "
        "| CPU ms/req: gunicorn | postgres | client | other work, cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        n = max(r["n"], 1)
        c = r["cpu"]
        name = "wallet bet/win" if r["kind"] == "wallet" else "bare /bench/ping"
        lines.append(
            f"| {name} | {r['conns']} | {r['rps']:,.0f} | {_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} "
            f"| {r['non_ok']} | {r['n_errors']} | {c['gunicorn'] / n * 1000:.2f} | {c['postgres'] / n * 1000:.2f} "
            f"| {c['client'] / n * 1000:.2f} | {c['other_cores']:.2f} |"
        )
    lines.append("")
    lines.append(
        "wallet calls split by kind (ms): "
        + "; ".join(
            f"x{r['conns']}: bet p50 {_ms(r['bet_p50'])} p95 {_ms(r['bet_p95'])}, "
            f"win p50 {_ms(r['win_p50'])} p95 {_ms(r['win_p95'])}"
            for r in runs
            if r["kind"] == "wallet"
        )
    )
    lines.append("")
    lines.append(
        "(b) in-process ledger posting, bench/ledger.py's measurement (transaction_post, one bet of 1 "
        "cent = 1 transaction, spread over the same players, same database, same run):"
    )
    lines.append("")
    lines.append("| worker processes | tx/s | errors |")
    lines.append("|---|---|---|")
    for w, rate, errors in ledger:
        lines.append(f"| {w} | {rate:,.0f} | {errors} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10, help="per measured run (default 10)")
    ap.add_argument("--connections", default="1,8,32")
    ap.add_argument("--players", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    ap.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    ap.add_argument(
        "--worker-class",
        default="sync",
        help="gunicorn worker class (default sync: a connection per request; gthread keeps them alive)",
    )
    ap.add_argument("--ledger-workers", default="1,4,16", help="(b): worker processes (default 1,4,16)")
    ap.add_argument("--ledger-seconds", type=int, default=5, help="(b): seconds per measurement (default 5)")
    ap.add_argument("--client-procs", type=int, default=2, help="load generator processes (default 2)")
    ap.add_argument("--max-rps", type=int, default=3000, help="requests pre-signed per second of a run")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load first (default 3)")
    ap.add_argument(
        "--profile", type=int, default=0, metavar="PAIRS", help="cProfile this many in-process pairs"
    )
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/pitboss")
    if urlsplit(base).path.lstrip("/") == DBNAME:
        sys.exit(f"DATABASE_URL names {DBNAME}, the database this bench drops: point it at another one.")
    conns_list = [int(c) for c in args.connections.split(",")]
    if args.players < max(conns_list):
        sys.exit(
            "--players must be at least the largest connection count (each connection has its own players)."
        )
    ledger_workers = [int(c) for c in args.ledger_workers.split(",") if int(c) > 0]  # 0: skip (b)
    t0 = time.time()
    up_start = _uptime()
    print(f"start: {up_start}", flush=True)

    url = ledger_bench._url(base, DBNAME)
    ledger_bench._recreate(base, DBNAME)
    data_dir = tempfile.mkdtemp(prefix="pitboss-bench-wallet-")
    (Path(data_dir) / "static").mkdir()
    os.environ.update(_env(url, data_dir))
    import django

    django.setup()
    from django.db import connection

    print(
        f"[{time.time() - t0:4.0f} s] migrating {DBNAME} and seeding {args.players} players ...", flush=True
    )
    world = seed(args.players)

    print(f"[{time.time() - t0:4.0f} s] (b) in-process ledger posting rate ...", flush=True)
    connection.close()
    ledger = ledger_rates(url, ledger_workers, args.ledger_seconds) if ledger_workers else []
    before = balances(world["pks"])
    connection.close()

    import redis

    rds = redis.Redis.from_url(REDIS_URL)
    port = _free_port()
    log = Path(data_dir) / "gunicorn.log"
    config = f"{args.worker_class}, {args.workers} workers x {args.threads} threads"
    print(f"[{time.time() - t0:4.0f} s] starting gunicorn ({config}) on 127.0.0.1:{port} ...", flush=True)
    gun = gunicorn_start(port, args.worker_class, args.workers, args.threads, log)
    runs, all_runs = [], []
    redis_before = _redis_clients(rds)
    try:
        if args.warmup:
            print(f"[{time.time() - t0:4.0f} s] warm-up, {args.warmup:g} s ...", flush=True)
            for kind in ("wallet", "ping"):
                all_runs.append(
                    load_run(
                        world,
                        port,
                        kind,
                        max(conns_list),
                        args.warmup,
                        args.client_procs,
                        args.max_rps,
                        f"warm-{kind}",
                        gun.pid,
                    )
                )
        for c in conns_list:
            for kind in ("wallet", "ping"):
                print(f"[{time.time() - t0:4.0f} s] {kind} x{c}, {args.seconds:g} s ...", flush=True)
                r = load_run(
                    world,
                    port,
                    kind,
                    c,
                    args.seconds,
                    args.client_procs,
                    args.max_rps,
                    f"{kind}-{c}",
                    gun.pid,
                )
                print(
                    f"    {r['rps']:,.0f} req/s, p50 {_ms(r['p50'])} ms, p95 {_ms(r['p95'])} ms, "
                    f"p99 {_ms(r['p99'])} ms; non-OK {r['non_ok']}, HTTP errors {r['n_errors']}",
                    flush=True,
                )
                runs.append(r)
                all_runs.append(r)
    finally:
        redis_after = _redis_clients(rds)
        redis_keys = rds.dbsize()
        gunicorn_stop(gun)
    server_log = log.read_text() if log.exists() else ""

    # --- verification ---
    from wallet.verify import ledger_check

    print(f"[{time.time() - t0:4.0f} s] verifying ...", flush=True)
    rep = ledger_check()
    after = balances(world["pks"])
    moved = [0] * len(world["pks"])
    unsure = set()
    for r in all_runs:
        for m in r["moved"]:
            for idx, v in m.items():
                moved[idx] += v
        unsure |= r["unsure"]
    wrong = [i for i in range(len(moved)) if i not in unsure and after[i] != before[i] + moved[i]]
    bets = sum(r["bets"] for r in all_runs)
    wins = sum(r["wins"] for r in all_runs)

    counts, prof = per_call_queries(world, args.profile)
    up_end = _uptime()

    lines = report(runs, ledger, config, args.seconds)
    best_ledger = max((rate for _, rate, _ in ledger), default=0.0)
    at32 = next((r for r in runs if r["kind"] == "wallet" and r["conns"] == max(conns_list)), None)
    print()
    print("\n".join(lines))
    print()
    if at32 is not None:
        c = at32["conns"]
        p95_ok = at32["p95"] is not None and at32["p95"] < 0.050
        rps_ok = best_ledger > 0 and at32["rps"] >= best_ledger / 2
        print(
            f"aim, {c} connections: wallet p95 < 50 ms: {'MET' if p95_ok else 'MISSED'} "
            f"(p95 {_ms(at32['p95'])} ms)"
        )
        print(
            f"aim, {c} connections: wallet req/s >= half the best in-process posting rate: "
            f"{'MET' if rps_ok else 'MISSED'} ({at32['rps']:,.0f} req/s vs {best_ledger:,.0f} / 2 = "
            f"{best_ledger / 2:,.0f}; ratio {at32['rps'] / best_ledger if best_ledger else 0:.2f})"
        )
        per = (at32["cpu"]["gunicorn"] + at32["cpu"]["postgres"]) / max(at32["n"], 1)
        print(
            f"CPU per wallet call at {c} connections: gunicorn + PostgreSQL {per * 1000:.1f} ms; with both "
            f"cores for the server alone that caps throughput near {2 / per if per else 0:,.0f} req/s "
            f"(other work took {at32['cpu']['other_cores']:.2f} cores during that run)"
        )
    for r in runs:
        if r["non_ok"] or r["n_errors"] or r["ran_out"]:
            print(
                f"!! {r['kind']} x{r['conns']}: statuses {r['statuses']}, errors {r['errors']}"
                f"{', ran out of pre-signed requests (raise --max-rps)' if r['ran_out'] else ''}"
            )
    reconnects = sum(r["reconnects"] for r in all_runs)
    print(f"connections re-opened by the client (server closed them): {reconnects}")
    peers = sorted({p for r in all_runs for p in r["peers"]})
    print(f"gunicorn workers' sockets (mid-run of each run), besides their clients: {peers or 'none'}")
    print(
        f"Redis db 12 during the load: {len(redis_after - redis_before)} new client connection(s), "
        f"{redis_keys} key(s) (0 and 0: nothing in the request path used the cache or the broker)"
    )
    print(
        f"ledger_verify ({rep.summary.get('postings')} postings): "
        f"{'every invariant holds' if rep.ok else 'VIOLATIONS ' + str(rep.counts)}"
    )
    print(
        f"balances: {len(moved) - len(wrong) - len(unsure)} of {len(moved)} players equal the seed "
        f"(after (b)) minus OK bets plus OK wins as the load generator saw them; "
        f"{len(wrong)} differ; {len(unsure)} had a request of unknown outcome. "
        f"{bets:,} bets and {wins:,} wins sent in all (warm-up included)."
    )
    if wrong:
        i = wrong[0]
        print(f"   e.g. player #{i}: before {before[i]}, moved {moved[i]}, after {after[i]}")
    timing = counts.pop("_timing")
    print(
        "in-process through the whole Django stack (test client, no HTTP server), per call: "
        + "; ".join(
            f"{k}: {len(v)} queries"
            + (
                f", {timing[k][0] * 1000:.2f} ms CPU, {timing[k][1] * 1000:.2f} ms wall"
                if k in timing
                else ""
            )
            for k, v in counts.items()
        )
    )
    if prof:
        print()
        print(prof)
    errors_in_log = [ln for ln in server_log.splitlines() if "ERROR" in ln or "Traceback" in ln]
    if errors_in_log:
        print(f"gunicorn log ({log}) has {len(errors_in_log)} error lines, first: {errors_in_log[0]}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"end: {up_end}")
    print(f"total wall time {time.time() - t0:.0f} s")
    if os.environ.get("BENCH_SHOW_QUERIES"):
        for k, v in counts.items():
            print(f"\n-- {k}: {len(v)} queries")
            for sql in v:
                print("   ", sql[:220])


if __name__ == "__main__":
    main()
