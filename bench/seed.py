#!/usr/bin/env python
"""seed_demo's throughput on PostgreSQL, beside its floor: PostgreSQL's own COPY rate for
the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/seed.py \\
        --players 100000 --days 365

Creates (dropping it first) the database pitboss_bench_seed on that server, migrates it,
seeds it (demo.seed.seed_run, as `manage.py seed_demo` does), then measures the floor: the
four big tables the seed wrote (game rounds, wallet API calls, ledger transactions and
postings) are copied out to memory (COPY TO) and back into empty copies of themselves
with the same indexes and constraints (CREATE TABLE ... LIKE ... INCLUDING ALL; COPY
FROM), timed. Ends with the ledger verification over everything seeded, then drops the
database (--keep keeps it)."""

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DBNAME = "pitboss_bench_seed"
BIG = ("games_round", "games_wallettransaction", "wallet_transaction", "wallet_posting")


def _url(base: str, dbname: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{dbname}"))


def _floor(cur) -> tuple[int, float]:
    """Rows and seconds to COPY the big tables into empty copies (indexes included)."""
    rows, seconds = 0, 0.0
    for table in BIG:
        buf = io.BytesIO()
        with cur.copy(f"COPY {table} TO STDOUT") as out:
            for chunk in out:
                buf.write(chunk)
        cur.execute(f"DROP TABLE IF EXISTS floor_{table}")
        cur.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
        cur.connection.commit()
        started = time.monotonic()
        with cur.copy(f"COPY floor_{table} FROM STDIN") as into:
            into.write(buf.getvalue())
        cur.connection.commit()
        seconds += time.monotonic() - started
        cur.execute(f"SELECT COUNT(*) FROM floor_{table}")
        rows += cur.fetchone()[0]
        cur.execute(f"DROP TABLE floor_{table}")
        cur.connection.commit()
    return rows, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--no-verify", action="store_true", help="skip the ledger verification")
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pitboss")
    parts = urlsplit(base)
    conn = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    subprocess.run(["dropdb", *conn, "--if-exists", DBNAME], check=True)
    subprocess.run(["createdb", *conn, DBNAME], check=True)
    os.environ["DATABASE_URL"] = _url(base, DBNAME)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from demo.seed import seed_run, summary_lines

    call_command("migrate", verbosity=0)  # the seed adds the games catalogue itself

    def progress(done: int, total: int, rounds: int) -> None:
        print(f"\r  {done:,}/{total:,} players, {rounds:,} rounds", end="", file=sys.stderr, flush=True)

    print(f"Seeding {args.players:,} players over {args.days} days on PostgreSQL...")
    run = seed_run(players=args.players, days=args.days, seed=args.seed, progress=progress)
    print(file=sys.stderr)
    s = run.summary
    for line in summary_lines(s):
        print(line)
    written = s["rows_written"]
    big_rows = written["round"] + written["call"] + written["txn"] + written["posting"]
    all_rows = sum(written.values())
    print(
        f"seed: {s['rounds']:,} rounds, {all_rows:,} rows in {s['seconds']:.1f} s = "
        f"{s['rounds'] / s['seconds']:,.0f} rounds/s ({all_rows / s['seconds']:,.0f} rows/s); "
        f"of which writing (COPY) {s['write_seconds']:.1f} s, simulating {s['seconds'] - s['write_seconds']:.1f} s"
    )
    with connection.cursor() as cur:
        raw = cur.cursor
        rows, seconds = _floor(raw)
    assert rows == big_rows, (rows, big_rows)  # the database holds nothing but the seed
    print(
        f"floor: COPY of the same {rows:,} rows (rounds, calls, transactions, postings) into empty "
        f"copies of their tables in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, "
        f"{s['rounds'] / seconds:,.0f} rounds/s"
    )
    seed_big = sum(s["write_seconds_by_table"][k] for k in ("round", "call", "txn", "posting"))
    print(f"the seed's own COPY of those tables took {seed_big:.1f} s ({rows / seed_big:,.0f} rows/s)")
    if not args.no_verify:
        from wallet.verify import ledger_check

        started = time.monotonic()
        report = ledger_check()
        print(
            f"ledger_verify: {'every invariant holds' if report.ok else 'VIOLATIONS'} "
            f"({report.summary['postings']:,} postings, {time.monotonic() - started:.0f} s)"
        )
    connection.close()
    if not args.keep:
        subprocess.run(["dropdb", *conn, "--if-exists", DBNAME], check=True)


if __name__ == "__main__":
    main()
