"""The wallet API under concurrency on PostgreSQL: many threads, each its own connection
and its own HTTP client, released together. Balances, limits and the ledger invariants
must come out exactly right."""

import json
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from compliance import rg
from games.models import Round, WalletTransaction
from wallet.models import Transaction
from wallet.tests.test_postgres import _in_threads
from wallet.verify import ledger_check

from .aggregator import Aggregator, World, make_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    assert connection.vendor == "postgresql", "These tests need DATABASE_URL pointing at PostgreSQL."


def _own_client(w: World) -> World:
    """The same world seen through a new HTTP client (one per thread)."""
    return World(Aggregator(Client(), w.agg.code, w.agg.secret), w.provider, w.game, w.player, w.session)


def _ledger_ok():
    report = ledger_check()
    assert report.ok, report.violations


def test_many_bets_on_one_player_never_overdraw():
    w = make_world(Client(), cash=1_000)
    answers = _in_threads(16, lambda i: _own_client(w).bet(100, txid=f"b{i}", round_id=f"r{i}")["status"])
    assert Counter(answers) == {"OK": 10, "INSUFFICIENT_FUNDS": 6}
    assert w.balances() == (0, 0)
    assert Transaction.objects.filter(kind="bet").count() == 10
    assert WalletTransaction.objects.filter(kind="bet").count() == 16
    _ledger_ok()


def test_one_bet_sent_by_many_threads_at_once_moves_money_once():
    w = make_world(Client(), cash=1_000)
    answers = _in_threads(8, lambda i: _own_client(w).bet(300, txid="same"))
    assert all(a["status"] == "OK" and a["balance"] == 700 for a in answers), answers
    assert sum(1 for a in answers if a.get("replayed")) == 7
    assert w.balances() == (700, 0)
    assert Round.objects.get().total_bet == 300
    _ledger_ok()


def test_bets_racing_their_rollbacks_always_end_refunded():
    w = make_world(Client(), cash=5_000)
    n = 12

    def work(i):
        me = _own_client(w)
        if i % 2:
            return ("bet", me.bet(100, txid=f"b{i // 2}", round_id=f"r{i // 2}")["status"])
        return ("rollback", me.rollback(f"b{i // 2}", txid=f"rb{i // 2}")["status"])

    results = _in_threads(n, work)
    assert all(status in ("OK", "BET_ALREADY_SETTLED") for _, status in results), results
    assert all(status == "OK" for kind, status in results if kind == "rollback")
    # Whichever came first, every bet is undone: refunded, or refused after its tombstone.
    assert w.balances() == (5_000, 0)
    bets = Transaction.objects.filter(kind="bet").count()
    assert Transaction.objects.filter(kind="rollback").count() == bets
    _ledger_ok()


def test_a_wager_limit_holds_under_concurrent_bets():
    w = make_world(Client(), cash=5_000)
    rg.limit_set(player_id=w.player.pk, kind="wager", period="day", amount=500, actor=None, source="api:test")
    answers = _in_threads(10, lambda i: _own_client(w).bet(100, txid=f"b{i}", round_id=f"r{i}")["status"])
    assert Counter(answers) == {"OK": 5, "LIMIT_REACHED": 5}
    assert w.balances() == (4_500, 0)


def test_wins_and_bets_interleaved_from_many_threads_keep_the_ledger_right():
    w = make_world(Client(), cash=2_000)
    for i in range(8):
        assert w.bet(100, txid=f"b{i}", round_id=f"r{i}")["status"] == "OK"

    def work(i):
        me = _own_client(w)
        if i < 8:
            return me.win(150, f"b{i}", txid=f"w{i}", round_id=f"r{i}", round_closed=True)["status"]
        return me.bet(50, txid=f"x{i}", round_id=f"x{i}")["status"]

    assert set(_in_threads(16, work)) == {"OK"}
    assert w.balances() == (2_000 - 800 + 1_200 - 400, 0)
    _ledger_ok()


def test_a_database_fault_answers_503_moves_nothing_and_the_retry_succeeds():
    import threading

    from django.db import connection as main_connection
    from django.db import connections, transaction

    from wallet.models import Account

    w = make_world(Client(), cash=1_000)
    cash_id = Account.objects.get(player=w.player, kind="player_cash").pk
    locked, release = threading.Event(), threading.Event()

    def hold_the_player_lock():
        try:
            with transaction.atomic():
                list(Account.objects.select_for_update().filter(pk=cash_id))
                locked.set()
                release.wait()
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_player_lock)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with main_connection.cursor() as cur:
            cur.execute("SET lock_timeout = '100ms'")
        body = {
            "token": w.session.token,
            "player_id": w.player.public_id,
            "transaction_id": "blocked",
            "round_id": "r1",
            "game_code": w.game.code,
            "amount": 100,
            "currency": "EUR",
        }
        r = w.agg.raw("bet", json.dumps(body).encode())
        assert r.status_code == 503 and r.json()["status"] == "RETRY"
        assert not WalletTransaction.objects.filter(transaction_id="blocked").exists()
    finally:
        release.set()
        holder.join()
    with main_connection.cursor() as cur:
        cur.execute("SET lock_timeout = 0")
    assert w.bet(100, txid="blocked")["status"] == "OK"
    assert w.balances() == (900, 0)
    _ledger_ok()
