#!/usr/bin/env python
"""Ledger benchmark: bets per second through wallet.services.transaction_post with 1, 4
and 16 worker processes (processes, not threads: the GIL), (a) spread over many players,
(b) all on one hot player; beside them, in the same run, the references:

- pgbench's built-in TPC-B-like script at the same client counts (its own database);
- bench/ledger_floor.sql through pgbench: the same SQL our service issues, hand-written
  (idempotency insert, conditional balance update, posting inserts), spread and hot;
- django-hordak 2.0 `transfer_to` (the Django peer), spread and hot, if installed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/ledger.py

Creates (and drops first) the databases pitboss_bench, pitboss_bench_pgbench and
pitboss_bench_hordak on that server. One bet = one transaction = two postings. Ends by
running the ledger verification over everything the run posted."""

import argparse
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OPENING = 10**12  # minor units per player: bets of 1 never run out
_cash: list = []
_house = None


def _url(base: str, dbname: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _recreate(base: str, dbname: str) -> None:
    import psycopg

    with psycopg.connect(_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def _pgbench_bin() -> str:
    found = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not Path(found).exists():
        sys.exit("pgbench not found (Debian: postgresql-client or /usr/lib/postgresql/15/bin).")
    return found


def _pgbench_conn(url: str) -> list[str]:
    u = urlsplit(url)
    return [
        "-h",
        u.hostname or "127.0.0.1",
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
        u.path[1:],
    ]


def pgbench(url: str, clients: int, seconds: int, script: list[str]) -> float:
    cmd = [
        _pgbench_bin(),
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-T",
        str(seconds),
        *script,
        *_pgbench_conn(url),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


# --- our service, in worker processes ---------------------------------------------------------


def _ours_init(url: str) -> None:
    global _cash, _house
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    import django

    django.setup()
    from wallet.models import Account

    _cash = list(Account.objects.filter(kind="player_cash").only("id", "kind", "currency").order_by("id"))
    _house = Account.objects.get(kind="house_game_provider", code="bench")


def _ours_run(args: tuple) -> tuple[int, int]:
    scenario, start_at, seconds = args
    from backoffice.errors import DomainError
    from wallet.services import Leg, transaction_post

    time.sleep(max(0.0, start_at - time.time()))
    done = errors = 0
    end = start_at + seconds
    while time.time() < end:
        acc = _cash[0] if scenario == "hot" else random.choice(_cash)
        try:
            transaction_post(
                kind="bet", idempotency_key=f"bench:{uuid.uuid4().hex}", legs=[Leg(acc, -1), Leg(_house, 1)]
            )
            done += 1
        except DomainError:
            errors += 1
    return done, errors


def _ping(_: int) -> None:
    time.sleep(0.5)  # long enough that every worker of the pool takes one, once initialised


def _warm(pool, size: int) -> None:
    pool.map(_ping, range(size), chunksize=1)


def _pool_rate(pool, fn, clients: int, scenario: str, seconds: int) -> tuple[float, int]:
    start_at = time.time() + 1.0
    results = pool.map(fn, [(scenario, start_at, seconds)] * clients, chunksize=1)
    return sum(r[0] for r in results) / seconds, sum(r[1] for r in results)


def _setup_ours(url: str, players: int) -> tuple[int, int]:
    """Migrate, create players, their cash accounts (contiguous ids, for the floor
    script) and opening balances posted as ordinary balanced transactions."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)
    import psycopg

    # Players through the ORM, so any field the players app adds keeps its default.
    make_players = (
        "from players.models import Player; Player.objects.bulk_create([Player(jurisdiction='MT', currency='EUR',"
        f" first_name='Bench', last_name=str(i)) for i in range({players})], batch_size=2000)"
    )
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", make_players], env=env, check=True
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""INSERT INTO wallet_account (kind, currency, player_id, code, balance, created_at)
                        SELECT 'player_cash', 'EUR', id, '', 0, now() FROM players_player ORDER BY id""")
        lo, hi = conn.execute(
            "SELECT min(id), max(id) FROM wallet_account WHERE kind = 'player_cash'"
        ).fetchone()
        assert hi - lo + 1 == players, "cash account ids are not contiguous"
        house = conn.execute("""INSERT INTO wallet_account (kind, currency, code, created_at)
                                VALUES ('house_game_provider', 'EUR', 'bench', now()) RETURNING id""").fetchone()[
            0
        ]
        psp = conn.execute("""INSERT INTO wallet_account (kind, currency, code, created_at)
                              VALUES ('house_psp', 'EUR', 'bench', now()) RETURNING id""").fetchone()[0]
        for start in range(lo, hi + 1, 200):
            end = min(start + 199, hi)
            with conn.transaction():
                txn = conn.execute(
                    """INSERT INTO wallet_transaction (kind, idempotency_key, request_hash, reference,
                                      metadata, created_at) VALUES ('deposit', %s, '', 'opening', '{}', now())
                                      RETURNING id""",
                    [f"bench:opening:{start}"],
                ).fetchone()[0]
                conn.execute(
                    """INSERT INTO wallet_posting (transaction_id, account_id, amount, balance_after, created_at)
                                SELECT %s, id, %s, %s, now() FROM wallet_account WHERE id BETWEEN %s AND %s
                                UNION ALL SELECT %s, %s, %s, NULL, now()""",
                    [txn, OPENING, OPENING, start, end, txn, psp, -OPENING * (end - start + 1)],
                )
                conn.execute(
                    "UPDATE wallet_account SET balance = %s WHERE id BETWEEN %s AND %s", [OPENING, start, end]
                )
        conn.execute("VACUUM ANALYZE")
    return lo, house


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=4, help="per measurement (default 4)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--players", type=int, default=10_000)
    ap.add_argument("--hordak-players", type=int, default=200)
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/pitboss")
    clients = [int(c) for c in args.clients.split(",")]
    secs = args.seconds
    t0 = time.time()
    ours_url, tpcb_url, hordak_url = (
        _url(base, n) for n in ("pitboss_bench", "pitboss_bench_pgbench", "pitboss_bench_hordak")
    )
    for url in (ours_url, tpcb_url):
        _recreate(base, urlsplit(url).path[1:])
    # The three set-ups run side by side: pgbench's and hordak's in the background.
    tpcb_init = subprocess.Popen(
        [_pgbench_bin(), "-i", "-q", "-s", "10", *_pgbench_conn(tpcb_url)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import hordak  # noqa: F401

        _recreate(base, "pitboss_bench_hordak")
        hordak_init = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "ledger_hordak.py"), hordak_url, str(args.hordak_players)]
        )
    except ImportError:
        hordak_init = None
    print(f"setting up: {args.players} players ...", flush=True)
    cash_min, house = _setup_ours(ours_url, args.players)
    if tpcb_init.wait() != 0:
        sys.exit("pgbench -i failed")
    has_hordak = hordak_init is not None and hordak_init.wait() == 0
    ctx = mp.get_context("spawn")
    rows = []
    floor = str(ROOT / "bench" / "ledger_floor.sql")
    with ctx.Pool(max(clients), initializer=_ours_init, initargs=(ours_url,)) as pool:
        _warm(pool, max(clients))
        for scenario, players in (("spread", args.players), ("hot", 1)):
            for c in clients:
                print(f"[{time.time() - t0:4.0f} s] measuring {scenario} x{c} ...", flush=True)
                ours, ours_err = _pool_rate(pool, _ours_run, c, scenario, secs)
                fl = pgbench(
                    ours_url,
                    c,
                    secs,
                    [
                        "-f",
                        floor,
                        "-D",
                        f"players={players}",
                        "-D",
                        f"cash_min={cash_min}",
                        "-D",
                        f"house={house}",
                    ],
                )
                tpcb = pgbench(tpcb_url, c, secs, []) if scenario == "spread" else None
                rows.append(
                    {
                        "scenario": scenario,
                        "clients": c,
                        "ours": ours,
                        "errors": ours_err,
                        "floor": fl,
                        "tpcb": tpcb,
                        "hordak": None,
                    }
                )
    if has_hordak:
        from bench import ledger_hordak

        with ctx.Pool(max(clients), initializer=ledger_hordak.init, initargs=(hordak_url,)) as pool:
            _warm(pool, max(clients))
            for row in rows:
                print(
                    f"[{time.time() - t0:4.0f} s] measuring hordak {row['scenario']} x{row['clients']} ...",
                    flush=True,
                )
                row["hordak"], row["hordak_errors"] = _pool_rate(
                    pool, ledger_hordak.run, row["clients"], row["scenario"], secs
                )
    _report(rows, secs, has_hordak)
    os.environ["DATABASE_URL"] = ours_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    import django

    django.setup()
    from wallet.verify import ledger_check

    report = ledger_check()
    print(
        f"\nledger_verify over the bench ledger ({report.summary['postings']} postings): "
        f"{'every invariant holds' if report.ok else report.counts}"
    )
    print(f"total wall time {time.time() - t0:.0f} s")


def _report(rows: list[dict], secs: int, has_hordak: bool) -> None:
    def f(x):
        return "-" if x is None else f"{x:,.0f}"

    def r(a, b):
        return "-" if not a or not b else f"{a / b:.2f}"

    print(f"\nbets (transactions) per second, {secs} s each; one bet = 2 postings")
    head = "| scenario | workers | ours tx/s | ours postings/s | raw SQL floor tps | ours/floor |"
    head += " hordak tx/s | ours/hordak | pgbench TPC-B tps |"
    print(head)
    print("|---" * 9 + "|")
    for row in rows:
        print(
            f"| {row['scenario']} | {row['clients']} | {f(row['ours'])} | {f(row['ours'] * 2)} | {f(row['floor'])} "
            f"| {r(row['ours'], row['floor'])} | {f(row['hordak'])} | {r(row['ours'], row['hordak'])} "
            f"| {f(row['tpcb'])} |"
        )
    errs = [row for row in rows if row["errors"] or row.get("hordak_errors")]
    for row in errs:
        print(
            f"errors: {row['scenario']} x{row['clients']}: ours {row['errors']}, hordak {row.get('hordak_errors')}"
        )
    if not has_hordak:
        print("django-hordak is not installed: no peer column.")


if __name__ == "__main__":
    main()
