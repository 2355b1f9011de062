"""The cheap AML rules run inline for one player when a withdrawal or a deposit is requested:
a withdrawal is held at once on an open high-severity alert, a deposit is never refused, and
a later scan raises none of the inline alerts again (the same natural key)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.aml import services
from compliance.aml.rules import RULES
from compliance.models import AmlAlert, KycProfile
from payments import withdrawals
from payments.services import deposit_start
from payments.tests.factories import depositor
from payments.tests.withdrawal_helpers import adyen_double, funded

from .ledger import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def adyen(settings):
    with adyen_double(settings) as sandbox:
        yield sandbox


def _withdraw(player, amount: str):
    return withdrawals.withdrawal_request(player=player, provider="adyen", amount=amount, currency="EUR")


def test_cheap_rules_are_marked():
    cheap = {code for code, rule in RULES.items() if rule.cheap}
    assert cheap == {
        "cdd_threshold",
        "structuring",
        "deposit_withdraw_little_play",
        "large_deposit",
        "large_total",
        "approaching_cdd",
        "withdrawal_unused_instrument",
        "deposit_velocity",
        "dormant_reactivated",
    }


def test_deposit_then_withdrawal_with_little_play_is_held_at_once_and_a_scan_adds_nothing(
    client, adyen, operators
):
    player = funded(client, adyen, amount=100000)  # EUR 1,000 in, nothing played
    p = _withdraw(player, "800.00")
    alert = AmlAlert.objects.get(player=player, rule="deposit_withdraw_little_play")
    assert alert.status == "open" and alert.scan_run is None
    assert alert.evidence["raised_inline"] == "withdrawal" and alert.evidence["wager_ratio"] == 0
    assert p.state == "requested"
    check = p.checks.get(code="aml")
    assert check.result == "hold"
    assert "Deposit then withdrawal with little play" in check.reason and f"#{alert.pk}" in check.reason
    assert "Deposit then withdrawal with little play" in p.status_note
    # The scan keys the alert the same way: no duplicate.
    run = services.aml_scan_run(full=True)
    assert run.counts["deposit_withdraw_little_play"] == 0
    assert AmlAlert.objects.filter(player=player, rule="deposit_withdraw_little_play").count() == 1
    # Closed by compliance, a re-check passes the AML check (the same key is not raised again).
    services.aml_alert_close(alert_id=alert.pk, reason="Salary, documented", actor=operators["compliance"])
    p = withdrawals.withdrawal_recheck(payment_id=p.pk, actor=operators["finance"])
    assert p.state == "in_review" and p.checks.get(run=2, code="aml").result == "pass"
    assert AmlAlert.objects.filter(player=player).count() == 1


def test_a_quiet_players_withdrawal_is_not_held(client, adyen):
    player = funded(client, adyen, amount=20000)  # EUR 200: below every threshold
    p = _withdraw(player, "50.00")
    assert p.state == "in_review" and p.status_note == ""
    assert p.checks.get(code="aml").result == "pass"
    assert not AmlAlert.objects.filter(player=player).exists()


def test_an_open_high_alert_from_a_scan_holds_too(client, adyen):
    player = funded(client, adyen, amount=20000)
    for d, units in ((1, 1800), (2, 1900), (3, 1750)):  # structuring just below EUR 2,000
        post(player, "deposit", units * 100, at=timezone.now() - timedelta(days=d))
    KycProfile.objects.filter(player=player).update(level=3)
    services.aml_scan_run(full=True)
    alert = AmlAlert.objects.get(player=player, rule="structuring")
    p = _withdraw(player, "50.00")
    assert p.state == "requested"
    assert "Structuring below a threshold" in p.checks.get(code="aml").reason
    assert AmlAlert.objects.filter(player=player, rule="structuring").count() == 1
    assert alert.scan_run is not None


def test_a_deposit_raises_alerts_but_is_never_refused(adyen):
    player = depositor()
    KycProfile.objects.filter(player=player).update(level=3)  # the CDD gate is met
    for d, units in ((1, 1800), (2, 1900), (3, 1750)):
        post(player, "deposit", units * 100, at=timezone.now() - timedelta(days=d))
    payment = deposit_start(player=player, provider="adyen", amount="100.00", currency="EUR")
    assert payment.pk and payment.redirect_url
    alert = AmlAlert.objects.get(player=player, rule="structuring")
    assert alert.evidence["raised_inline"] == "deposit"
    assert services.aml_scan_run(full=True).counts["structuring"] == 0
