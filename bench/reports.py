#!/usr/bin/env python
"""Reports benchmark. The dashboard part: the console's home as a finance operator sees it,
timed on the demo world, from the rollups (what it does) and the same figures computed
from the raw tables (the ledger) for comparison.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/reports.py \\
        --players 100000 --days 365
    ... bench/reports.py --reuse          # the database seeded by an earlier run

Creates (dropping it first) the database pitboss_bench_reports on the server of
DATABASE_URL, migrates it, seeds it (demo.seed.seed_run, as `manage.py seed_demo` does),
imports the sample FX rates and rebuilds the rollups of the last 31 days (timed). With
--reuse it keeps the database and only brings the rollups up to today.

Then, timed (median and p95 of --runs):
- dashboard: GET /admin/ through the Django test client, signed in as the demo finance
  operator (every tile finance sees), and the number of queries it ran;
- each tile's fragment (what htmx polls), the same way;
- raw: the dashboard's money figures computed from the ledger instead (today and yesterday
  to the same time, and the 30 days' deposits, withdrawals, GGR, NGR and active players
  per day: three GROUP BY queries over the postings).

Then (unless --no-exports) bench/reports_exports.py on the same world: each report's query
time from the rollups and from the raw tables, a one-million-row CSV export beside
PostgreSQL's COPY of the same query (rows/s, peak memory), and a 100-page PDF's render time.
That part also runs alone: bench/reports_exports.py --reuse."""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DBNAME = "pitboss_bench_reports"


def _url(base: str, dbname: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{dbname}"))


def _timed(fn, runs: int) -> tuple[float, float, object]:
    """Median and p95 in ms (after one warm-up call) and the last result."""
    result = fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, result


def _prepare(args, conn: list[str]) -> None:
    from django.core.management import call_command

    from reports import fx, rollups
    from reports.models import RollupDay

    if not args.reuse:
        call_command("migrate", verbosity=0)
        from demo.seed import seed_run

        def progress(done: int, total: int, rounds: int) -> None:
            print(f"\r  {done:,}/{total:,} players, {rounds:,} rounds", end="", file=sys.stderr, flush=True)

        print(f"Seeding {args.players:,} players over {args.days} days...")
        run = seed_run(players=args.players, days=args.days, seed=args.seed, progress=progress)
        print(file=sys.stderr)
        s = run.summary
        print(f"seed: {s['rounds']:,} rounds in {s['seconds']:.0f} s")
        fx.fx_rates_import(content=(ROOT / "reports/data/fx_rates_sample.csv").read_bytes(), source="sample")
    today = rollups.local_today()
    last = RollupDay.objects.filter(final=True).order_by("-day").values_list("day", flat=True).first()
    first = max(last + timedelta(days=1), today - timedelta(days=30)) if last else today - timedelta(days=30)
    started = time.monotonic()
    results = rollups.rollup_rebuild(day_from=first, day_to=today)
    seconds = time.monotonic() - started
    print(f"rollups: {len(results)} days ({first} to {today}) rebuilt in {seconds:.1f} s", end="")
    print(f" ({seconds / max(len(results), 1):.1f} s a day)")


def _raw_figures(now: datetime) -> dict:
    """The dashboard's money figures straight from the ledger (what the rollups save)."""
    from django.db.models import Count, F, Sum
    from django.db.models.functions import TruncDate

    from reports import dashboard_figures
    from reports.rollups import day_bounds, local_today, reporting_tz
    from wallet.models import Account, Posting, Transaction

    K, A = Transaction.Kind, Account.Kind
    today = local_today(now)
    start_today, _ = day_bounds(today)
    start_yesterday, _ = day_bounds(today - timedelta(days=1))
    start_30, _ = day_bounds(today - timedelta(days=29))
    tz = reporting_tz()
    out = {
        "today": dashboard_figures.ledger_delta(start_today, now),
        "yesterday": dashboard_figures.ledger_delta(start_yesterday, now - timedelta(days=1)),
    }
    out["days"] = list(
        Posting.objects.filter(
            transaction__created_at__gte=start_30,
            transaction__created_at__lt=now,
            transaction__kind__in=(K.DEPOSIT, K.WITHDRAWAL, K.BET, K.WIN, K.ROLLBACK, K.BONUS_CONVERSION),
            account__kind__in=(A.PLAYER_CASH, A.PLAYER_BONUS, A.PLAYER_WITHDRAWAL_PENDING),
        )
        .values(
            day=TruncDate("transaction__created_at", tzinfo=tz),
            cur=F("account__currency"),
            kind=F("transaction__kind"),
            acct=F("account__kind"),
        )
        .annotate(total=Sum("amount"))
    )
    out["active"] = list(
        Posting.objects.filter(
            transaction__created_at__gte=start_30,
            transaction__created_at__lt=now,
            transaction__kind=K.BET,
            account__kind__in=(A.PLAYER_CASH, A.PLAYER_BONUS),
        )
        .values(day=TruncDate("transaction__created_at", tzinfo=tz))
        .annotate(n=Count("account__player_id", distinct=True))
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--runs", type=int, default=20, help="timed runs of the dashboard (median, p95)")
    ap.add_argument("--raw-runs", type=int, default=3, help="timed runs of the raw computation")
    ap.add_argument("--reuse", action="store_true", help="keep the database seeded by an earlier run")
    ap.add_argument(
        "--no-exports",
        action="store_true",
        help="the dashboard only: skip the report queries, the 1M-row CSV export and the 100-page PDF "
        "(bench/reports_exports.py, about 10 minutes)",
    )
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
    if not args.reuse:
        subprocess.run(["dropdb", *conn, "--if-exists", DBNAME], check=True)
        subprocess.run(["createdb", *conn, DBNAME], check=True)
    os.environ["DATABASE_URL"] = _url(base, DBNAME)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
    import django

    django.setup()
    from django.conf import settings
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from backoffice.demo import ensure_demo_operators
    from games.models import Round
    from wallet.models import Posting

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Each request clears the query log (request_started -> reset_queries): keep it to count.
    request_started.disconnect(reset_queries)
    _prepare(args, conn)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"world: {Round.objects.count():,} rounds, {Posting.objects.count():,} postings")

    finance = next(u for u in ensure_demo_operators() if u.email == "finance@pitboss.test")
    client = Client()
    client.force_login(finance)

    def page():
        r = client.get("/admin/")
        assert r.status_code == 200, r.status_code
        return r

    page()
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        page()
    queries = list(ctx.captured_queries)  # read now: later requests may clear the log
    median, p95, r = _timed(page, args.runs)
    sql_ms = sum(float(q["time"]) for q in queries) * 1000
    print(
        f"dashboard from rollups (finance, full page): median {median:.1f} ms, p95 {p95:.1f} ms, "
        f"{len(queries)} queries taking {sql_ms:.1f} ms, {len(r.content):,} bytes  [aim < 200 ms]"
    )
    slow = sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:3]
    for q in slow:
        print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:110]}")
    for key in ("today", "active", "queues", "events", "charts"):
        url = reverse(f"admin:reports_dashboard_{key}")
        median, p95, _ = _timed(lambda url=url: client.get(url), args.runs)
        print(f"  tile {key:<7} fragment: median {median:6.1f} ms, p95 {p95:6.1f} ms")
    now = timezone.now()
    median, p95, _ = _timed(lambda: _raw_figures(now), args.raw_runs)
    print(f"the same money figures from the raw ledger: median {median:.1f} ms, p95 {p95:.1f} ms (4 queries)")
    if not args.no_exports:
        # Each report's query time (rollups vs raw), the CSV export beside COPY, the PDF.
        sys.path.insert(0, str(ROOT / "bench"))
        import reports_exports

        reports_exports.run(args)
    connection.close()


if __name__ == "__main__":
    main()
