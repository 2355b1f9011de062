"""The demo rounds: played through the seamless wallet for demo players the gates let
play, every call recorded and posted through the ledger, and loaded once."""

import pytest

from compliance.demo import ensure_demo_compliance
from games.demo import ensure_demo_games, ensure_demo_rounds
from games.models import Round, WalletTransaction
from players.demo import ensure_demo_players
from wallet.verify import ledger_check

pytestmark = pytest.mark.django_db


def test_demo_rounds_go_through_the_wallet_and_load_once(operators):
    ensure_demo_players(count=80)
    ensure_demo_compliance()
    ensure_demo_games()
    played = ensure_demo_rounds()
    assert played == Round.objects.count() >= 100
    assert not Round.objects.filter(wallet_transactions__isnull=True).exists()
    kinds = set(WalletTransaction.objects.values_list("kind", flat=True))
    assert kinds == {"bet", "win", "rollback"}
    assert Round.objects.filter(closed_at__isnull=True).exists()  # some still in play
    report = ledger_check()
    assert report.ok, report.violations
    assert ensure_demo_rounds() == 0
