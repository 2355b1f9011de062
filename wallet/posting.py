"""How a balanced transaction is written: the statements behind
wallet.services.transaction_post, which has already checked the legs.

On PostgreSQL the common case (one player leg: a bet, a win, a deposit) is one
statement, prepared once per connection: the idempotency insert, the conditional
balance update and the postings. Several player legs (a transfer) take one UPDATE per
player account, in id order. A player account's postings are in balance order by id
(ids are drawn after its row lock is taken); created_at is the application's clock at
the request, so two bets racing on one player may carry timestamps a millisecond out of
id order: statements therefore order by id. SQLite (the embedded demo) takes a portable ORM path with
the same guarantees (its writers are serialised anyway)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Account, Posting, Transaction

INSERT_TRANSACTION = """
INSERT INTO wallet_transaction
  (kind, idempotency_key, request_hash, reference, metadata, initiated_by_id, reverses_id, created_at)
VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, created_at
"""
# One statement both checks and moves the balance: no read-then-write race, and the row
# lock it takes is held to commit, so a second spender waits and re-checks the new value.
MOVE_PLAYER_BALANCE = """
UPDATE wallet_account SET balance = balance + %s WHERE id = %s AND balance + %s >= 0 RETURNING balance
"""


def _insert_postings(n: int) -> str:
    values = ", ".join(["(%s::bigint, %s::bigint, %s::bigint)"] * n)
    return f"""
INSERT INTO wallet_posting (transaction_id, account_id, amount, balance_after, created_at)
SELECT %s, v.a, v.x, v.b, %s FROM (VALUES {values}) v(a, x, b)
"""


def _one_player_leg(n: int) -> str:
    """Returns (transaction id, created_at, the player's new balance or NULL when funds
    are short), or no row when the idempotency key already exists."""
    values = ", ".join(["(%s::bigint, %s::bigint)"] * n)
    return f"""
WITH t AS ({INSERT_TRANSACTION}),
u AS (
  UPDATE wallet_account SET balance = balance + %s
   WHERE id = %s AND balance + %s >= 0 AND EXISTS (SELECT 1 FROM t)
  RETURNING id, balance
),
p AS (
  INSERT INTO wallet_posting (transaction_id, account_id, amount, balance_after, created_at)
  SELECT t.id, v.a, v.x, CASE WHEN v.a = u.id THEN u.balance END, %s
    FROM t, u, (VALUES {values}) v(a, x)
)
SELECT t.id, t.created_at, (SELECT balance FROM u) FROM t
"""


@dataclass(frozen=True)
class Outcome:
    txn_id: int | None = None  # None: the key exists already (a replay)
    created_at: datetime | None = None
    short_leg: object | None = None  # the player leg the balance could not cover


class _PreparedCursor:
    """A server-side-binding psycopg cursor on Django's own connection (so inside its
    transaction): statements are prepared once per connection instead of parsed and
    planned on every bet (Django's cursors bind on the client). Errors surface as
    django.db exceptions."""

    def __init__(self):
        import psycopg

        connection.ensure_connection()
        self._cur = psycopg.Cursor(connection.connection)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._cur.close()

    def one(self, query: str, params: list):
        with connection.wrap_database_errors:
            self._cur.execute(query, params, prepare=True)
            return self._cur.fetchone() if self._cur.description else None

    def all(self, query: str, params: list) -> list:
        with connection.wrap_database_errors:
            self._cur.execute(query, params, prepare=True)
            return self._cur.fetchall()


# For other hot paths on PostgreSQL (the wallet API): the same prepared, in-transaction cursor.
PreparedCursor = _PreparedCursor


def write(*, fields: dict, legs: list, player_legs: list) -> Outcome:
    """Write inside the caller's atomic block; the caller rolls back on a short leg."""
    if connection.vendor != "postgresql":
        return _write_portable(fields=fields, legs=legs, player_legs=player_legs)
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    now = timezone.now()  # the application clock, like every other row (and time-travel tests)
    txn = [
        fields["kind"],
        fields["idempotency_key"],
        fields["request_hash"],
        fields["reference"],
        json.dumps(fields["metadata"], cls=DjangoJSONEncoder),
        fields["initiated_by_id"],
        fields["reverses_id"],
        now,
    ]
    with _PreparedCursor() as cur:
        if len(player_legs) == 1:
            (pl,) = player_legs
            row = cur.one(
                _one_player_leg(len(legs)),
                [
                    *txn,
                    pl.amount,
                    pl.account.pk,
                    pl.amount,
                    now,
                    *[x for g in legs for x in (g.account.pk, g.amount)],
                ],
            )
            if row is None:
                return Outcome()
            return Outcome(row[0], row[1], pl if row[2] is None else None)
        row = cur.one(INSERT_TRANSACTION, txn)
        if row is None:
            return Outcome()
        after: dict[int, int] = {}
        for leg in player_legs:  # already in account id order: no deadlock between transfers
            moved = cur.one(MOVE_PLAYER_BALANCE, [leg.amount, leg.account.pk, leg.amount])
            if moved is None:
                return Outcome(row[0], row[1], leg)
            after[leg.account.pk] = moved[0]
        cur.one(
            _insert_postings(len(legs)),
            [row[0], now, *[x for g in legs for x in (g.account.pk, g.amount, after.get(g.account.pk))]],
        )
        return Outcome(row[0], row[1])


def _write_portable(*, fields: dict, legs: list, player_legs: list) -> Outcome:
    try:
        with transaction.atomic():
            txn = Transaction.objects.create(**fields)
    except IntegrityError:
        if Transaction.objects.filter(idempotency_key=fields["idempotency_key"]).exists():
            return Outcome()
        raise
    after: dict[int, int] = {}
    for leg in player_legs:
        moved = Account.objects.filter(pk=leg.account.pk, balance__gte=-leg.amount).update(
            balance=F("balance") + leg.amount
        )
        if not moved:
            return Outcome(txn.pk, txn.created_at, leg)
        after[leg.account.pk] = Account.objects.values_list("balance", flat=True).get(pk=leg.account.pk)
    now = timezone.now()
    Posting.objects.bulk_create(
        [
            Posting(
                transaction_id=txn.pk,
                account=g.account,
                amount=g.amount,
                balance_after=after.get(g.account.pk),
                created_at=now,
            )
            for g in legs
        ]
    )
    return Outcome(txn.pk, txn.created_at)
