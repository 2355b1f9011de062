"""Bulk writing of the seeded rows into the real tables: COPY on PostgreSQL (psycopg 3's
`cursor.copy`), multi-row INSERTs on SQLite. Ids are allocated by the seed before the rows
are written (blocks taken from each table's sequence with setval on PostgreSQL), so rows
link to each other without a round trip.

Each flush is one database transaction holding whole players only (a player's history is
never split across flushes), so every commit leaves a ledger whose invariants hold."""

import time

from django.apps import apps
from django.db import connection, transaction

# Tables in the order a flush writes them (referenced rows first), with the model fields
# each row tuple carries, in order.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "player": (
        "players.Player",
        (
            "id public_id jurisdiction email phone first_name last_name date_of_birth address_line postcode "
            "city country nationality currency language national_id_encrypted national_id_hash "
            "national_id_last4 status status_reason status_changed_at registration_channel created_at "
            "last_seen_at search_text"
        ).split(),
    ),
    "account": ("wallet.Account", "id kind currency player_id code balance created_at".split()),
    "session": (
        "players.PlayerSession",
        "player_id started_at ended_at ip user_agent device_id reported_by".split(),
    ),
    "kyc": (
        "compliance.KycProfile",
        (
            "player_id level verified_by_bank required_level required_reason required_since required_due "
            "updated_at"
        ).split(),
    ),
    "limit": (
        "compliance.PlayerLimit",
        "player_id kind period amount status effective_at requested_at source rule_note".split(),
    ),
    "exclusion": (
        "compliance.Exclusion",
        "player_id kind starts_at ends_at all_brands reason source lift_request_text".split(),
    ),
    "txn": (
        "wallet.Transaction",
        "id kind idempotency_key request_hash reference metadata reverses_id created_at".split(),
    ),
    "posting": ("wallet.Posting", "transaction_id account_id amount balance_after created_at".split()),
    "method": (
        "payments.PaymentMethod",
        "id player_id provider type brand last_four bank holder_name fingerprint first_used_at last_used_at".split(),
    ),
    "payment": (
        "payments.Payment",
        (
            "id kind player_id provider method payment_method_id amount currency fee reference "
            "provider_reference provider_data redirect_url state state_changed_at created_at updated_at "
            "credit_txn_id request_txn_id settle_txn_id status_note"
        ).split(),
    ),
    "event": ("payments.PaymentEvent", "payment_id from_state to_state at source note".split()),
    "gsession": (
        "games.GameSession",
        "token player_id game_id created_at expires_at started_via".split(),
    ),
    "round": (
        "games.Round",
        (
            "id provider_id external_id player_id game_id currency total_bet total_win wagering_contributed "
            "opened_at closed_at"
        ).split(),
    ),
    "call": (
        "games.WalletTransaction",
        (
            "id provider_id transaction_id kind status tombstone player_id round_id game_id amount currency "
            "bonus_amount wagering_contribution reference_transaction_id round_closed request_hash request "
            "response ledger_transaction_id rolled_back_by_id created_at duration_ms"
        ).split(),
    ),
    "rg_alert": (
        "compliance.RgAlert",
        "player_id marker window_start window_end evidence status created_at".split(),
    ),
}
# Tables whose ids the seed allocates (the others take the database's default).
ALLOCATED = ("player", "account", "txn", "method", "payment", "round", "call")
BLOCK = 100_000


def _table(key: str) -> tuple[str, list[str]]:
    model = apps.get_model(TABLES[key][0])
    return model._meta.db_table, [model._meta.get_field(f).column for f in TABLES[key][1]]


class Ids:
    """Ids handed out in blocks, reserved in the table's sequence so that rows other code
    inserts meanwhile land after the block: setval on PostgreSQL (one statement),
    sqlite_sequence on SQLite."""

    def __init__(self):
        self._next: dict[str, int] = {}
        self._end: dict[str, int] = {}

    def take(self, key: str) -> int:
        n = self._next.get(key, 0)
        if n >= self._end.get(key, 0):
            n = self._block(key)
        self._next[key] = n + 1
        return n

    def _block(self, key: str) -> int:
        table, _ = _table(key)
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(
                    "SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence(%s, 'id') s",
                    [BLOCK, table],
                )
                last = cur.fetchone()[0]
                first = last - BLOCK + 1
            else:
                # AUTOINCREMENT tables: moving sqlite_sequence past the block reserves it, so
                # a row the services insert meanwhile (a house account) lands after it.
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (our table name)
                first = max(cur.fetchone()[0], self._end.get(key, 0) - 1) + 1
                cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cur.fetchone()
                first = max(first, (row[0] if row else 0) + 1)
                if row is None:
                    cur.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first + BLOCK - 1]
                    )
                else:
                    cur.execute(
                        "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + BLOCK - 1, table]
                    )
        self._end[key] = first + BLOCK
        return first


class Writer:
    """Buffers rows per table; `flush` writes them all in one transaction."""

    def __init__(self, *, fast_load: bool = True):
        self.rows: dict[str, list[tuple]] = {k: [] for k in TABLES}
        self.pending = 0
        self.written: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.seconds: dict[str, float] = dict.fromkeys(TABLES, 0.0)  # time spent writing each table
        self.pg = connection.vendor == "postgresql"
        self.fast_load = fast_load and self.pg and _may_skip_triggers()
        if not self.pg:
            with connection.cursor() as cur:  # index pages stay in memory while the seed writes
                cur.execute("PRAGMA cache_size = -262144")

    def add(self, key: str, row: tuple) -> None:
        self.rows[key].append(row)
        self.pending += 1

    def flush(self) -> None:
        """Write what is buffered, in one database transaction."""
        if not self.pending:
            return
        batch, self.rows, self.pending = self.rows, {k: [] for k in TABLES}, 0
        self._write(batch)

    def _write(self, batch: dict[str, list[tuple]]) -> None:
        with transaction.atomic():
            if self.fast_load:
                # The ledger's constraint triggers (zero-sum per transaction, a transaction
                # has postings) and the foreign-key triggers fire once per row at commit:
                # hours for tens of millions of rows. The seed builds balanced, linked rows
                # by construction and `ledger_verify` proves them after the load (the same
                # checks, set-based). Unique indexes and CHECK constraints still apply.
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL session_replication_role = replica")
            for key, rows in batch.items():
                if rows:
                    started = time.monotonic()
                    (self._copy if self.pg else self._insert)(key, rows)
                    self.seconds[key] += time.monotonic() - started
                    self.written[key] += len(rows)
            if self.fast_load:  # SET LOCAL lasts to the end of an enclosing transaction too
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL session_replication_role = DEFAULT")

    def _copy(self, key: str, rows: list[tuple]) -> None:
        table, columns = _table(key)
        with connection.cursor() as cur:
            raw = cur.cursor if hasattr(cur, "cursor") else cur
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _insert(self, key: str, rows: list[tuple]) -> None:
        table, columns = _table(key)
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                rows,
            )


def _may_skip_triggers() -> bool:
    """session_replication_role needs a superuser (or, on PostgreSQL 15+, the privilege)."""
    with connection.cursor() as cur:
        try:
            with transaction.atomic():
                cur.execute("SET LOCAL session_replication_role = replica")
                cur.execute("SET LOCAL session_replication_role = DEFAULT")
        except Exception:
            return False
    return True
