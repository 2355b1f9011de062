"""Each report's figures on a crafted dataset: money through the wallet ledger service,
players, complaints and KYC documents through their services, and (for the reports that read
them) rollup rows written as the rollups would hold them."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django import forms

from compliance.kyc import document_decide, document_upload
from compliance.models import RgAlert
from disputes.services import complaint_log
from games.models import Game, GameProvider
from reports import registry
from reports.models import DailyGame, DailyMarket, DailyPayment, FxRate
from wallet import services
from wallet.models import Account, Transaction
from wallet.tests.factories import PlayerFactory, bet, fund, key

pytestmark = pytest.mark.django_db

K = Account.Kind


def at(y, m, d, h=12):
    return time_machine.travel(datetime(y, m, d, h, tzinfo=UTC), tick=False)


def table(key_: str, **params):
    report = registry.get(key_)
    t = report.table(report.clean(params))
    return t, list(t.iter_rows())


def grant_bonus(player, amount):
    accts = services.player_accounts_ensure(player)
    return services.transaction_post(
        kind=Transaction.Kind.BONUS,
        idempotency_key=key("bonus"),
        legs=[
            services.Leg(accts[K.PLAYER_BONUS], amount),
            services.Leg(services.house_account(K.HOUSE_BONUS_EXPENSE, "", player.currency), -amount),
        ],
    )


def request_withdrawal(player, amount):
    accts = services.player_accounts_ensure(player)
    return services.transaction_post(
        kind=Transaction.Kind.WITHDRAWAL_REQUEST,
        idempotency_key=key("wd"),
        legs=[
            services.Leg(accts[K.PLAYER_CASH], -amount),
            services.Leg(accts[K.PLAYER_WITHDRAWAL_PENDING], amount),
        ],
    )


@pytest.fixture
def funds():
    """Malta EUR player: 100.00 in on 3 Mar, bets 25.00 and 5.00 bonus on 5 Mar, asks 20.00
    out on 5 Mar. Malta SEK player: 500.00 SEK on 3 Mar. Swedish EUR player: 40.00 on 3 Mar."""
    with at(2026, 3, 3):
        mt, mt_sek, se = (
            PlayerFactory(jurisdiction="MT", currency="EUR"),
            PlayerFactory(jurisdiction="MT", currency="SEK"),
            PlayerFactory(jurisdiction="SE", currency="EUR"),
        )
        fund(mt, 100_00)
        fund(mt_sek, 500_00)
        fund(se, 40_00)
    with at(2026, 3, 5):
        bet(mt, 25_00)
        grant_bonus(mt, 5_00)
        request_withdrawal(mt, 20_00)
    return mt, mt_sek, se


def test_player_liability_per_currency_reconciles_with_the_ledger(funds):
    with at(2026, 3, 20):
        t, rows = table("player-liability", date_from="2026-03-01", date_to="2026-03-10")
    by = {r["currency"]: r for r in rows}
    # EUR: MT cash 100 - 25 - 20 = 55, SE cash 40; bonus 5; pending 20.
    assert by["EUR"] | {} == {
        "currency": "EUR",
        "players": 2,
        "cash": 95_00,
        "bonus": 5_00,
        "pending": 20_00,
        "total": 120_00,
        "ledger": 120_00,
        "difference": 0,
    }
    assert by["SEK"]["total"] == by["SEK"]["ledger"] == 500_00
    assert t.as_of == datetime(2026, 3, 11, tzinfo=UTC)


def test_player_liability_at_a_past_end_date_ignores_later_postings(funds):
    with at(2026, 3, 20):
        _t, rows = table("player-liability", date_from="2026-03-04", date_to="2026-03-04", currency="EUR")
    assert rows == [
        {
            "currency": "EUR",
            "players": 2,
            "cash": 140_00,
            "bonus": 0,
            "pending": 0,
            "total": 140_00,
            "ledger": 140_00,
            "difference": 0,
        }
    ]


def test_player_liability_shows_a_drifted_balance_as_a_difference(funds):
    mt = funds[0]
    # A stored balance that drifted from its postings (what ledger_verify exists to catch).
    Account.objects.filter(player=mt, kind=K.PLAYER_CASH).update(balance=56_00)
    with at(2026, 3, 20):
        t, rows = table("player-liability", date_from="2026-03-20", date_to="2026-03-20", market="MT")
    eur = next(r for r in rows if r["currency"] == "EUR")
    assert (eur["total"], eur["ledger"], eur["difference"]) == (81_00, 80_00, 1_00)
    assert any("ledger_verify" in n for n in t.notes)


def test_mga_player_funds_lists_malta_players_lines_with_eur(funds):
    FxRate.objects.create(date=date(2026, 3, 30), currency="SEK", rate=Decimal("10"), source="test")
    with at(2026, 4, 2):
        t, rows = table("mga-player-funds", date_from="2026-03-01", date_to="2026-03-31")
    got = {(r["line"], r["currency"]): r for r in rows}
    assert got[("1", "EUR")]["amount"] == 55_00  # the Swedish player's 40.00 is not Malta's
    assert got[("2", "EUR")]["amount"] == 20_00
    assert got[("3", "EUR")]["amount"] == 75_00
    assert got[("4", "EUR")]["amount"] == 5_00
    assert got[("5", "EUR")]["count"] == 1
    assert got[("3", "SEK")]["amount"] == 500_00 and got[("3", "SEK")]["amount_eur"] == 50_00
    assert t.totals["amount_eur"] == 125_00


def test_monthly_returns_refuse_a_range_that_is_not_one_month():
    for key_ in ("mga-player-funds", "mga-gaming-tax"):
        with pytest.raises(forms.ValidationError) as exc:
            registry.get(key_).clean({"date_from": "2026-03-02", "date_to": "2026-03-31"})
        assert registry.WHOLE_MONTH in exc.value.messages


def test_a_reversed_range_is_refused_with_its_message():
    with pytest.raises(forms.ValidationError) as exc:
        registry.get("ggr").clean({"date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert exc.value.messages == [
        registry.RANGE_REVERSED.format(date_from="2026-03-05", date_to="2026-03-01")
    ]


def _market(day, market, currency, **figures):
    eur = {f"{k}_eur": v for k, v in figures.items() if k in ("bets", "wins", "ggr", "bonus_cost", "ngr")}
    if currency != "EUR":
        eur = {k: v // 10 for k, v in eur.items()}  # 10 units per euro
    return DailyMarket.objects.create(day=day, market=market, currency=currency, **figures, **eur)


@pytest.fixture
def markets():
    _market(
        date(2026, 3, 1),
        "MT",
        "EUR",
        bets=1000_00,
        wins=900_00,
        ggr=100_00,
        bonus_cost=10_00,
        ngr=90_00,
        registrations=4,
        ftd_count=1,
        active_players=3,
        gaming_tax_rate_bp=500,
    )
    _market(
        date(2026, 3, 2),
        "MT",
        "EUR",
        bets=500_00,
        wins=540_00,
        ggr=-40_00,
        bonus_cost=0,
        ngr=-40_00,
        registrations=2,
        ftd_count=1,
        active_players=2,
        gaming_tax_rate_bp=500,
    )
    _market(
        date(2026, 3, 2),
        "MT",
        "SEK",
        bets=3000_00,
        wins=2000_00,
        ggr=1000_00,
        bonus_cost=0,
        ngr=1000_00,
        registrations=1,
        ftd_count=1,
        active_players=1,
        gaming_tax_rate_bp=500,
    )
    _market(
        date(2026, 3, 2),
        "SE",
        "EUR",
        bets=200_00,
        wins=100_00,
        ggr=100_00,
        bonus_cost=20_00,
        ngr=80_00,
        registrations=3,
        ftd_count=0,
        active_players=1,
        gaming_tax_rate_bp=2200,
    )
    _market(date(2026, 4, 1), "MT", "EUR", bets=1_00, wins=0, ggr=1_00, bonus_cost=0, ngr=1_00)


def test_ggr_by_day_in_eur_and_by_market_natively(markets):
    t, rows = table("ggr", date_from="2026-03-01", date_to="2026-03-31", group_by="day")
    assert [(r["group"], r["ggr"], r["ngr"]) for r in rows] == [
        (date(2026, 3, 1), 100_00, 90_00),
        (date(2026, 3, 2), -40_00 + 100_00 + 100_00, -40_00 + 100_00 + 80_00),
    ]
    assert t.totals["ggr"] == 260_00 and t.totals["bonus_cost"] == 30_00
    _t, rows = table("ggr", date_from="2026-03-01", date_to="2026-03-31", group_by="market", currency="SEK")
    assert rows == [
        {
            "group": "MT",
            "currency": "SEK",
            "bets": 3000_00,
            "wins": 2000_00,
            "ggr": 1000_00,
            "bonus_cost": 0,
            "ngr": 1000_00,
        }
    ]


def test_mga_gaming_tax_is_five_percent_of_the_months_malta_revenue(markets):
    t, rows = table("mga-gaming-tax", date_from="2026-03-01", date_to="2026-03-31")
    by = {r["currency"]: r for r in rows}
    assert set(by) == {"EUR", "SEK"}  # Sweden's revenue is not Malta's
    assert by["EUR"]["ggr"] == 60_00 and by["EUR"]["tax"] == 3_00  # the losing day offsets
    assert by["SEK"]["ggr"] == 1000_00 and by["SEK"]["tax"] == 50_00 and by["SEK"]["ggr_eur"] == 100_00
    assert by["EUR"]["rate"] == Decimal("0.05")
    assert t.totals["ggr_eur"] == 160_00 and t.totals["tax_eur"] == 8_00


def test_mga_gaming_tax_owes_nothing_on_a_losing_month():
    _market(
        date(2026, 5, 3),
        "MT",
        "EUR",
        bets=100_00,
        wins=300_00,
        ggr=-200_00,
        bonus_cost=0,
        ngr=-200_00,
        gaming_tax_rate_bp=500,
    )
    t, rows = table("mga-gaming-tax", date_from="2026-05-01", date_to="2026-05-31")
    assert rows[0]["tax"] == 0 and t.totals["tax_eur"] == 0


@pytest.fixture
def games_rollup():
    provider = GameProvider.objects.create(code="northlight", name="Northlight")
    frost = Game.objects.create(
        provider=provider,
        external_code="frost",
        code="northlight:frost",
        title="Frost",
        category="slots",
        rtp="96.00",
    )
    ember = Game.objects.create(
        provider=provider,
        external_code="ember",
        code="northlight:ember",
        title="Ember",
        category="slots",
        rtp="94.50",
    )
    for day, game, bets, wins, rounds, players in [
        (date(2026, 3, 1), frost, 1000_00, 950_00, 400, 20),
        (date(2026, 3, 2), frost, 1000_00, 970_00, 380, 18),
        (date(2026, 3, 1), ember, 400_00, 300_00, 100, 5),
    ]:
        DailyGame.objects.create(
            day=day,
            game=game,
            provider=provider,
            currency="EUR",
            bets=bets,
            wins=wins,
            ggr=bets - wins,
            rounds=rounds,
            players=players,
            bets_eur=bets,
            wins_eur=wins,
            ggr_eur=bets - wins,
        )


def test_game_performance_actual_rtp_beside_theoretical(games_rollup):
    t, rows = table("game-performance", date_from="2026-03-01", date_to="2026-03-31")
    ember, frost = sorted(rows, key=lambda r: r["game"])
    assert frost["theoretical_rtp"] == Decimal("0.96")
    assert frost["actual_rtp"] == Decimal("0.9600") and frost["hold"] == Decimal("0.0400")
    assert (frost["bets"], frost["ggr"], frost["rounds"], frost["players"]) == (2000_00, 80_00, 780, 38)
    assert ember["actual_rtp"] == Decimal("0.7500") and ember["theoretical_rtp"] == Decimal("0.945")
    assert t.totals["ggr"] == 180_00 and t.totals["actual_rtp"] == Decimal("0.9250")
    _t, by_game = table("ggr", date_from="2026-03-01", date_to="2026-03-31", group_by="provider")
    assert [(r["group"], r["ggr"]) for r in by_game] == [("Northlight", 180_00)]


def test_payments_success_rate_per_provider_and_method_amounts():
    def row(**kw):
        DailyPayment.objects.create(day=date(2026, 3, 1), currency="EUR", **kw)

    row(provider="trustly", method="", direction="deposit", attempts=10)
    row(provider="trustly", method="bank", direction="deposit", successes=6, amount=600_00, fees=6_00)
    row(provider="trustly", method="card", direction="deposit", successes=2, amount=100_00, fees=3_00)
    row(provider="adyen", method="", direction="withdrawal", attempts=4)
    row(provider="adyen", method="visa", direction="withdrawal", successes=3, amount=90_00)
    _t, rows = table("payments", date_from="2026-03-01", date_to="2026-03-31")
    top = {r["provider"]: r for r in rows if r["method"] == "all methods"}
    assert top["trustly"]["success_rate"] == Decimal("0.8000") and top["trustly"]["fees"] == 9_00
    assert top["adyen"]["success_rate"] == Decimal("0.7500") and top["adyen"]["amount"] == 90_00
    methods = [(r["provider"], r["method"], r["amount"]) for r in rows if r["method"] != "all methods"]
    assert methods == [("adyen", "visa", 90_00), ("trustly", "bank", 600_00), ("trustly", "card", 100_00)]


def test_activity_conversion_and_cohort_retention(markets):
    with at(2026, 3, 1, 9):
        cohort = [PlayerFactory(jurisdiction="MT") for _ in range(4)]
        for p in cohort:
            fund(p, 100_00)
    with at(2026, 3, 2, 9):  # D1: three of four come back
        for p in cohort[:3]:
            bet(p, 1_00)
    with at(2026, 3, 8, 9):  # D7: one
        bet(cohort[0], 1_00)
    with at(2026, 3, 20):
        t, rows = table("activity", date_from="2026-03-01", date_to="2026-03-02")
    first, second = rows
    assert (first["registrations"], first["ftd"], first["active"]) == (4, 1, 3)
    assert first["conversion"] == Decimal("0.2500")
    assert first["d1"] == Decimal("0.7500") and first["d7"] == Decimal("0.2500")
    assert first["d30"] is None  # 31 March has not come yet
    assert second["registrations"] == 6 and second["d1"] is None  # no player registered on 2 March
    assert t.totals["registrations"] == 10


def test_compliance_stats_counts_per_status(settings, tmp_path):
    settings.KYC_STORAGE_DIR = tmp_path
    with at(2026, 3, 3):
        p = PlayerFactory()
        complaint_log(
            player_id=p.pk, category="payment", subject="Late", body="Where is it?", channel="email"
        )
        complaint_log(player_id=p.pk, category="game", subject="Spin", body="It froze.", channel="email")
        docs = [
            document_upload(
                player_id=p.pk,
                document_type="passport",
                file_name=f"p{i}.pdf",
                content=b"%PDF-1.4 x",
                source="test",
            )
            for i in range(3)
        ]
        RgAlert.objects.create(
            player=p,
            marker="night_play",
            window_start=date(2026, 3, 1),
            window_end=date(2026, 3, 2),
            evidence={},
        )
    with at(2026, 4, 3):  # outside the range
        complaint_log(player_id=p.pk, category="game", subject="Later", body="Again.", channel="email")
    from backoffice.demo import ensure_demo_operators

    officer = next(u for u in ensure_demo_operators() if u.email.startswith("compliance"))
    with at(2026, 3, 4):
        document_decide(
            document_id=docs[0].pk, decision="approve", actor=officer, expires_on=date(2030, 1, 1)
        )
    _t, rows = table("compliance-stats", date_from="2026-03-01", date_to="2026-03-31")
    got = {(r["area"], r["status"]): r["count"] for r in rows}
    assert got[("Complaints", "Open")] == 2
    assert got[("KYC documents", "Waiting for review")] == 2
    assert got[("KYC documents", "Approved")] == 1
    assert got[("RG alerts", "Open")] == 1
