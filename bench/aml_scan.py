#!/usr/bin/env python
"""AML scan benchmark: 100,000 players with 1,000,000 postings on their cash accounts (and
as many house legs: every transaction balances), payment methods and sessions, with planted
suspicious patterns; then, timed in the same run:

- a full scan: compliance.aml.services.aml_scan_run(full=True), what "Full rescan" runs;
- an incremental scan after 1% new data (new postings for 1% of the players; twice, other
  players each time, the best counts), what the 30-minute schedule and "Scan now" run;
- the floor: the SQL the rules issued during a full scan, captured from Django
  (CaptureQueriesContext) and re-run directly through psycopg on the same data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/aml_scan.py

Creates (and drops first) the database pitboss_bench_aml on that server and migrates it;
--keep leaves it afterwards, --reuse runs the timings again on a kept one (no generation:
each run adds its 1% of new data on top), --incremental-only (with --reuse) skips the full
scans and the floor: new data, then the incremental scan, to iterate on the scan alone.
The rows are generated in Python and loaded with COPY under session_replication_role =
replica (the ledger's per-row deferred triggers and foreign-key checks off for the load);
the same invariants are then checked set-based: every transaction sums to zero per
currency and has postings, every cash balance equals its postings and is not negative."""

import argparse
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# market, currency, share of players
MARKETS = [
    ("MT", "EUR", 0.25),
    ("FI", "EUR", 0.15),
    ("DE", "EUR", 0.15),
    ("SE", "SEK", 0.2),
    ("GB", "GBP", 0.15),
]
MARKETS += [("NO", "NOK", 0.05), ("DK", "DKK", 0.05)]
PLANTED = 0.004  # share of players given each planted pattern


def _url(base: str, dbname: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{dbname}"))


class Ledger:
    """Rows for COPY: transactions and their two postings (player cash, house)."""

    def __init__(self, next_txn: int, next_posting: int, house: dict):
        self.txns: list[tuple] = []
        self.postings: list[tuple] = []
        self.next_txn, self.next_posting, self.house = next_txn, next_posting, house
        self.balance: dict[int, int] = defaultdict(int)

    def post(self, kind: str, account: int, currency: str, amount: int, at) -> None:
        """amount: signed, on the player's cash account; the house leg takes the opposite."""
        bal = self.balance[account] + amount
        assert bal >= 0, (account, bal)
        self.balance[account] = bal
        t = self.next_txn
        self.next_txn += 1
        self.txns.append((t, kind, f"bench-{t}", "", "", "{}", at))
        house = self.house[
            ("house_psp" if kind in ("deposit", "withdrawal_request") else "house_game_provider", currency)
        ]
        p = self.next_posting
        self.postings.append((p, t, account, amount, bal, at))
        self.postings.append((p + 1, t, house, -amount, None, at))
        self.next_posting += 2


def _minor(rng: random.Random, lo_eur: float, hi_eur: float, rate: float) -> int:
    return max(100, int(rng.uniform(lo_eur, hi_eur) * 100 / rate))


def history(rng, led: Ledger, account: int, currency: str, rate: float, n: int, start, end) -> None:
    """A plausible player: deposits, bets (most), wins, now and then a withdrawal request."""
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(n))
    for i, at in enumerate(times):
        bal = led.balance[account]
        r = rng.random()
        if i == 0 or bal < 1000 / rate or (r < 0.08):
            led.post(
                "deposit", account, currency, _minor(rng, 10, 300 if rng.random() < 0.9 else 1500, rate), at
            )
        elif r < 0.65:
            led.post("bet", account, currency, -max(1, int(bal * rng.uniform(0.02, 0.3))), at)
        elif r < 0.95:
            led.post("win", account, currency, _minor(rng, 0.5, 80, rate), at)
        else:
            led.post("withdrawal_request", account, currency, -max(1, int(bal * rng.uniform(0.3, 0.9))), at)


def plant(rng, led: Ledger, account: int, currency: str, rate: float, pattern: str, now) -> None:
    """Recent activity that the shipped rules are meant to catch."""
    ago = lambda d: now - timedelta(days=d, minutes=rng.randrange(600))  # noqa: E731
    if pattern == "structuring":  # three deposits just below EUR 2,000 in a week
        for d in (5, 3, 1):
            led.post("deposit", account, currency, int(rng.uniform(1750, 1990) * 100 / rate), ago(d))
    elif pattern == "large_deposit":
        led.post("deposit", account, currency, int(rng.uniform(5200, 9000) * 100 / rate), ago(2))
    elif pattern == "little_play":  # EUR 1,000 in, EUR 50 played, EUR 800 asked back
        led.post("deposit", account, currency, int(1000 * 100 / rate), ago(4))
        led.post("bet", account, currency, -int(50 * 100 / rate), ago(3))
        led.post("withdrawal_request", account, currency, -int(800 * 100 / rate), ago(2))
    elif pattern == "large_total":  # EUR 10,400 in four deposits over a week
        for d in (6, 4, 2, 1):
            led.post("deposit", account, currency, int(2600 * 100 / rate), ago(d))
    elif pattern == "velocity":  # many deposits in a short time
        for h in range(8):
            led.post("deposit", account, currency, _minor(rng, 20, 100, rate), now - timedelta(hours=30 - h))


def copy_rows(cur, table: str, columns: str, rows) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def load_ledger(led: Ledger, connection) -> None:
    raw = connection.connection
    with raw.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        copy_rows(
            cur,
            "wallet_transaction",
            "id, kind, idempotency_key, request_hash, reference, metadata, created_at",
            led.txns,
        )
        copy_rows(
            cur,
            "wallet_posting",
            "id, transaction_id, account_id, amount, balance_after, created_at",
            led.postings,
        )
        cur.execute("SET session_replication_role = origin")
    led.txns.clear()
    led.postings.clear()


def check_ledger(connection) -> None:
    """The invariants the skipped triggers enforce, set-based, plus stored balances."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM (SELECT p.transaction_id FROM wallet_posting p
               JOIN wallet_account a ON a.id = p.account_id GROUP BY p.transaction_id, a.currency
               HAVING sum(p.amount) <> 0) x"""
        )
        unbalanced = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM wallet_transaction t WHERE NOT EXISTS "
            "(SELECT 1 FROM wallet_posting p WHERE p.transaction_id = t.id)"
        )
        empty = cur.fetchone()[0]
        cur.execute(
            """UPDATE wallet_account a SET balance = s.total FROM
               (SELECT account_id, sum(amount) AS total FROM wallet_posting GROUP BY account_id) s
               WHERE a.id = s.account_id AND a.player_id IS NOT NULL"""
        )  # the CHECK (balance >= 0) refuses a negative one
        for table in (
            "wallet_transaction",
            "wallet_posting",
            "payments_paymentmethod",
            "players_playersession",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    assert unbalanced == 0 and empty == 0, (unbalanced, empty)


def _generate(args, rng, now, patterns, connection):
    """Players, their cash accounts, the ledger, payment methods and sessions; vacuumed."""
    from compliance.kyc import _EUR_PER_UNIT
    from players.models import Player
    from wallet.models import Account

    t0 = time.perf_counter()
    # --- players, accounts ------------------------------------------------------------------
    weights = [m[2] for m in MARKETS]
    players = []
    for i in range(args.players):
        market, currency, _ = rng.choices(MARKETS, weights)[0]
        players.append(
            Player(
                jurisdiction=market,
                currency=currency,
                country=market,
                first_name=f"Bench{i}",
                last_name="Player",
                created_at=now - timedelta(days=rng.uniform(30, 400)),
            )
        )
    Player.objects.bulk_create(players, batch_size=5000)
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO wallet_account (kind, currency, player_id, code, balance, created_at)
               SELECT 'player_cash', currency, id, '', 0, created_at FROM players_player"""
        )
    house = {}
    for kind in ("house_psp", "house_game_provider"):
        for currency in {m[1] for m in MARKETS}:
            house[(kind, currency)] = Account.objects.create(kind=kind, currency=currency, code="bench").pk
    cash = dict(
        Account.objects.filter(kind="player_cash").values_list("player_id", "id")
    )  # player id -> cash account id
    people = [(p.pk, cash[p.pk], p.currency, p.created_at) for p in players]

    # --- the ledger -------------------------------------------------------------------------
    led = Ledger(1, 1, house)
    avg = args.postings / args.players
    planted = defaultdict(int)
    for _pid, account, currency, joined in people:
        rate = _EUR_PER_UNIT[currency]
        n = rng.randint(max(1, int(avg * 0.3)), max(1, int(avg * 1.7)))  # about avg on average
        start = max(joined, now - timedelta(days=365))
        history(rng, led, account, currency, rate, n, start, now - timedelta(days=8))
        if rng.random() < PLANTED * len(patterns):
            pattern = rng.choice(patterns)
            plant(rng, led, account, currency, rate, pattern, now)
            planted[pattern] += 1
        if len(led.postings) > 400_000:
            load_ledger(led, connection)
    load_ledger(led, connection)

    # --- payment methods and sessions ---------------------------------------------------------
    methods, sessions = [], []
    for pid, _account, _currency, joined in people:
        k = 1 + (rng.random() < 0.2)
        for j in range(k):
            first = joined + timedelta(days=rng.uniform(0, 20))
            methods.append(
                (pid, "adyen", "card", f"fp-{pid}-{j}", first, now - timedelta(days=rng.uniform(0, 60)))
            )
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        sessions.append((pid, now - timedelta(days=rng.uniform(0, 30)), ip, f"dev-{pid}"))
    ids = [p[0] for p in people]
    for _ in range(int(args.players * PLANTED)):  # one card on two accounts
        a, b = rng.sample(ids, 2)
        fp = f"shared-{a}-{b}"
        methods += [(a, "adyen", "card", fp, now - timedelta(days=40), now - timedelta(days=2))]
        methods += [(b, "trustly", "card", fp, now - timedelta(days=10), now - timedelta(days=1))]
        sessions.append((b, now - timedelta(days=1), "192.0.2.10", f"dev-{a}"))  # and a device
    for pid in rng.sample(ids, int(args.players * PLANTED)):  # four new cards in a month
        methods += [
            (pid, "nuvei", "card", f"many-{pid}-{j}", now - timedelta(days=j + 1), now - timedelta(days=j))
            for j in range(4)
        ]
    raw = connection.connection
    with raw.cursor() as cur:
        copy_rows(
            cur,
            "payments_paymentmethod",
            "player_id, provider, type, fingerprint, first_used_at, last_used_at, brand, last_four, bank, holder_name",
            (m + ("visa", "4242", "", "") for m in methods),
        )
        copy_rows(
            cur,
            "players_playersession",
            "player_id, started_at, ip, device_id, user_agent, reported_by",
            (s + ("bench", "bench") for s in sessions),
        )
    check_ledger(connection)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # what autovacuum does to a ledger in service
        cur.execute(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size('wallet_posting')) FROM wallet_posting"
        )
        rows, size = cur.fetchone()
    t_gen = time.perf_counter() - t0
    print(
        f"generated in {t_gen:.0f} s: {args.players:,} players, {rows // 2:,} cash postings "
        f"({rows:,} ledger postings with the house legs, {size}), {len(methods):,} payment methods, {len(sessions):,} sessions; "
        f"planted {dict(planted)}"
    )
    return people, house, led


def _reused(connection):
    """(people, house accounts, a Ledger continuing the ids) read back from a kept database."""
    from wallet.models import Account

    house = {
        (kind, currency): pk
        for pk, kind, currency in Account.objects.filter(code="bench").values_list("pk", "kind", "currency")
    }
    people = [
        (pid, account, currency, joined)
        for account, pid, currency, joined in Account.objects.filter(kind="player_cash")
        .order_by("player_id")
        .values_list("pk", "player_id", "currency", "player__created_at")
    ]
    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM wallet_transaction")
        next_txn = cur.fetchone()[0] + 1
        cur.execute("SELECT max(id) FROM wallet_posting")
        next_posting = cur.fetchone()[0] + 1
    return people, house, Ledger(next_txn, next_posting, house)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=100_000)
    ap.add_argument("--postings", type=int, default=1_000_000, help="on the players' cash accounts")
    ap.add_argument(
        "--new-share", type=float, default=0.01, help="players with new data before the incremental"
    )
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--reuse", action="store_true", help="time again on the kept database (implies --keep)")
    ap.add_argument(
        "--incremental-only", action="store_true", help="with --reuse: only new data and the incremental"
    )
    args = ap.parse_args()
    if args.incremental_only and not args.reuse:
        ap.error("--incremental-only needs --reuse")
    args.keep = args.keep or args.reuse
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pitboss")
    parts = urlsplit(base)
    dbname = "pitboss_bench_aml"
    conn = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    if not args.reuse:
        subprocess.run(["dropdb", *conn, "--if-exists", dbname], check=True)
        subprocess.run(["createdb", *conn, dbname], check=True)
    os.environ["DATABASE_URL"] = _url(base, dbname)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    import psycopg
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from compliance.aml import services
    from compliance.aml.rules import RULES
    from compliance.kyc import _EUR_PER_UNIT
    from compliance.models import AmlAlert, AmlRuleConfig

    rng = random.Random(7)
    now = timezone.now()
    avg = args.postings / args.players
    patterns = ["structuring", "large_deposit", "large_total", "little_play", "velocity"]
    if args.reuse:
        people, house, led = _reused(connection)
        rng = random.Random(time.time_ns())  # another 1% of the players each time
        print(f"reusing {dbname}: {len(people):,} players")
    else:
        people, house, led = _generate(args, rng, now, patterns, connection)

    print(
        f"rules enabled: {AmlRuleConfig.objects.filter(enabled=True, code__in=list(RULES)).count()} of {len(RULES)}"
    )

    # --- per-rule timing (and which captured queries belong to which rule) -------------------
    phase: dict[str, dict[str, float]] = defaultdict(dict)
    spans: dict[str, tuple[int, int]] = {}
    current = {"phase": "", "ctx": None}

    def timed(code, real):
        def findings(**kw):
            ctx = current["ctx"]
            first = len(ctx.captured_queries) if ctx is not None else 0
            t = time.perf_counter()
            out = list(real(**kw))
            phase[current["phase"]][code] = time.perf_counter() - t
            if ctx is not None:
                spans[code] = (first, len(ctx.captured_queries))
            return out

        return findings

    for code, rule in RULES.items():
        rule.findings = timed(code, rule.findings)

    def scan(label: str, *, full: bool, capture=None):
        current["phase"], current["ctx"] = label, capture
        t = time.perf_counter()
        run = services.aml_scan_run(full=full)
        return run, time.perf_counter() - t

    if not args.incremental_only:
        run1, t_full = scan("full", full=True)
        print(f"full scan #1: {t_full:.2f} s, {run1.alerts_created} alerts created")
        with CaptureQueriesContext(connection) as ctx:
            _run2, t_full2 = scan("full2", full=True, capture=ctx)
        _run3, t_full3 = scan("full3", full=True)
        t_steady = min(t_full2, t_full3)
        print(
            f"full scans #2 and #3 (no new alerts; #2 with the queries captured): {t_full2:.2f} s, {t_full3:.2f} s"
        )

        # --- the floor: the rules' own SQL, straight through psycopg, on the same data -----------
        floor: dict[str, float] = {}
        dsn = _url(base, dbname)
        with psycopg.connect(dsn, autocommit=True) as pg:
            for _ in range(2):  # best of two, as the scans
                for code, (a, b) in spans.items():
                    total = 0.0
                    for q in ctx.captured_queries[a:b]:
                        if not q["sql"].lstrip().upper().startswith("SELECT"):
                            continue
                        t = time.perf_counter()
                        pg.execute(q["sql"]).fetchall()
                        total += time.perf_counter() - t
                    floor[code] = min(total, floor.get(code, total))
        t_floor = sum(floor.values())
        n_queries = sum(b - a for a, b in spans.values())

    # --- 1% new data, then the incremental scan; twice (other players), the best counts -----
    runs = []
    for round_ in (1, 2):
        chosen = rng.sample(people, int(len(people) * args.new_share))
        led = Ledger(led.next_txn, led.next_posting, house)
        with connection.cursor() as cur:
            cur.execute("SELECT id, balance FROM wallet_account WHERE player_id IS NOT NULL")
            led.balance.update(dict(cur.fetchall()))
        new = 0
        for i, (_pid, account, currency, _joined) in enumerate(chosen):
            rate = _EUR_PER_UNIT[currency]
            before = len(led.postings)
            history(
                rng,
                led,
                account,
                currency,
                rate,
                int(avg),
                now - timedelta(hours=6),
                now - timedelta(minutes=1),
            )
            if i % 50 == 0:
                plant(rng, led, account, currency, rate, patterns[i // 50 % len(patterns)], now)
            new += (len(led.postings) - before) // 2
        load_ledger(led, connection)
        check_ledger(connection)
        with connection.cursor() as cur:
            cur.execute("ANALYZE wallet_posting")
        run, t = scan(f"incremental{round_}", full=False)
        runs.append((t, round_, run))
        print(
            f"incremental scan #{round_} after {new:,} new cash postings for {len(chosen):,} players "
            f"({run.players_in_scope} in scope): {t:.2f} s, {run.alerts_created} alerts created"
        )
    t_inc, best, run3 = min(runs, key=lambda r: r[0])
    phase["incremental"] = phase[f"incremental{best}"]

    if args.incremental_only:
        for code, t in sorted(phase["incremental"].items()):
            print(f"  {code}: {t:.3f} s, {run3.counts.get(code, 0)} alerts")
        skipped = sorted(set(run3.counts) - set(phase["incremental"]))
        print(f"  rules skipped (nothing of their kind new): {', '.join(skipped) or 'none'}")
        connection.close()
        return
    print()
    print("| rule | full scan s (steady) | direct SQL s | incremental s | alerts (full #1) |")
    print("|---|---:|---:|---:|---:|")
    for code in sorted(phase["full"]):
        steady = min(phase["full2"][code], phase["full3"][code])
        print(
            f"| {code} | {steady:.2f} | {floor.get(code, 0):.2f} | "
            f"{phase['incremental'].get(code, 0):.3f} | {run1.counts.get(code, 0)} |"
        )
    print()
    print("| measure | value | aim |")
    print("|---|---:|---|")
    print(f"| full scan (aml_scan_run(full=True)), first: creating the alerts | {t_full:.2f} s | |")
    print(f"| full scan, steady (best of two, nothing new to create) | {t_steady:.2f} s | |")
    print(f"| incremental scan after {args.new_share:.0%} new data (best of two) | {t_inc:.2f} s | |")
    print(f"| incremental / full (steady) | {t_inc / t_steady:.1%} | < 5% |")
    print(f"| direct SQL (the rules' {n_queries} queries via psycopg, best of two) | {t_floor:.2f} s | |")
    print(f"| full scan (steady) / direct SQL | {t_steady / t_floor:.2f}x | <= 2x |")
    print(f"alerts in the database: {AmlAlert.objects.count()}")
    connection.close()
    if not args.keep:
        subprocess.run(["dropdb", *conn, "--if-exists", dbname], check=True)


if __name__ == "__main__":
    main()
