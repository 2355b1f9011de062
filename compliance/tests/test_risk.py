"""Risk scoring: factors with weights as data, a level, history only on change, enhanced
due diligence for high risk, and the Risk tab on the player page for compliance only."""

import pytest
from django.urls import reverse

from compliance import risk
from compliance.models import (
    KycLevel,
    KycProfile,
    RiskFactorConfig,
    RiskScore,
    ScreeningMatch,
    WatchlistEntry,
    WatchlistVersion,
)
from compliance.tasks import risk_score_recompute_all_task
from wallet.tests.factories import PlayerFactory

from .ledger import post

pytestmark = pytest.mark.django_db


def _pep_match(player):
    version = WatchlistVersion.objects.create(
        watchlist="pep", source_format="csv", file_names="x", sha256="0"
    )
    entry = WatchlistEntry.objects.create(
        version=version, watchlist="pep", external_id="PEP-1", kind="individual", name=player.first_name
    )
    return ScreeningMatch.objects.create(
        player=player,
        watchlist="pep",
        external_id="PEP-1",
        entry=entry,
        screened_name=player.first_name,
        matched_name=player.first_name,
        score=95,
        band="strong",
    )


def test_weights_and_thresholds_are_seeded():
    codes = set(RiskFactorConfig.objects.values_list("code", flat=True))
    assert {"jurisdiction", "pep", "deposit_volume", "payment_methods", "aml_alerts"} <= codes
    assert {"kyc_level", "account_age", "levels"} <= codes


def test_a_fresh_mt_player_is_low_risk():
    p = PlayerFactory()
    score = risk.risk_score_compute(p, "test")
    assert score.level == "low"
    assert score.factors["pep"]["points"] == 0 and score.factors["edd_required"] is False


def test_a_pep_with_large_deposits_is_high_and_requires_enhanced_due_diligence():
    p = PlayerFactory()
    _pep_match(p)
    post(p, "deposit", 1_500_000)  # EUR 15,000
    score = risk.risk_score_compute(p, "test")
    assert score.level == "high"
    assert score.factors["pep"]["points"] == 40 and score.factors["deposit_volume"]["points"] == 25
    assert score.factors["edd_required"] is True
    assert KycProfile.objects.get(player=p).required_level == KycLevel.ENHANCED


def test_a_dismissed_pep_match_does_not_count():
    p = PlayerFactory()
    m = _pep_match(p)
    m.status = ScreeningMatch.Status.DISMISSED
    m.save()
    assert risk.risk_score_compute(p, "test").factors["pep"]["points"] == 0


def test_a_history_row_only_on_change():
    p = PlayerFactory()
    risk.risk_score_compute(p, "test")
    risk.risk_score_compute(p, "test")
    assert RiskScore.objects.filter(player=p).count() == 1
    _pep_match(p)
    risk.risk_score_compute(p, "test")
    risk_score_recompute_all_task()
    rows = list(RiskScore.objects.filter(player=p).order_by("id"))
    assert len(rows) == 2 and rows[1].level == "high"  # a new PEP on a new account


def test_the_nightly_task_scores_every_player():
    players = [PlayerFactory() for _ in range(3)]
    assert risk.risk_score_recompute_all(batch_size=2) == 3
    assert risk.risk_score_recompute_all(batch_size=2) == 0
    assert RiskScore.objects.filter(player__in=players, trigger="nightly").count() == 3


def _page(player):
    return reverse("admin:players_player_change", args=[player.pk]) + "?tab=risk"


def test_the_risk_tab_renders_for_compliance_and_is_hidden_from_marketing(client, operators):
    p = PlayerFactory()
    _pep_match(p)
    post(p, "deposit", 1_500_000)
    risk.risk_score_compute(p, "test")
    client.force_login(operators["compliance"])
    r = client.get(_page(p))
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="tab-risk"' in html and 'data-testid="risk-tab"' in html
    assert 'data-testid="risk-edd"' in html and "deposit_volume" in html
    client.force_login(operators["marketing"])
    r = client.get(_page(p))
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="tab-risk"' not in html and 'data-testid="risk-tab"' not in html
