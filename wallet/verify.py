"""Ledger verification: every invariant of DESIGN.md checked in set-based SQL (one
statement per invariant, whatever the ledger's size), for `manage.py ledger_verify`
and the nightly `ledger_verify_task`. Portable SQL: it runs on SQLite too."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from backoffice import audit

from .models import PLAYER_KINDS, LedgerVerifyRun

LIMIT = 200  # violations listed per check; the count is always exact

_PLAYER_KINDS_SQL = ", ".join(f"'{k}'" for k in PLAYER_KINDS)

# (name, what it proves, SQL returning one row per violation)
CHECKS: list[tuple[str, str, str]] = [
    (
        "zero_sum",
        "the postings of each transaction sum to zero per currency",
        """SELECT p.transaction_id, a.currency, SUM(p.amount)
             FROM wallet_posting p JOIN wallet_account a ON a.id = p.account_id
            GROUP BY p.transaction_id, a.currency HAVING SUM(p.amount) <> 0""",
    ),
    (
        "transaction_without_postings",
        "every transaction has postings",
        """SELECT t.id FROM wallet_transaction t
            WHERE NOT EXISTS (SELECT 1 FROM wallet_posting p WHERE p.transaction_id = t.id)""",
    ),
    (
        "stored_balance",
        "each player account's stored balance equals the sum of its postings",
        f"""SELECT a.id, a.balance, COALESCE(s.total, 0)
              FROM wallet_account a
              LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM wallet_posting GROUP BY account_id) s
                ON s.account_id = a.id
             WHERE a.kind IN ({_PLAYER_KINDS_SQL})
               AND (a.balance IS NULL OR a.balance <> COALESCE(s.total, 0))""",
    ),
    (
        "negative_balance",
        "no player account is below zero",
        f"SELECT id, balance FROM wallet_account WHERE kind IN ({_PLAYER_KINDS_SQL}) AND balance < 0",
    ),
    (
        "balance_after",
        "each player posting's balance_after is the running sum of its account, never below zero",
        f"""SELECT id, account_id, balance_after, running FROM (
              SELECT p.id, p.account_id, p.balance_after,
                     SUM(p.amount) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
                FROM wallet_posting p JOIN wallet_account a ON a.id = p.account_id
               WHERE a.kind IN ({_PLAYER_KINDS_SQL})) x
             WHERE balance_after IS NULL OR balance_after <> running OR running < 0""",
    ),
    (
        "house_shape",
        "house accounts and their postings carry no stored balance (it is derived)",
        f"""SELECT a.id, 'account' FROM wallet_account a
             WHERE a.kind NOT IN ({_PLAYER_KINDS_SQL}) AND (a.balance IS NOT NULL OR a.player_id IS NOT NULL)
            UNION ALL
            SELECT p.id, 'posting' FROM wallet_posting p JOIN wallet_account a ON a.id = p.account_id
             WHERE a.kind NOT IN ({_PLAYER_KINDS_SQL}) AND p.balance_after IS NOT NULL""",
    ),
    (
        "reversal_mirror",
        "a reversal moves exactly the opposite of the transaction it reverses",
        """SELECT r.id, p.account_id, SUM(p.amount)
             FROM wallet_transaction r
             JOIN wallet_posting p ON p.transaction_id = r.id OR p.transaction_id = r.reverses_id
            WHERE r.reverses_id IS NOT NULL
            GROUP BY r.id, p.account_id HAVING SUM(p.amount) <> 0""",
    ),
]

_SUMMARY = {
    "transactions": "SELECT COUNT(*) FROM wallet_transaction",
    "postings": "SELECT COUNT(*) FROM wallet_posting",
    "accounts": "SELECT COUNT(*) FROM wallet_account",
}
# Player liabilities (stored) and house balances (derived), per currency.
_TOTALS = f"""
SELECT a.currency, CASE WHEN a.kind IN ({_PLAYER_KINDS_SQL}) THEN 'players' ELSE a.kind END, SUM(p.amount)
  FROM wallet_posting p JOIN wallet_account a ON a.id = p.account_id
 GROUP BY 1, 2 ORDER BY 1, 2
"""


@dataclass
class Report:
    violations: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def ledger_check() -> Report:
    """Run every check inside one REPEATABLE READ snapshot (PostgreSQL), so a ledger being
    written to is judged at one instant and concurrent postings cannot fake a mismatch."""
    report = Report()
    # Inside a caller's transaction (tests, a shell) the snapshot is already the caller's.
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cur:
        if snapshot:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, proves, sql in CHECKS:
            cur.execute(f"SELECT COUNT(*) FROM ({sql}) v")
            count = cur.fetchone()[0]
            report.counts[name] = count
            if count:
                cur.execute(f"{sql} LIMIT {LIMIT}")
                for row in cur.fetchall():
                    # SUM() of bigint is numeric in PostgreSQL: back to ints for the JSON.
                    cells = [int(v) if isinstance(v, Decimal) else v for v in row]
                    report.violations.append({"check": name, "rule": proves, "row": cells})
        for key, sql in _SUMMARY.items():
            cur.execute(sql)
            report.summary[key] = cur.fetchone()[0]
        cur.execute(_TOTALS)
        totals: dict[str, dict[str, int]] = {}
        for currency, group, total in cur.fetchall():
            totals.setdefault(currency, {})[group] = int(total)
        report.summary["totals"] = totals
    return report


def ledger_verify_run(*, run_id: int | None = None) -> LedgerVerifyRun:
    """Run the checks and store the result. With run_id, claims that queued run (a
    conditional update touching exactly one row, so a redelivered task runs it once)."""
    now = timezone.now()
    if run_id is None:
        run = LedgerVerifyRun.objects.create(state=LedgerVerifyRun.State.RUNNING, started_at=now)
    else:
        claimed = LedgerVerifyRun.objects.filter(pk=run_id, state=LedgerVerifyRun.State.QUEUED).update(
            state=LedgerVerifyRun.State.RUNNING, started_at=now
        )
        run = LedgerVerifyRun.objects.get(pk=run_id)
        if not claimed:
            return run
    try:
        report = ledger_check()
    except Exception as exc:
        run.state, run.error, run.finished_at = LedgerVerifyRun.State.FAILED, repr(exc)[:2000], timezone.now()
        run.save(update_fields=["state", "error", "finished_at"])
        raise
    run.state, run.ok, run.finished_at = LedgerVerifyRun.State.DONE, report.ok, timezone.now()
    run.violations, run.summary = report.violations, {**report.summary, "counts": report.counts}
    run.save(update_fields=["state", "ok", "finished_at", "violations", "summary"])
    return run


@transaction.atomic
def ledger_verify_request(*, actor) -> LedgerVerifyRun:
    """ "Run now" from the console: a queued run, executed by the worker after commit."""
    from .tasks import ledger_verify_task

    run = LedgerVerifyRun.objects.create(requested_by=actor)
    audit.record(actor=actor, action="wallet.ledger_verify.request", target=run)
    transaction.on_commit(lambda: ledger_verify_task.delay(run_id=run.pk))
    return run
