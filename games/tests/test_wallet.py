"""The seamless wallet API's rules, through HTTP with signed requests, on PostgreSQL."""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from compliance import rg
from games.models import Round, WalletTransaction
from players.models import Player
from wallet.models import Transaction
from wallet.verify import ledger_check

from .aggregator import credit, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(client):
    return make_world(client)


def _ledger_ok():
    report = ledger_check()
    assert report.ok, report.violations


# --- the door ---------------------------------------------------------------------------------


def test_bad_missing_or_foreign_signature_is_refused_before_the_body_is_read(w, caplog):
    body = json.dumps({"token": w.session.token}).encode()
    with caplog.at_level(logging.WARNING, logger="pitboss.wallet"):
        for kw in ({"signature": "0" * 64}, {"signature": ""}, {"provider": "nobody"}, {"provider": ""}):
            r = w.agg.raw("authenticate", body, **kw)
            assert r.status_code == 200 and r.json()["status"] == "INVALID_SIGNATURE", kw
        # Not JSON and badly signed: the signature is judged first.
        r = w.agg.raw("bet", b"{not json", signature="ab" * 32)
        assert r.json()["status"] == "INVALID_SIGNATURE"
    assert sum("wallet call refused" in m for m in caplog.messages) == 5
    assert not WalletTransaction.objects.exists()


def test_signed_with_another_secret_or_suspended_provider_is_refused(w):
    body = {"token": w.session.token}
    assert w.agg.call("authenticate", body)["status"] == "OK"
    w.agg.secret = "not-the-secret"
    assert w.agg.call("authenticate", body)["status"] == "INVALID_SIGNATURE"


def test_allowed_ips_limit_where_calls_may_come_from(w):
    w.provider.allowed_ips = "10.0.0.0/8, 192.168.1.7"
    w.provider.save()
    assert w.agg.call("authenticate", {"token": w.session.token})["status"] == "INVALID_SIGNATURE"
    w.provider.allowed_ips = "127.0.0.1"  # the test client's REMOTE_ADDR
    w.provider.save()
    assert w.agg.call("authenticate", {"token": w.session.token})["status"] == "OK"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": -1}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"round_id": ""}, "round_id"),
        ({"transaction_id": "x" * 201}, "transaction_id"),
        ({"round_closed": "yes"}, "round_closed"),
        ({"player_id": 7}, "player_id"),
    ],
)
def test_malformed_fields_are_bad_request_naming_the_field_and_move_nothing(w, change, field):
    before = w.balances()
    answer = w.bet(100, **change)
    assert answer["status"] == "BAD_REQUEST" and answer["field"] == field, answer
    assert answer["message"]
    assert w.balances() == before and not WalletTransaction.objects.exists()


def test_a_body_that_is_not_a_json_object_is_bad_request(w):
    for raw in (b"", b"[1,2]", b"\xff\xfe", b'"text"', b"{"):
        r = w.agg.raw("bet", raw)
        assert r.status_code == 200 and r.json()["status"] == "BAD_REQUEST" and r.json()["field"] == "body"


# --- authenticate and balance -----------------------------------------------------------------------


def test_authenticate_answers_the_player_and_balance_and_refuses_bad_tokens(w):
    a = w.agg.call("authenticate", {"token": w.session.token})
    assert a == {
        "status": "OK",
        "balance": 10_000,
        "currency": "EUR",
        "player_id": w.player.public_id,
        "country": "MT",
        "game_code": w.game.code,
        "expires_at": w.session.expires_at.isoformat(),
    }
    assert w.agg.call("authenticate", {"token": "nope"})["status"] == "INVALID_TOKEN"
    with time_machine.travel(w.session.expires_at + timedelta(seconds=1)):
        assert w.agg.call("authenticate", {"token": w.session.token})["status"] == "TOKEN_EXPIRED"


def test_balance_is_cash_plus_bonus(w):
    credit(w.player, 250, bonus=True)
    a = w.agg.call("balance", {"player_id": w.player.public_id, "currency": "EUR"})
    assert (a["status"], a["balance"], a["currency"]) == ("OK", 10_250, "EUR")
    assert (
        w.agg.call("balance", {"player_id": w.player.public_id, "currency": "SEK"})["status"]
        == "WRONG_CURRENCY"
    )
    assert w.agg.call("balance", {"player_id": "nobody"})["field"] == "player_id"


# --- bets -------------------------------------------------------------------------------------------


def test_a_bet_debits_cash_opens_the_round_and_posts_through_the_ledger(w):
    a = w.bet(300, txid="b1", round_id="R-1")
    assert a == {"status": "OK", "balance": 9_700, "currency": "EUR", "transaction_id": "b1"}
    assert w.balances() == (9_700, 0)
    rnd = Round.objects.get(external_id="R-1")
    assert (rnd.player, rnd.game, rnd.total_bet, rnd.total_win, rnd.closed_at) == (
        w.player,
        w.game,
        300,
        0,
        None,
    )
    call = WalletTransaction.objects.get(transaction_id="b1")
    assert call.kind == "bet" and call.status == "OK" and call.round == rnd and call.response == a
    assert call.ledger_transaction.kind == Transaction.Kind.BET
    assert sorted(call.ledger_transaction.postings.values_list("amount", flat=True)) == [-300, 300]
    _ledger_ok()


def test_the_same_bet_three_times_moves_money_once_and_answers_the_same(w):
    answers = [w.bet(300, txid="b1") for _ in range(3)]
    assert answers[0]["status"] == "OK" and "replayed" not in answers[0]
    for again in answers[1:]:
        assert again == {**answers[0], "replayed": True}
    assert w.balances() == (9_700, 0)
    assert Transaction.objects.filter(kind="bet").count() == 1
    assert Round.objects.get().total_bet == 300


def test_the_same_id_with_other_content_is_a_duplicate_conflict(w):
    w.bet(300, txid="b1")
    for change in ({"amount": 301}, {"round_id": "other"}):
        a = w.bet(change.pop("amount", 300), txid="b1", **change)
        assert a["status"] == "DUPLICATE_CONFLICT" and a["field"] == "transaction_id"
    # The id of a bet reused for a win conflicts too.
    w.bet(100, txid="b0")
    assert w.win(10, "b0", txid="b1")["status"] == "DUPLICATE_CONFLICT"
    assert w.balances() == (9_600, 0)


def test_insufficient_funds_answers_the_balance_and_stays_refused(w):
    a = w.bet(10_001, txid="big")
    assert (a["status"], a["balance"]) == ("INSUFFICIENT_FUNDS", 10_000)
    credit(w.player, 5_000)
    # A retry of the refused id stays refused: the provider already treated it as failed.
    assert w.bet(10_001, txid="big")["status"] == "INSUFFICIENT_FUNDS"
    assert w.balances() == (15_000, 0)
    assert not Transaction.objects.filter(kind="bet").exists()


def test_a_bet_spends_cash_first_then_bonus_and_records_the_wagering_contribution(client):
    w = make_world(client, cash=100, contribution=50)
    credit(w.player, 500, bonus=True)
    a = w.bet(300, txid="b1")
    assert (a["status"], a["balance"]) == ("OK", 300)
    assert w.balances() == (0, 300)
    call = WalletTransaction.objects.get(transaction_id="b1")
    assert (call.bonus_amount, call.wagering_contribution) == (200, 150)
    assert Round.objects.get().wagering_contributed == 150
    # The win is paid back in the bet's proportion: 2/3 bonus money, 1/3 cash.
    w.win(600, "b1")
    assert w.balances() == (200, 700)
    _ledger_ok()


def test_a_zero_bet_is_recorded_and_moves_nothing(w):
    assert w.bet(0, txid="free")["status"] == "OK"
    assert w.balances() == (10_000, 0)
    assert WalletTransaction.objects.get(transaction_id="free").ledger_transaction is None


def test_bets_are_refused_for_wrong_currency_unknown_game_and_foreign_tokens(w, client):
    assert w.bet(100, currency="SEK")["status"] == "WRONG_CURRENCY"
    assert w.bet(100, game_code="northlight:nothing")["status"] == "UNKNOWN_GAME"
    other = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="O", last_name="P")
    assert w.bet(100, player_id=other.public_id)["status"] == "INVALID_TOKEN"
    assert w.bet(100, token="forged")["status"] == "INVALID_TOKEN"
    w.game.enabled = False
    w.game.save()
    assert w.bet(100)["status"] == "UNKNOWN_GAME"
    assert w.balances() == (10_000, 0)


def test_a_bet_after_the_session_expired_is_token_expired(w):
    with time_machine.travel(w.session.expires_at + timedelta(minutes=1)):
        a = w.bet(100)
    assert a["status"] == "TOKEN_EXPIRED" and a["balance"] == 10_000


def test_a_bet_into_a_closed_round_or_someone_elses_round_is_refused(w):
    bet = w.bet(100, txid="b1", round_id="R1")
    w.win(0, "b1", round_id="R1", round_closed=True)
    assert bet["status"] == "OK"
    a = w.bet(100, round_id="R1")
    assert a["status"] == "BAD_REQUEST" and a["field"] == "round_id"


# --- gates ------------------------------------------------------------------------------------------


def test_a_self_excluded_or_blocked_player_cannot_bet(w):
    rg.exclusion_start(
        player_id=w.player.pk,
        kind="timeout",
        ends_at=timezone.now() + timedelta(days=1),
        actor=None,
        source="api:test",
    )
    a = w.bet(100)
    assert a["status"] == "PLAYER_BLOCKED" and "time-out" in a["message"]
    assert w.balances() == (10_000, 0)


def test_a_blocked_player_cannot_bet(w):
    Player.objects.filter(pk=w.player.pk).update(status=Player.Status.BLOCKED, status_reason="fraud review")
    a = w.bet(100)
    assert a["status"] == "PLAYER_BLOCKED" and "fraud review" in a["message"]


def test_wager_and_loss_limits_refuse_the_bet_that_would_cross_them(w):
    rg.limit_set(player_id=w.player.pk, kind="wager", period="day", amount=500, actor=None, source="api:test")
    assert w.bet(400)["status"] == "OK"
    a = w.bet(101)
    assert a["status"] == "LIMIT_REACHED" and "Wager limit" in a["message"]
    assert w.bet(100)["status"] == "OK"
    assert w.balances() == (9_500, 0)


def test_a_loss_limit_counts_wins_back(w):
    rg.limit_set(player_id=w.player.pk, kind="loss", period="day", amount=300, actor=None, source="api:test")
    w.bet(300, txid="b1")
    assert w.bet(1)["status"] == "LIMIT_REACHED"
    w.win(200, "b1")
    assert w.bet(200)["status"] == "OK"
    assert w.bet(1)["status"] == "LIMIT_REACHED"


def test_the_session_time_limit_ends_play(w):
    rg.limit_set(
        player_id=w.player.pk, kind="session", period="day", amount=30, actor=None, source="api:test"
    )
    assert w.bet(100)["status"] == "OK"
    with time_machine.travel(w.session.created_at + timedelta(minutes=31)):
        a = w.bet(100)
    assert a["status"] == "LIMIT_REACHED" and "Session time limit" in a["message"]


# --- wins -------------------------------------------------------------------------------------------


def test_a_win_credits_cash_and_closes_the_round(w):
    w.bet(300, txid="b1")
    a = w.win(1_000, "b1", txid="w1", round_closed=True)
    assert a == {"status": "OK", "balance": 10_700, "currency": "EUR", "transaction_id": "w1"}
    rnd = Round.objects.get()
    assert (rnd.total_bet, rnd.total_win, rnd.net) == (300, 1_000, -700) and rnd.closed_at is not None
    assert w.win(1_000, "b1", txid="w1", round_closed=True) == {**a, "replayed": True}
    assert w.balances() == (10_700, 0)
    _ledger_ok()


def test_a_win_is_paid_after_the_session_expired_and_to_a_blocked_player(w):
    w.bet(300, txid="b1")
    Player.objects.filter(pk=w.player.pk).update(status=Player.Status.BLOCKED)
    with time_machine.travel(w.session.expires_at + timedelta(hours=2)):
        assert w.win(500, "b1")["status"] == "OK"
    assert w.balances() == (10_200, 0)


def test_a_win_before_its_bet_is_not_found_and_succeeds_when_retried_after(w):
    a = w.win(500, "b1", txid="w1")
    assert a["status"] == "TRANSACTION_NOT_FOUND" and a["field"] == "reference_transaction_id"
    assert w.bet(300, txid="b1")["status"] == "OK"
    assert w.win(500, "b1", txid="w1")["status"] == "OK"
    assert w.balances() == (10_200, 0)


def test_a_win_on_a_rolled_back_or_refused_bet_pays_nothing(w):
    w.bet(300, txid="b1")
    w.rollback("b1")
    assert w.win(500, "b1")["status"] == "BET_ALREADY_SETTLED"
    w.bet(50_000, txid="b2")  # refused: insufficient funds
    assert w.win(500, "b2")["status"] == "TRANSACTION_NOT_FOUND"
    assert w.balances() == (10_000, 0)


# --- rollbacks --------------------------------------------------------------------------------------


def test_a_rollback_refunds_its_bet_exactly_once(w):
    w.bet(300, txid="b1")
    a = w.rollback("b1", txid="rb1")
    assert (a["status"], a["balance"]) == ("OK", 10_000)
    assert w.rollback("b1", txid="rb1") == {**a, "replayed": True}
    assert w.rollback("b1", txid="rb2")["status"] == "OK"  # another rollback id: nothing moves
    assert w.balances() == (10_000, 0)
    assert Transaction.objects.filter(kind="rollback").count() == 1
    bet = WalletTransaction.objects.get(transaction_id="b1")
    assert bet.rolled_back_by.transaction_id == "rb1"
    assert bet.ledger_transaction.reversed_by.kind == "rollback"
    assert Round.objects.get().total_bet == 0
    _ledger_ok()


def test_a_rollback_returns_bonus_money_to_the_bonus_account(client):
    w = make_world(client, cash=100)
    credit(w.player, 500, bonus=True)
    w.bet(300, txid="b1")
    w.rollback("b1")
    assert w.balances() == (100, 500)


def test_a_rollback_before_its_bet_succeeds_and_the_late_bet_is_refused(w):
    a = w.rollback("late", txid="rb1")
    assert (a["status"], a["balance"]) == ("OK", 10_000)
    late = w.bet(300, txid="late")
    assert late["status"] == "BET_ALREADY_SETTLED" and late["field"] == "transaction_id"
    assert w.balances() == (10_000, 0)
    assert WalletTransaction.objects.get(transaction_id="late").tombstone
    assert not Transaction.objects.exists() or not Transaction.objects.filter(kind="bet").exists()


def test_a_rollback_after_a_win_or_a_closed_round_is_bet_already_settled(w):
    w.bet(300, txid="b1", round_id="r1")
    w.win(100, "b1", round_id="r1")
    assert w.rollback("b1")["status"] == "BET_ALREADY_SETTLED"
    w.bet(300, txid="b2", round_id="r2", round_closed=True)
    assert w.rollback("b2")["status"] == "BET_ALREADY_SETTLED"
    assert w.balances() == (10_000 - 300 + 100 - 300, 0)


def test_a_rollback_of_a_refused_bet_answers_ok_and_moves_nothing(w):
    assert w.bet(50_000, txid="b1")["status"] == "INSUFFICIENT_FUNDS"
    assert w.rollback("b1")["status"] == "OK"
    assert w.balances() == (10_000, 0)


def test_a_rollback_with_the_wrong_amount_or_of_a_win_is_bad_request(w):
    w.bet(300, txid="b1")
    w.win(0, "b1", txid="w1")
    assert w.rollback("b1", amount=200)["field"] == "amount"
    assert w.rollback("w1")["field"] == "reference_transaction_id"


def test_retries_in_any_order_leave_the_ledger_right(w):
    # win before bet, the bet three times, the win again, a rollback of a bet never sent.
    assert w.win(700, "b1", txid="w1")["status"] == "TRANSACTION_NOT_FOUND"
    for _ in range(3):
        assert w.bet(300, txid="b1")["status"] == "OK"
    assert w.win(700, "b1", txid="w1")["status"] == "OK"
    assert w.win(700, "b1", txid="w1")["replayed"] is True
    assert w.rollback("never", txid="rb-never")["status"] == "OK"
    assert w.bet(10, txid="never")["status"] == "BET_ALREADY_SETTLED"
    assert w.balances() == (10_400, 0)
    _ledger_ok()


def test_ledger_verification_catches_wallet_records_that_disagree_with_the_ledger(w):
    w.bet(300, txid="b1", round_id="r1")
    w.win(500, "b1", txid="w1", round_id="r1")
    w.bet(200, txid="b2", round_id="r2")
    w.rollback("b2")
    _ledger_ok()
    Round.objects.filter(external_id="r1").update(total_win=400)
    WalletTransaction.objects.filter(transaction_id="w1").update(ledger_transaction=None)
    WalletTransaction.objects.filter(transaction_id="b1").update(amount=301)
    report = ledger_check()
    assert {v["check"] for v in report.violations} == {
        "round_totals",
        "wallet_call_posted",
        "wallet_call_amount",
    }


def test_a_house_account_created_in_a_rolled_back_call_is_not_remembered(w):
    from django.db import transaction

    from games import wallet
    from wallet.models import Account

    wallet.clear_caches()
    with pytest.raises(RuntimeError), transaction.atomic():
        wallet._house(w.provider, "SEK")
        raise RuntimeError("the call failed after creating the account")
    assert not Account.objects.filter(code=w.provider.code, currency="SEK").exists()
    assert ("northlight", "SEK") not in wallet._house_ids
    # The next call creates it afresh (a stale id would fail here on its foreign key).
    with transaction.atomic():
        account = wallet._house(w.provider, "SEK")
    assert Account.objects.filter(pk=account.pk).exists()
