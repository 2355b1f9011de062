"""What only PostgreSQL can show: real concurrency (threads, each with its own
connection) and the database refusing bad writes even when the service is bypassed."""

import threading
from collections import Counter

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from backoffice.errors import DomainError
from wallet import selectors, services
from wallet.models import Account, Posting, Transaction
from wallet.services import Leg
from wallet.tests.factories import bet, fund, key, player_with_accounts
from wallet.verify import ledger_check

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    assert connection.vendor == "postgresql", "These tests need DATABASE_URL pointing at PostgreSQL."


def _in_threads(n: int, work) -> list:
    """Run work(i) in n threads released together; each thread closes its connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected and asserted by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_spends_never_overdraw():
    # Given 10 units of cash and 16 simultaneous bets of 3: exactly 3 can be afforded.
    player, acc = player_with_accounts()
    fund(player, 10)

    def spend(i):
        try:
            bet(player, 3)
            return "ok"
        except DomainError as exc:
            return exc.code

    outcome = Counter(_in_threads(16, spend))
    assert outcome == {"ok": 3, "insufficient_funds": 13}
    assert selectors.player_balances(player)["cash"] == 1
    report = ledger_check()
    assert report.ok, report.violations


def test_concurrent_replays_of_one_key_post_once():
    player, _ = player_with_accounts()
    results = _in_threads(8, lambda i: fund(player, 500, idempotency_key="psp:same").pk)
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert selectors.player_balances(player)["cash"] == 500
    assert Posting.objects.count() == 2


def test_cross_player_transfers_in_both_directions_do_not_deadlock():
    players = [player_with_accounts() for _ in range(4)]
    for p, _ in players:
        fund(p, 1000)
    cash = [acc[Account.Kind.PLAYER_CASH] for _, acc in players]

    def transfers(i):
        done = 0
        for n in range(25):
            a, b = cash[(i + n) % 4], cash[(i + n + 1 + (i % 2)) % 4]
            src, dst = (a, b) if (i + n) % 2 else (b, a)
            try:
                services.transaction_post(
                    kind=Transaction.Kind.TRANSFER,
                    idempotency_key=key("xfer"),
                    legs=[Leg(src, -7), Leg(dst, 7)],
                )
                done += 1
            except DomainError:
                pass
        return done

    results = _in_threads(8, transfers)
    assert all(isinstance(r, int) for r in results), results  # a deadlock would surface as an error
    assert sum(selectors.player_balances(p)["cash"] for p, _ in players) == 4000
    report = ledger_check()
    assert report.ok, report.violations


def _raw(sql: str, params=None) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)


def test_database_refuses_an_unbalanced_transaction():
    player, acc = player_with_accounts()
    house = services.house_account(Account.Kind.HOUSE_PSP, "sandbox", "EUR")
    with pytest.raises(IntegrityError, match="not zero"):
        _raw(
            """WITH t AS (INSERT INTO wallet_transaction (kind, idempotency_key, request_hash, reference, metadata,
                                                          created_at)
                          VALUES ('deposit', 'raw-1', '', '', '{}', now()) RETURNING id)
               INSERT INTO wallet_posting (transaction_id, account_id, amount, created_at)
               SELECT t.id, a.id, a.amt, now() FROM t, (VALUES (%s::bigint, 100), (%s::bigint, -99)) a(id, amt)""",
            [acc[Account.Kind.PLAYER_CASH].pk, house.pk],
        )
    with pytest.raises(IntegrityError, match="no postings"):
        _raw("""INSERT INTO wallet_transaction (kind, idempotency_key, request_hash, reference, metadata, created_at)
                VALUES ('deposit', 'raw-2', '', '', '{}', now())""")
    assert not Transaction.objects.exists()


def test_database_refuses_a_negative_player_balance():
    player, acc = player_with_accounts()
    fund(player, 100)
    with pytest.raises(IntegrityError, match="wallet_account_balance_non_negative"):
        _raw(
            "UPDATE wallet_account SET balance = balance - 101 WHERE id = %s",
            [acc[Account.Kind.PLAYER_CASH].pk],
        )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE wallet_posting SET amount = amount * 2",
        "DELETE FROM wallet_posting",
        "UPDATE wallet_transaction SET reference = 'changed'",
        "DELETE FROM wallet_transaction",
    ],
)
def test_database_refuses_to_change_or_delete_history(sql):
    player, _ = player_with_accounts()
    fund(player, 100)
    with pytest.raises(DatabaseError) as exc:
        _raw(sql)
    assert "not allowed" in str(exc.value)
    assert Posting.objects.count() == 2


def test_ledger_verify_catches_a_stored_balance_tampered_with_raw_sql(capsys):
    from django.core.management import CommandError, call_command

    player, acc = player_with_accounts()
    fund(player, 100)
    call_command("ledger_verify")
    _raw("UPDATE wallet_account SET balance = balance + 1 WHERE id = %s", [acc[Account.Kind.PLAYER_CASH].pk])
    with pytest.raises(CommandError, match="1 violation"):
        call_command("ledger_verify")
    err = capsys.readouterr().err
    assert "VIOLATION stored_balance" in err
