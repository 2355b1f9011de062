"""The remaining AML rules (issue #7): each fires on a crafted history with its evidence and
stays quiet on a near miss; a re-run creates no duplicates; incremental scans also take in
players whose only new data is a session or a screening match; the FATF lists apply from
their effective dates."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from compliance.aml import services
from compliance.aml.models import HighRiskCountry
from compliance.aml.rules import RULES
from compliance.models import (
    AmlAlert,
    AmlRuleConfig,
    AmlScanRun,
    ScreeningMatch,
    WatchlistEntry,
    WatchlistVersion,
)
from payments.models import Payment
from players.models import PlayerSession
from wallet.tests.factories import PlayerFactory

from . import test_aml
from .ledger import post
from .test_aml import NOW, days_ago, eur, fired, method, scan

pytestmark = pytest.mark.django_db


def alert(rule: str, player) -> AmlAlert:
    return AmlAlert.objects.get(rule=rule, player=player)


def session(player, at: datetime, *, device: str = "", ip: str | None = None) -> PlayerSession:
    return PlayerSession.objects.create(player=player, started_at=at, device_id=device, ip=ip)


def payment(player, kind: str, state: str, pm, units: float, at: datetime) -> Payment:
    return Payment.objects.create(
        kind=kind,
        player=player,
        provider=pm.provider,
        payment_method=pm,
        amount=eur(units),
        currency="EUR",
        state=state,
        created_at=at,
    )


def screening_match(player, watchlist: str, status: str = "open", external_id: str = "X-1") -> ScreeningMatch:
    version = WatchlistVersion.objects.create(
        watchlist=watchlist, source_format="test", file_names="t", sha256="0", current=False
    )
    entry = WatchlistEntry.objects.create(
        version=version, watchlist=watchlist, external_id=external_id, kind="individual", name="Ivan Petrov"
    )
    return ScreeningMatch.objects.create(
        player=player,
        watchlist=watchlist,
        external_id=external_id,
        entry=entry,
        screened_name="Ivan Petrov",
        matched_name="Ivan Petrov",
        score=97.5,
        band="strong",
        status=status,
        created_at=days_ago(1),
    )


# --- crafted histories: hit=True fires, hit=False is the near miss --------------------------


def _approaching(p, hit):
    # 80% of EUR 2,000 is EUR 1,600: 1,700 approaches, 1,500 does not.
    post(p, "deposit", eur(1000), at=days_ago(100))
    post(p, "deposit", eur(700 if hit else 500), at=days_ago(2))


def _unused_instrument(p, hit):
    card = method(p, f"fp-card-{p.pk}", at=days_ago(20))
    payment(p, "deposit", "succeeded", card, 500, days_ago(20))
    if hit:
        payout_to = method(p, f"fp-other-{p.pk}", at=days_ago(1))
    else:
        # The same instrument (fingerprint) through another provider: deposited with.
        payout_to = method(p, f"fp-card-{p.pk}", provider="trustly", at=days_ago(1))
    payment(p, "withdrawal", "requested", payout_to, 400, days_ago(1))


def _shared_device_ip(p, hit):
    other = PlayerFactory()
    session(p, days_ago(3), device="dev-A", ip="198.51.100.7")
    # Near miss: the device was on the other account 40 days ago (outside the 30-day window),
    # and two accounts on one IP are below the IP floor of 3.
    session(other, days_ago(2 if hit else 40), device="dev-A")
    session(other, days_ago(2), ip="198.51.100.7")


def _velocity(p, hit):
    # History: 3 deposits over the 90 days before the last 7. Recent: EUR 1,100 in 7 days.
    for d in (20, 50, 80):
        post(p, "deposit", eur(300 if hit else 1000), at=days_ago(d))
    post(p, "deposit", eur(600), at=days_ago(3))
    post(p, "deposit", eur(500), at=days_ago(1))


def _dormant(p, hit):
    p.created_at = days_ago(400)
    p.save(update_fields=["created_at"])
    post(p, "deposit", eur(50), at=days_ago(300))
    post(p, "bet", eur(50), at=days_ago(250))
    session(p, days_ago(200))
    if not hit:
        session(p, days_ago(150))  # active 150 days before: not dormant for 180
    # The login just before the deposit belongs to the reactivation (grace 24 hours).
    session(p, days_ago(2) - timedelta(hours=1))
    post(p, "deposit", eur(1500), at=days_ago(2))


def _high_risk_country(p, hit):
    # South Africa left the grey list on 24 October 2025: in force before, not at NOW.
    p.country = "IR" if hit else "ZA"
    p.save(update_fields=["country"])


def _sanctions(p, hit):
    screening_match(p, "ofac_sdn", status="open" if hit else "dismissed")


CASES = {
    "approaching_cdd": _approaching,
    "withdrawal_unused_instrument": _unused_instrument,
    "shared_device_ip": _shared_device_ip,
    "deposit_velocity": _velocity,
    "dormant_reactivated": _dormant,
    "high_risk_country": _high_risk_country,
    "sanctions_pep_match": _sanctions,
}


def test_every_rule_has_a_case_here_or_in_test_aml_and_seeded_settings():
    assert set(CASES) | set(test_aml.CASES) == set(RULES)
    assert set(CASES).isdisjoint(test_aml.CASES)
    assert set(AmlRuleConfig.objects.values_list("code", flat=True)) == set(RULES)
    # The seeded params are the code's defaults (so params_validate accepts them as they are).
    for config in AmlRuleConfig.objects.filter(code__in=list(CASES)):
        assert config.params == RULES[config.code].params
        assert services.params_validate(config.code, config.params) == config.params


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_crafted_history(rule):
    player = PlayerFactory()
    CASES[rule](player, True)
    run = scan(full=True)
    assert run.counts[rule] >= 1
    assert fired(rule, player)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_stays_quiet_on_near_miss(rule):
    player = PlayerFactory()
    CASES[rule](player, False)
    scan(full=True)
    assert not fired(rule, player)


def test_rerun_creates_no_duplicates():
    players = []
    for rule in sorted(CASES):
        players.append(PlayerFactory())
        CASES[rule](players[-1], True)
    first = scan(full=True)
    assert all(first.counts[rule] >= 1 for rule in CASES)
    before = AmlAlert.objects.count()
    second = scan(full=True)
    assert all(second.counts[rule] == 0 for rule in CASES)
    assert AmlAlert.objects.count() == before
    # An inline check of the cheap rules raises none of them again either.
    for p in players:
        services.aml_check_player(p, trigger="withdrawal", now=NOW)
    assert AmlAlert.objects.count() == before


# --- evidence, per rule ---------------------------------------------------------------------


def test_approaching_cdd_evidence_and_not_once_crossed():
    near, crossed = PlayerFactory(), PlayerFactory()
    _approaching(near, True)
    post(crossed, "deposit", eur(2100), at=days_ago(3))
    scan(full=True)
    e = alert("approaching_cdd", near).evidence
    assert e["total_eur_minor"] == eur(1700) and e["pct_of_threshold"] == 85.0
    assert e["approach_from_eur_minor"] == eur(1600) and e["window"] == "180 days"
    assert alert("approaching_cdd", near).window_key == "approaching"
    assert alert("approaching_cdd", near).severity == 1
    assert fired("cdd_threshold", crossed) and not fired("approaching_cdd", crossed)


def test_withdrawal_unused_instrument_evidence():
    player = PlayerFactory()
    _unused_instrument(player, True)
    scan(full=True)
    a = alert("withdrawal_unused_instrument", player)
    w = Payment.objects.get(player=player, kind="withdrawal")
    assert a.window_key == f"wd:{w.reference}" and a.severity == 3
    assert a.evidence["withdrawal"] == w.reference and a.evidence["amount_minor"] == eur(400)
    assert a.evidence["fingerprint"] == f"fp-other-{player.pk}"
    assert a.evidence["deposited_with"] == ["card ****4242"]


def test_withdrawal_rejected_or_to_a_failed_deposits_instrument_counts_correctly():
    player = PlayerFactory()
    card = method(player, "fp-failed", at=days_ago(5))
    # The only deposit with this card failed: the card was never deposited with.
    payment(player, "deposit", "failed", card, 500, days_ago(5))
    payment(player, "withdrawal", "rejected", card, 100, days_ago(2))
    scan(full=True)
    assert not fired("withdrawal_unused_instrument", player)  # a rejected withdrawal moves nothing
    payment(player, "withdrawal", "in_review", card, 100, days_ago(1))
    scan(full=True)
    assert AmlAlert.objects.filter(rule="withdrawal_unused_instrument", player=player).count() == 1


def test_shared_device_evidence_names_the_other_accounts():
    player = PlayerFactory()
    _shared_device_ip(player, True)
    scan(full=True)
    other = PlayerSession.objects.exclude(player=player).get(device_id="dev-A").player
    mine = alert("shared_device_ip", player)
    assert mine.window_key == "device:dev-A"
    assert mine.evidence["kind"] == "device" and mine.evidence["accounts_sharing"] == 2
    assert mine.evidence["other_accounts"] == [other.public_id]
    assert alert("shared_device_ip", other).evidence["other_accounts"] == [player.public_id]
    # Two accounts on one IP stay below its floor of three.
    assert not AmlAlert.objects.filter(rule="shared_device_ip", window_key__startswith="ip:").exists()


def test_shared_ip_fires_from_three_accounts_one_alert_each():
    players = [PlayerFactory() for _ in range(3)]
    for i, p in enumerate(players):
        session(p, days_ago(i + 1), ip="2001:db8::1")
    scan(full=True)
    alerts = AmlAlert.objects.filter(rule="shared_device_ip", window_key="ip:2001:db8::1")
    assert alerts.count() == 3
    first = alerts.get(player=players[0])
    assert sorted(first.evidence["other_accounts"]) == sorted(p.public_id for p in players[1:])
    assert first.evidence["accounts_sharing"] == 3


def test_long_device_ids_get_a_hashed_key_that_fits():
    a, b = PlayerFactory(), PlayerFactory()
    long_id = "x" * 128
    session(a, days_ago(1), device=long_id)
    session(b, days_ago(1), device=long_id)
    scan(full=True)
    key = alert("shared_device_ip", a).window_key
    assert key.startswith("device#") and len(key) <= 80
    assert alert("shared_device_ip", b).window_key == key


def test_deposit_velocity_evidence_and_players_without_history_excluded():
    player, newcomer = PlayerFactory(), PlayerFactory()
    _velocity(player, True)
    # Only two deposits of history: nothing to compare with, however large the recent ones.
    post(newcomer, "deposit", eur(10), at=days_ago(30))
    post(newcomer, "deposit", eur(10), at=days_ago(40))
    post(newcomer, "deposit", eur(4000), at=days_ago(1))
    scan(full=True)
    e = alert("deposit_velocity", player).evidence
    assert e["recent_eur_minor"] == eur(1100) and e["history_eur_minor"] == eur(900)
    assert e["history_deposits"] == 3 and e["recent_deposits"] == 2
    assert e["times_usual"] == pytest.approx(15.7, abs=0.1)
    assert not fired("deposit_velocity", newcomer)


def test_deposit_velocity_needs_the_minimum_amount():
    player = PlayerFactory()
    for d in (20, 50, 80):
        post(player, "deposit", eur(10), at=days_ago(d))
    post(player, "deposit", eur(999), at=days_ago(1))  # 100x usual, but below EUR 1,000
    scan(full=True)
    assert not fired("deposit_velocity", player)


def test_dormant_reactivation_evidence_and_one_alert_per_reactivation():
    player = PlayerFactory()
    _dormant(player, True)
    post(player, "deposit", eur(2000), at=days_ago(2) + timedelta(hours=3))  # same reactivation
    scan(full=True)
    a = alert("dormant_reactivated", player)
    last = days_ago(200)
    assert a.window_key == f"dormant:{last.date().isoformat()}"
    assert a.evidence["last_activity_at"] == last.isoformat()
    assert a.evidence["days_dormant"] == 198 and a.evidence["amount_minor"] == eur(1500)


def test_dormant_needs_an_old_account_and_a_large_deposit():
    young = PlayerFactory()
    young.created_at = days_ago(100)  # younger than the dormancy: never dormant
    young.save(update_fields=["created_at"])
    post(young, "deposit", eur(5000), at=days_ago(1))
    small = PlayerFactory()
    small.created_at = days_ago(400)
    small.save(update_fields=["created_at"])
    post(small, "deposit", eur(999), at=days_ago(1))
    scan(full=True)
    assert not fired("dormant_reactivated", young) and not fired("dormant_reactivated", small)


def test_dormant_never_active_account_counts_from_its_opening():
    player = PlayerFactory()
    player.created_at = days_ago(365)
    player.save(update_fields=["created_at"])
    post(player, "deposit", eur(1200), at=days_ago(1))
    scan(full=True)
    a = alert("dormant_reactivated", player)
    assert a.evidence["last_activity_at"] is None and a.evidence["days_dormant"] == 364


def test_high_risk_country_black_list_is_high_grey_list_is_medium():
    black, grey, by_nationality = PlayerFactory(country="IR"), PlayerFactory(country="VN"), PlayerFactory()
    by_nationality.nationality = "KP"
    by_nationality.save(update_fields=["nationality"])
    scan(full=True)
    b = alert("high_risk_country", black)
    assert b.severity == 3 and b.window_key == "call_for_action:IR:2025-06-13"
    assert b.evidence["matched_on"] == "country" and "13 June 2025" in b.evidence["source"]
    assert b.evidence["source_url"].startswith("https://www.fatf-gafi.org/")
    g = alert("high_risk_country", grey)
    assert g.severity == 2 and g.evidence["list"] == "increased_monitoring"
    assert alert("high_risk_country", by_nationality).evidence["matched_on"] == "nationality"
    # Matching on residence only: nationality no longer counts.
    config = AmlRuleConfig.objects.get(code="high_risk_country")
    config.params = {**config.params, "match_on": ["country"]}
    config.save()
    AmlAlert.objects.all().delete()
    scan(full=True)
    assert fired("high_risk_country", black) and not fired("high_risk_country", by_nationality)


def test_high_risk_country_respects_the_effective_dates():
    za = PlayerFactory(country="ZA")
    fr = PlayerFactory(country="FR")
    HighRiskCountry.objects.create(
        country="FR", list="increased_monitoring", effective_from=date(2026, 4, 1), source="test"
    )
    with time_machine.travel(datetime(2025, 9, 1, 12, tzinfo=UTC), tick=False):
        services.aml_scan_run(full=True)  # ZA on the grey list then; FR not yet
    assert alert("high_risk_country", za).window_key == "increased_monitoring:ZA:2025-06-13"
    assert not fired("high_risk_country", fr)
    AmlAlert.objects.all().delete()
    with time_machine.travel(datetime(2026, 3, 31, 23, 59, tzinfo=UTC), tick=False):
        services.aml_scan_run(full=True)  # ZA delisted on 24 October 2025; FR from tomorrow
    assert not fired("high_risk_country", za) and not fired("high_risk_country", fr)
    with time_machine.travel(datetime(2026, 4, 1, 0, 1, tzinfo=UTC), tick=False):
        services.aml_scan_run(full=True)
    assert fired("high_risk_country", fr) and not fired("high_risk_country", za)


def test_risk_jurisdiction_factor_reads_the_fatf_table():
    from compliance.risk import _factor

    resident = PlayerFactory(country="KP")
    value, observed = _factor("jurisdiction", {"high_risk": []}, resident, NOW)
    assert value == 1.0 and "KP" in observed
    delisted = PlayerFactory(country="ZA")
    assert _factor("jurisdiction", {"high_risk": []}, delisted, NOW)[0] == 0.0
    assert _factor("jurisdiction", {"high_risk": []}, delisted, datetime(2025, 9, 1, tzinfo=UTC))[0] == 1.0
    # The officers' own list still counts.
    assert _factor("jurisdiction", {"high_risk": ["MT"]}, PlayerFactory(), NOW)[0] == 1.0


def test_sanctions_high_pep_medium_per_match():
    player = PlayerFactory()
    sanctions = screening_match(player, "ofac_sdn", external_id="S-1")
    pep = screening_match(player, "pep", status="confirmed", external_id="P-1")
    scan(full=True)
    s = AmlAlert.objects.get(rule="sanctions_pep_match", window_key=f"match:{sanctions.pk}")
    p = AmlAlert.objects.get(rule="sanctions_pep_match", window_key=f"match:{pep.pk}")
    assert s.severity == 3 and s.evidence["kind"] == "sanctions" and s.evidence["list"] == "OFAC SDN"
    assert s.evidence["matched_name"] == "Ivan Petrov" and s.evidence["score"] == 97.5
    assert p.severity == 2 and p.evidence["kind"] == "pep" and p.evidence["status"] == "confirmed"


# --- incremental scope ----------------------------------------------------------------------


def test_incremental_scan_takes_in_a_player_whose_only_new_data_is_a_session():
    old, new = PlayerFactory(), PlayerFactory()
    session(old, days_ago(5), device="dev-Z")
    scan(full=True)
    session(new, days_ago(1), device="dev-Z")
    run = scan()
    assert not run.full and run.players_in_scope == 1
    # The new session fires for both accounts: the old one comes in through the shared device.
    assert run.counts["shared_device_ip"] == 2
    assert fired("shared_device_ip", old) and fired("shared_device_ip", new)


def test_incremental_scan_takes_in_a_player_whose_only_new_data_is_a_screening_match():
    player = PlayerFactory()
    scan(full=True)
    screening_match(player, "un")
    run = scan()
    assert run.players_in_scope == 1 and run.counts["sanctions_pep_match"] == 1
    assert set(run.watermark) >= {"session_id", "screening_match_id", "payment_id"}


def test_incremental_scan_takes_in_a_new_withdrawal():
    player = PlayerFactory()
    card = method(player, "fp-w", at=days_ago(3))
    scan(full=True)
    payment(player, "withdrawal", "requested", card, 100, days_ago(1))
    run = scan()
    assert run.players_in_scope == 1 and run.counts["withdrawal_unused_instrument"] == 1


def test_an_old_watermark_without_the_new_keys_reads_them_as_zero():
    player = PlayerFactory()
    session(player, days_ago(2))
    done = scan(full=True)
    AmlScanRun.objects.filter(pk=done.pk).update(
        watermark={k: v for k, v in done.watermark.items() if k in ("posting_id", "payment_method_id")}
    )
    assert scan().players_in_scope == 1  # the old session is "new" to the old watermark


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, params, problem",
    [
        (
            "high_risk_country",
            {"match_on": ["country", "passport"]},
            "a non-empty list of country, nationality",
        ),
        ("high_risk_country", {"match_on": []}, "a non-empty list"),
        ("high_risk_country", {"match_on": "country"}, "a non-empty list"),
        ("high_risk_country", {"grey_severity": 4}, "one of 1, 2, 3"),
        ("sanctions_pep_match", {"pep_severity": "high"}, "one of 1, 2, 3"),
        ("approaching_cdd", {"mode": "weekly"}, "use rolling or lifetime"),
        ("deposit_velocity", {"multiple": -1}, "expected a number like 5"),
    ],
)
def test_params_validate_refuses_bad_values(code, params, problem):
    with pytest.raises(services.DomainError) as exc:
        services.params_validate(code, params)
    assert exc.value.code == "bad_params" and problem in exc.value.message


def test_params_validate_accepts_lists_and_choices(operators):
    config = AmlRuleConfig.objects.get(code="high_risk_country")
    services.aml_rule_config_update(
        config_id=config.pk,
        enabled=True,
        severity=3,
        params={"match_on": ["nationality", "nationality"], "grey_severity": 1},
        actor=operators["compliance"],
    )
    config.refresh_from_db()
    assert config.params == {"grey_severity": 1, "match_on": ["nationality"]}


def test_fatf_list_page_is_read_only_with_its_source(client, operators, django_assert_max_num_queries):
    from django.urls import reverse

    client.force_login(operators["compliance"])
    url = reverse("admin:compliance_highriskcountry_changelist")
    with django_assert_max_num_queries(15):
        page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "fatf-gafi.org" in text and "IR" in text
    assert client.get(reverse("admin:compliance_highriskcountry_add")).status_code == 403
    row = HighRiskCountry.objects.get(country="IR")
    assert (
        client.post(reverse("admin:compliance_highriskcountry_change", args=[row.pk]), {}).status_code == 403
    )
    in_force = client.get(url, {"in_force": "no"}).content.decode()
    assert "ZA" in in_force


@pytest.mark.parametrize("role", ["support", "compliance", "finance", "marketing", "risk", "admin"])
def test_fatf_list_is_open_to_compliance_and_administrators_only(client, operators, role):
    from django.urls import reverse

    client.force_login(operators[role])
    row = HighRiskCountry.objects.get(country="KP")
    expected = 200 if role in ("compliance", "admin") else 403
    assert client.get(reverse("admin:compliance_highriskcountry_changelist")).status_code == expected
    assert (
        client.get(reverse("admin:compliance_highriskcountry_change", args=[row.pk])).status_code == expected
    )
