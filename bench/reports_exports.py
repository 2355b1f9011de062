#!/usr/bin/env python
"""Reports benchmark, the reports and exports part (issue #9): on the demo world of
bench/reports.py (database pitboss_bench_reports), timed in one run, each beside its
reference:

1. every registered report's table built through its definition (rows materialised), median
   of --report-runs, for the last 30 days (the MGA returns: the current calendar month); for
   the rollup-based reports the same figures from the raw tables (GROUP BY over the postings,
   the game calls and the payments, written here), median of --raw-runs;
2. a CSV export of --csv-rows rows (a million by default) through the console's own path: a
   report run (reports.runs.report_run_execute -> reports.render.csvfile.write_csv) of a
   bench-only row-level definition, every game round with its game, in a subprocess so its
   max RSS (resource.getrusage) is the export's own, then again under tracemalloc for the
   Python heap's peak; beside PostgreSQL's COPY (the same SQL) TO STDOUT WITH CSV through
   psycopg;
3. a PDF of about --pdf-pages pages through reports.render.pdf (WeasyPrint), the same
   definition with as many rows as fill them; pages counted with pdfinfo.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/reports_exports.py

Uses pitboss_bench_reports as it is when it exists (never drops it: bench/reports.py owns
it); when it does not, creates it and seeds --players over --days as bench/reports.py does
(demo.seed's seed_run, the sample FX rates, rollups of the last 31 days).
bench/reports.py calls run(args) once its world is ready."""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DBNAME = "pitboss_bench_reports"
BENCH_KEY = "bench-rounds"


def _url(base: str, dbname: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{dbname}"))


def _median_ms(fn, runs: int) -> tuple[float, object]:
    """Median in ms of `runs` calls after one warm-up call, and the last result."""
    result = fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


# --- the bench-only row-level report -------------------------------------------------------------


def _rounds_queryset(p: dict):
    from games.models import Round
    from reports.definitions.common import range_bounds

    start, end = range_bounds(p["date_from"], p["date_to"])
    qs = (
        Round.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .values_list("id", "opened_at", "player_id", "game__title", "currency", "total_bet", "total_win")
        .order_by("id")
    )
    return qs[: int(p["limit"])] if p.get("limit") else qs


ROUND_KEYS = ("round", "opened_at", "player", "game", "currency", "bet", "win")


def register_bench_report() -> None:
    """A row-level report used only here: every round of the range (first `limit` by id). The
    reports' own definitions aggregate, so none yields a million rows."""
    from django import forms
    from django.utils import timezone

    from reports import registry
    from reports.registry import Column, DateRangeForm, Report, Table

    class RoundsForm(DateRangeForm):
        limit = forms.IntegerField(required=False, min_value=1)

    def build(p: dict) -> Table:
        def rows():
            for values in _rounds_queryset(p).iterator(chunk_size=5000):
                yield dict(zip(ROUND_KEYS, values, strict=True))

        return Table(
            columns=[
                Column("round", "Round", "int"),
                Column("opened_at", "Opened at"),
                Column("player", "Player", "int"),
                Column("game", "Game"),
                Column("currency", "Currency"),
                Column("bet", "Bet", "money"),
                Column("win", "Win", "money"),
            ],
            rows=rows(),
            as_of=timezone.now(),
        )

    registry._load()
    registry.register(
        Report(
            key=BENCH_KEY,
            title="Game rounds (benchmark)",
            description="Every game round of the range with its game, stake and win.",
            permission=registry.MONEY,
            form_class=RoundsForm,
            build=build,
            order=999,
        )
    )


def _run_report(fmt: str, params: dict):
    """A report run as the console's Celery task does it, inline; returns (run, file path)."""
    from reports import runs
    from reports.run_models import ReportRun

    run = runs.report_run_request(key=BENCH_KEY, params=params, formats=[fmt], label="bench", enqueue=False)
    run = runs.report_run_execute(run_id=run.pk)
    if run.state != ReportRun.State.DONE:
        raise RuntimeError(f"report run {run.pk} failed: {run.error}")
    f = run.files.get()
    return run, runs.storage_dir() / f.file


def _forget_runs() -> None:
    """The bench's runs and their (already removed) files out of the console's run list; their
    audit events stay, as every audit event does."""
    from reports.run_models import ReportFile, ReportRun

    ReportFile.objects.filter(run__key=BENCH_KEY).delete()
    ReportRun.objects.filter(key=BENCH_KEY).delete()


def _year_params(limit: int) -> dict:
    from reports.rollups import local_today

    today = local_today()
    return {"date_from": today - timedelta(days=729), "date_to": today, "limit": limit}


# --- 1. report queries ---------------------------------------------------------------------------


def _raw_market_days(start, end, market: str = ""):
    """Per day, currency, transaction kind and account kind: the postings' sums (deposits,
    withdrawals, stakes, wins, bonus cost), as the rollups fold them."""
    from django.db.models import F, Sum
    from django.db.models.functions import TruncDate

    from reports.rollups import _LEDGER_KINDS, BONUS, CASH, PENDING, reporting_tz
    from wallet.models import Posting

    qs = Posting.objects.filter(
        transaction__created_at__gte=start,
        transaction__created_at__lt=end,
        transaction__kind__in=_LEDGER_KINDS,
        account__kind__in=(CASH, BONUS, PENDING),
    )
    if market:
        qs = qs.filter(account__player__jurisdiction=market)
    return list(
        qs.values(
            day=TruncDate("transaction__created_at", tzinfo=reporting_tz()),
            cur=F("account__currency"),
            kind=F("transaction__kind"),
            acct=F("account__kind"),
        )
        .annotate(total=Sum("amount"))
        .order_by()
    )


def _fold_ggr(rows: list[dict], *, by_day: bool) -> dict:
    """bets, wins, bonus cost per (day or None, currency) from _raw_market_days."""
    from reports.rollups import BONUS, CASH, K

    out: dict = {}
    for r in rows:
        key = (r["day"] if by_day else None, r["cur"])
        f = out.setdefault(key, {"bets": 0, "wins": 0, "bonus_cost": 0})
        kind, acct, total = r["kind"], r["acct"], r["total"]
        if kind in (K.BET, K.ROLLBACK) and acct in (CASH, BONUS):
            f["bets"] -= total
            if acct == BONUS:
                f["bonus_cost"] -= total
        elif kind == K.WIN and acct in (CASH, BONUS):
            f["wins"] += total
            if acct == BONUS:
                f["bonus_cost"] -= total
        elif kind == K.BONUS_CONVERSION and acct == CASH:
            f["bonus_cost"] += total
    for f in out.values():
        f["ggr"] = f["bets"] - f["wins"]
        f["ngr"] = f["ggr"] - f["bonus_cost"]
    return out


def raw_ggr(p: dict) -> dict:
    """GGR and NGR by day in euro: the postings grouped by day, converted at each day's rate."""
    from reports import fx
    from reports.definitions.common import range_bounds

    per = _fold_ggr(_raw_market_days(*range_bounds(p["date_from"], p["date_to"])), by_day=True)
    days: dict = {}
    rates: dict = {}
    for (day, cur), f in per.items():
        if day not in rates:
            rates[day] = fx.rates_on(day, {c for d, c in per if d == day})
        d = days.setdefault(day, {"ggr": 0, "ngr": 0})
        for k in ("ggr", "ngr"):
            d[k] += fx.to_eur(f[k], cur, rates[day].get(cur)) or 0
    return days


def raw_games(p: dict) -> dict:
    """Per game, provider and currency: stakes and wins from the postings of the game calls,
    rounds and players from the game calls (the rollup's source queries, over the range)."""
    from reports import rollups
    from reports.definitions.common import range_bounds

    return rollups._games(*range_bounds(p["date_from"], p["date_to"]))


def raw_payments(p: dict) -> dict:
    from reports import rollups
    from reports.definitions.common import range_bounds
    from reports.definitions.payments import _payout_hours

    return {"rows": rollups._payments(*range_bounds(p["date_from"], p["date_to"])), "hours": _payout_hours(p)}


def raw_activity(p: dict) -> dict:
    """Registrations, first-time depositors and distinct bettors per day from the players
    and the postings (the retention part of the report reads the ledger either way)."""
    from django.db.models import Count, Exists, OuterRef
    from django.db.models.functions import TruncDate

    from players.models import Player
    from reports.definitions.activity import _retention
    from reports.definitions.common import range_bounds
    from reports.rollups import BONUS, CASH, K, reporting_tz
    from wallet.models import Posting

    tz = reporting_tz()
    start, end = range_bounds(p["date_from"], p["date_to"])
    in_range = {"transaction__created_at__gte": start, "transaction__created_at__lt": end}
    regs = list(
        Player.objects.filter(created_at__gte=start, created_at__lt=end)
        .values(day=TruncDate("created_at", tzinfo=tz))
        .annotate(n=Count("id"))
        .order_by()
    )
    earlier = Posting.objects.filter(
        account_id=OuterRef("account_id"),
        transaction__kind=K.DEPOSIT,
        transaction_id__lt=OuterRef("transaction_id"),
    )
    ftd = list(
        Posting.objects.filter(**in_range, transaction__kind=K.DEPOSIT, account__kind=CASH)
        .filter(~Exists(earlier))
        .values(day=TruncDate("transaction__created_at", tzinfo=tz))
        .annotate(n=Count("id"))
        .order_by()
    )
    active = list(
        Posting.objects.filter(**in_range, transaction__kind=K.BET, account__kind__in=(CASH, BONUS))
        .values(day=TruncDate("transaction__created_at", tzinfo=tz))
        .annotate(n=Count("account__player_id", distinct=True))
        .order_by()
    )
    return {"regs": regs, "ftd": ftd, "active": active, "retention": _retention(p)}


def raw_gaming_tax(p: dict) -> dict:
    """Malta's month: stakes and wins per currency from the postings."""
    from reports.definitions.common import range_bounds

    return _fold_ggr(_raw_market_days(*range_bounds(p["date_from"], p["date_to"]), market="MT"), by_day=False)


RAW = {
    "ggr": raw_ggr,
    "game-performance": raw_games,
    "payments": raw_payments,
    "activity": raw_activity,
    "mga-gaming-tax": raw_gaming_tax,
}


def _check_ggr(p: dict) -> str:
    """The rollups' native-currency GGR per currency against the postings' (they must agree)."""
    from django.db.models import Sum

    from reports.definitions.common import range_bounds
    from reports.models import DailyMarket

    rolled = dict(
        DailyMarket.objects.filter(day__gte=p["date_from"], day__lte=p["date_to"])
        .values("currency")
        .annotate(s=Sum("ggr"))
        .values_list("currency", "s")
        .order_by()
    )
    raw = {
        cur: f["ggr"]
        for (_, cur), f in _fold_ggr(
            _raw_market_days(*range_bounds(p["date_from"], p["date_to"])), by_day=False
        ).items()
    }
    same = {k: v for k, v in rolled.items() if v} == {k: v for k, v in raw.items() if v}
    return "GGR per currency: rollups = ledger" if same else f"MISMATCH rollups {rolled} ledger {raw}"


def bench_reports(args) -> list[tuple[str, str]]:
    from reports import registry
    from reports.rollups import local_today

    today = local_today()
    last30 = {"date_from": today - timedelta(days=29), "date_to": today}
    month = {"date_from": today.replace(day=1), "date_to": (today.replace(day=28) + timedelta(days=4))}
    month["date_to"] = month["date_to"] - timedelta(days=month["date_to"].day)
    out = []
    for report in registry.all_reports():
        if report.key == BENCH_KEY:
            continue
        base = month if report.key.startswith("mga-") else last30
        params = report.clean({**base, **({"group_by": "day"} if report.key == "ggr" else {})})
        p = registry.parse_params(params)

        def build(report=report, params=params):
            t = report.table(params)
            return list(t.iter_rows())

        ms, rows = _median_ms(build, args.report_runs)
        line = f"{report.key:<18} {p['date_from']}..{p['date_to']}: {len(rows):>4} rows, median {ms:8.1f} ms"
        if report.key in RAW:
            raw_ms, _ = _median_ms(lambda p=p, key=report.key: RAW[key](p), args.raw_runs)
            line += f"  | raw tables {raw_ms:8.1f} ms ({raw_ms / ms:,.0f}x)"
        else:
            line += "  | reads the source tables itself (no rollup)"
        print(line, flush=True)
        out.append((f"report {report.key}", line))
    check = _check_ggr(registry.parse_params(last30))
    print(check)
    out.append(("check", check))
    return out


# --- 2. CSV export against COPY ------------------------------------------------------------------


def csv_child(args) -> None:
    """In a fresh process: the export as a report run, its max RSS before and after; then the
    same export under tracemalloc for the Python heap's peak. Prints one JSON line."""
    import tracemalloc

    from django.conf import settings

    settings.REPORTS_STORAGE_DIR = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    register_bench_report()
    params = _year_params(args.csv_rows)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    run, path = _run_report("csv", params)
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = path.stat().st_size
    path.unlink()
    from reports import registry

    # The same rows without the CSV: what fetching them through the ORM into dicts costs.
    started = time.perf_counter()
    fetched = sum(1 for _ in registry.get(BENCH_KEY).table(params).iter_rows())
    fetch_seconds = time.perf_counter() - started
    tracemalloc.start()
    run2, _ = _run_report("csv", params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    shutil.rmtree(settings.REPORTS_STORAGE_DIR, ignore_errors=True)
    _forget_runs()
    print(
        json.dumps(
            {
                "rows": run.rows,
                "seconds": seconds,
                "bytes": size,
                "rss_before_kb": rss_before,
                "rss_after_kb": rss_after,
                "tracemalloc_peak": peak,
                "rows2": run2.rows,
                "fetched": fetched,
                "fetch_seconds": fetch_seconds,
            }
        )
    )


def _copy(sql: str) -> tuple[int, int, float]:
    """COPY (sql) TO STDOUT WITH CSV HEADER into a temporary file: rows, bytes, seconds."""
    from django.db import connection

    connection.ensure_connection()
    pg = connection.connection
    n = size = 0
    with tempfile.TemporaryFile() as f:
        started = time.perf_counter()
        with pg.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER") as copy:
            for block in copy:
                f.write(block)
                size += len(block)
                n += bytes(block).count(b"\n")
        seconds = time.perf_counter() - started
    return n - 1, size, seconds


def _formatted_sql(sql: str) -> str:
    """The same SELECT wrapped so PostgreSQL writes what the CSV renderer writes: money in
    major units at each currency's exponent, the time in ISO 8601 (for reference: what a
    COPY-backed export path would cost)."""
    from backoffice.money import EXPONENTS

    cases = " ".join(f"WHEN '{c}' THEN {e}" for c, e in EXPONENTS.items())
    exp = f"(CASE s.currency {cases} END)"

    def money(col: str) -> str:
        return f"round(s.{col}::numeric / power(10::numeric, {exp}), {exp})"

    return (
        "SELECT s.id, to_char(s.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
        f"s.player_id, s.game__title, s.currency, {money('total_bet')}, {money('total_win')} FROM ({sql}) s"
    )


def bench_csv(args) -> list[tuple[str, str]]:
    from django.db import connection

    from reports.registry import parse_params

    sql, params = _rounds_queryset(parse_params(_year_params(args.csv_rows))).query.sql_with_params()
    with connection.cursor() as cur:
        literal = cur.mogrify(sql, params)
    literal = literal.decode() if isinstance(literal, bytes) else literal
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, __file__, "--csv-child", "--csv-rows", str(args.csv_rows)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"CSV export subprocess failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    copy_rows, copy_bytes, copy_s = _copy(literal)
    fmt_rows, fmt_bytes, fmt_s = _copy(_formatted_sql(literal))
    rate, copy_rate = r["rows"] / r["seconds"], copy_rows / copy_s
    rss = r["rss_after_kb"] / 1024
    lines = [
        f"CSV export (report run -> write_csv), {r['rows']:,} rows, {r['bytes'] / 1e6:,.0f} MB: "
        f"{r['seconds']:.1f} s, {rate:,.0f} rows/s",
        f"  of which fetching the rows (ORM values_list iterator into dicts, no CSV): "
        f"{r['fetch_seconds']:.1f} s for {r['fetched']:,} rows",
        f"  max RSS of the export process {rss:,.0f} MB (before the export {r['rss_before_kb'] / 1024:,.0f} MB); "
        f"tracemalloc peak {r['tracemalloc_peak'] / 1e6:,.1f} MB",
        f"COPY (same SELECT) TO STDOUT WITH CSV via psycopg, {copy_rows:,} rows, {copy_bytes / 1e6:,.0f} MB: "
        f"{copy_s:.1f} s, {copy_rate:,.0f} rows/s",
        f"  COPY with the export's text made in SQL (money in major units, ISO 8601 times), "
        f"{fmt_rows:,} rows, {fmt_bytes / 1e6:,.0f} MB: {fmt_s:.1f} s, {fmt_rows / fmt_s:,.0f} rows/s",
        f"  export / COPY speed: {rate / copy_rate:.2f} [aim >= 0.5]; peak memory {rss:,.0f} MB [aim < 300 MB]",
    ]
    for line in lines:
        print(line, flush=True)
    return [("csv", "\n".join(lines))]


# --- 3. PDF --------------------------------------------------------------------------------------


def _pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def bench_pdf(args) -> list[tuple[str, str]]:
    from django.conf import settings

    settings.REPORTS_STORAGE_DIR = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    register_bench_report()
    # Calibrate: the rows a page holds, from a small render (a title page, then the table).
    probe_rows = 400
    _, path = _run_report("pdf", _year_params(probe_rows))
    per_page = probe_rows / max(_pdf_pages(path) - 1, 1)
    rows = int(per_page * (args.pdf_pages - 1))
    started = time.perf_counter()
    run, path = _run_report("pdf", _year_params(rows))
    seconds = time.perf_counter() - started
    pages = _pdf_pages(path)
    size = path.stat().st_size
    shutil.rmtree(settings.REPORTS_STORAGE_DIR, ignore_errors=True)
    _forget_runs()
    line = (
        f"PDF (report run -> write_pdf, WeasyPrint): {run.rows:,} rows, {pages} pages, "
        f"{size / 1e6:,.1f} MB in {seconds:.1f} s ({seconds / pages * 1000:,.0f} ms a page)"
    )
    print(line, flush=True)
    return [("pdf", line)]


def run(args) -> list[tuple[str, str]]:
    """Everything above on the database Django is connected to (the world ready)."""
    for name, default in (
        ("report_runs", 5),
        ("raw_runs", 3),
        ("csv_rows", 1_000_000),
        ("pdf_pages", 100),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)
    register_bench_report()
    return [*bench_reports(args), *bench_csv(args), *bench_pdf(args)]


def _database_exists(base: str) -> bool:
    import psycopg

    with psycopg.connect(_url(base, "postgres"), autocommit=True) as c:
        return c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DBNAME,)).fetchone() is not None


def _seed(args) -> None:
    """A new world as bench/reports.py seeds it."""
    from django.core.management import call_command

    from demo.seed import seed_run
    from reports import fx, rollups

    call_command("migrate", verbosity=0)
    print(f"Seeding {args.players:,} players over {args.days} days...", flush=True)
    seeded = seed_run(players=args.players, days=args.days, seed=args.seed)
    print(f"seed: {seeded.summary['rounds']:,} rounds in {seeded.summary['seconds']:.0f} s")
    fx.fx_rates_import(content=(ROOT / "reports/data/fx_rates_sample.csv").read_bytes(), source="sample")
    today = rollups.local_today()
    rollups.rollup_rebuild(day_from=today - timedelta(days=30), day_to=today)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=10_000, help="only when the database must be seeded")
    ap.add_argument("--days", type=int, default=30, help="only when the database must be seeded")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--reuse", action="store_true", help="require the database seeded by an earlier run")
    ap.add_argument("--report-runs", type=int, default=5, help="timed builds of each report (median)")
    ap.add_argument("--raw-runs", type=int, default=3, help="timed raw computations (median)")
    ap.add_argument("--csv-rows", type=int, default=1_000_000)
    ap.add_argument("--pdf-pages", type=int, default=100)
    ap.add_argument("--only", choices=("reports", "csv", "pdf"), help="one part only")
    ap.add_argument("--csv-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
    if args.csv_child:  # DATABASE_URL already names the bench database
        import django

        django.setup()
        csv_child(args)
        return
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pitboss")
    exists = _database_exists(base)
    if args.reuse and not exists:
        sys.exit(f"--reuse: there is no database {DBNAME} yet.")
    if not exists:
        parts = urlsplit(base)
        conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
        subprocess.run(["createdb", *conn, "-U", parts.username or "postgres", DBNAME], check=True)
    os.environ["DATABASE_URL"] = _url(base, DBNAME)
    import django

    django.setup()
    from django.db import connection

    from games.models import Round
    from wallet.models import Posting

    if not exists:
        _seed(args)
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    print(
        f"world: {Round.objects.count():,} rounds, {Posting.objects.count():,} postings; load {os.getloadavg()}"
    )
    register_bench_report()
    parts = {"reports": bench_reports, "csv": bench_csv, "pdf": bench_pdf}
    if args.only:
        parts[args.only](args)
    else:
        run(args)


if __name__ == "__main__":
    main()
