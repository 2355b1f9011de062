"""The risk weights screen: risk_factor_update validates and audits every change, the
console form saves all rows or none, the preview counts players per level, and only
compliance may tune. One browser test of the form."""

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import Page, expect

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from compliance import risk
from compliance.admin_risk import RiskWeightsForm
from compliance.models import RiskFactorConfig, RiskScore
from wallet.tests.factories import PlayerFactory

URL = "admin:compliance_risk_weights"
SEED = importlib.import_module("compliance.migrations.0016_risk_scoring").FACTORS


def _seed():
    # Transactional tests flush the migration's seed rows: put them back.
    for code, weight, params in SEED:
        RiskFactorConfig.objects.get_or_create(code=code, defaults={"weight": weight, "params": params})


def _config(code):
    return RiskFactorConfig.objects.get(code=code)


def _changes():
    return AuditEvent.objects.filter(action="compliance.risk_factor.change")


# --- the service --------------------------------------------------------------------------


@pytest.mark.django_db
def test_update_changes_weight_and_params_and_audits_before_and_after(operators):
    officer = operators["compliance"]
    risk.risk_factor_update(
        code="deposit_volume", weight=30, params={"window_days": 90}, actor=officer, note="Q3 review"
    )
    c = _config("deposit_volume")
    assert c.weight == 30 and c.params == {"window_days": 90, "full_at_eur": 1000000}
    event = _changes().get()
    assert event.actor == officer and event.note == "Q3 review" and event.target_id == str(c.pk)
    assert event.before == {
        "weight": 25,
        "enabled": True,
        "params": {"window_days": 180, "full_at_eur": 1000000},
    }
    assert event.after == {
        "weight": 30,
        "enabled": True,
        "params": {"window_days": 90, "full_at_eur": 1000000},
    }
    # The same values again change nothing and write no event.
    risk.risk_factor_update(code="deposit_volume", weight=30, params={"window_days": 90}, actor=officer)
    assert _changes().count() == 1
    risk.risk_factor_update(code="jurisdiction", params={"high_risk": ["ir", " KP"]}, actor=officer)
    assert _config("jurisdiction").params == {"high_risk": ["IR", "KP"]}
    risk.risk_factor_update(code="levels", params={"medium": 25, "high": 50}, actor=officer)
    assert _config("levels").params == {"medium": 25, "high": 50}
    assert risk._config()[1] == {"medium": 25, "high": 50}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs, code, field",
    [
        ({"code": "pep", "weight": -1}, "bad_weight", "pep.weight"),
        ({"code": "pep", "weight": True}, "bad_weight", "pep.weight"),
        ({"code": "pep", "weight": 12.5}, "bad_weight", "pep.weight"),
        ({"code": "pep", "weight": 5000}, "bad_weight", "pep.weight"),
        ({"code": "pep", "params": {"days": 3}}, "unknown_param", "pep.days"),
        (
            {"code": "deposit_volume", "params": {"window_days": "90"}},
            "bad_params",
            "deposit_volume.window_days",
        ),
        (
            {"code": "deposit_volume", "params": {"window_days": 0}},
            "bad_params",
            "deposit_volume.window_days",
        ),
        ({"code": "payment_methods", "params": {"full_at": 1}}, "bad_params", "payment_methods.full_at"),
        ({"code": "jurisdiction", "params": {"high_risk": "IR"}}, "bad_params", "jurisdiction.high_risk"),
        (
            {"code": "jurisdiction", "params": {"high_risk": ["IR", "XX"]}},
            "bad_params",
            "jurisdiction.high_risk",
        ),
        ({"code": "kyc_level", "params": {"by_level": {"0": 1.5}}}, "bad_params", "kyc_level.by_level"),
        ({"code": "kyc_level", "params": {"by_level": {"7": 0.5}}}, "bad_params", "kyc_level.by_level"),
        ({"code": "kyc_level", "params": []}, "bad_params", "kyc_level.params"),
        ({"code": "levels", "params": {"medium": 60, "high": 60}}, "thresholds_order", "levels.medium"),
        ({"code": "levels", "params": {"medium": 70}}, "thresholds_order", "levels.medium"),
        ({"code": "levels", "params": {"high": -5}}, "bad_params", "levels.high"),
        ({"code": "levels", "weight": 10}, "levels_no_weight", "levels.weight"),
        ({"code": "nonsense", "weight": 1}, "factor_not_found", None),
    ],
)
def test_update_refuses_bad_settings_and_changes_nothing(operators, kwargs, code, field):
    before = list(RiskFactorConfig.objects.order_by("code").values("code", "weight", "enabled", "params"))
    with pytest.raises(DomainError) as exc:
        risk.risk_factor_update(actor=operators["compliance"], **kwargs)
    assert exc.value.code == code and exc.value.field == field
    assert (
        list(RiskFactorConfig.objects.order_by("code").values("code", "weight", "enabled", "params"))
        == before
    )
    assert not _changes().exists()


@pytest.mark.django_db
def test_a_factor_the_specs_do_not_know_keeps_its_own_keys_and_types(operators):
    RiskFactorConfig.objects.create(code="night_play", weight=5, params={"from_hour": 0, "share": 0.5})
    risk.risk_factor_update(code="night_play", params={"share": 0.75}, actor=operators["compliance"])
    assert _config("night_play").params == {"from_hour": 0, "share": 0.75}
    with pytest.raises(DomainError) as exc:
        risk.risk_factor_update(
            code="night_play", params={"from_hour": "midnight"}, actor=operators["compliance"]
        )
    assert exc.value.code == "bad_params"


# --- the console --------------------------------------------------------------------------


def _form_data(**overrides) -> dict:
    form = RiskWeightsForm(configs=list(RiskFactorConfig.objects.order_by("code")))
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_the_form_saves_through_the_service_and_each_change_is_audited(client, operators):
    client.force_login(operators["compliance"])
    r = client.get(reverse(URL))
    assert r.status_code == 200 and b'data-testid="factor-deposit_volume"' in r.content
    assert b'value="10000.00"' in r.content  # EUR, never minor units
    data = _form_data(
        pep__weight=35,
        deposit_volume__full_at_eur="20000.00",
        jurisdiction__high_risk="IR, KP",
        levels__high=55,
        save="",
    )
    data.pop("account_age__enabled")  # switch a factor off
    r = client.post(reverse(URL), data)
    assert r.status_code == 302, r.context["form"].errors
    assert _config("pep").weight == 35 and _config("deposit_volume").params["full_at_eur"] == 2000000
    assert _config("jurisdiction").params == {"high_risk": ["IR", "KP"]}
    assert _config("levels").params == {"medium": 30, "high": 55} and not _config("account_age").enabled
    changed = {e.target_repr: e for e in _changes()}
    assert set(changed) == {"pep", "deposit_volume", "jurisdiction", "levels", "account_age"}
    assert changed["pep"].before["weight"] == 40 and changed["pep"].after["weight"] == 35
    assert all(e.actor == operators["compliance"] for e in changed.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"levels__medium": 60, "levels__high": 40}, "levels__medium", "must be below the high threshold"),
        ({"pep__weight": -3}, "pep__weight", "greater than or equal to 0"),
        ({"aml_alerts__full_at": 0}, "aml_alerts__full_at", "aml_alerts full_at: a whole number from 1"),
        (
            {"jurisdiction__high_risk": "IR, Narnia"},
            "jurisdiction__high_risk",
            "not ISO country codes: NARNIA",
        ),
        ({"kyc_level__by_level__0": 2}, "kyc_level__by_level__0", "less than or equal to 1"),
        ({"deposit_volume__full_at_eur": "12.345"}, "deposit_volume__full_at_eur", ""),
    ],
)
def test_a_bad_form_says_what_is_wrong_and_saves_nothing(client, operators, overrides, field, message):
    client.force_login(operators["compliance"])
    # A valid change alongside the bad one is not saved either: every row or none.
    r = client.post(reverse(URL), _form_data(payment_methods__weight=99, save="", **overrides))
    assert r.status_code == 200
    errors = r.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert _config("payment_methods").weight == 10 and not _changes().exists()


@pytest.mark.django_db
def test_the_preview_counts_players_per_level_now_and_with_the_new_settings(client, operators):
    def scored(level, **values):
        p = PlayerFactory()
        RiskScore.objects.create(player=p, score=0, level="low", factors={}, trigger="old")  # older row
        factors = {code: {"value": v, "weight": 0, "points": 0} for code, v in values.items()}
        RiskScore.objects.create(player=p, score=0, level=level, factors={**factors, "edd_required": False})

    scored("high", pep=1.0, deposit_volume=1.0)  # 40 + 25 = 65
    scored("medium", pep=1.0)  # 40
    scored("low", aml_alerts=0.5)  # 10
    client.force_login(operators["compliance"])
    r = client.post(reverse(URL), _form_data(pep__weight=20, levels__medium=15, preview=""))
    assert r.status_code == 200
    preview = r.context["preview"]
    # With pep at 20 and medium from 15: 45 medium, 20 medium, 10 low.
    assert preview["rows"] == [("Low", 1, 1), ("Medium", 1, 2), ("High", 1, 0)]
    assert preview["players"] == 3 and preview["moved"] == 1
    assert b'data-testid="risk-preview"' in r.content
    assert _config("pep").weight == 40 and not _changes().exists()  # a preview saves nothing


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["support", "risk", "admin", "finance"])
def test_only_compliance_tunes_the_weights(client, operators, role):
    client.force_login(operators[role])
    assert client.get(reverse(URL)).status_code == 403
    assert client.post(reverse(URL), {"pep__weight": 0, "save": ""}).status_code == 403
    assert _config("pep").weight == 40
    assert b"Risk weights" not in client.get(reverse("admin:index")).content


@pytest.mark.django_db
def test_the_page_and_its_preview_run_a_fixed_number_of_queries(client, operators):
    client.force_login(operators["compliance"])

    def count(**post) -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = client.post(reverse(URL), _form_data(**post)) if post else client.get(reverse(URL))
            assert r.status_code == 200
        return len(ctx.captured_queries)

    def score(n):
        for _ in range(n):
            RiskScore.objects.create(
                player=PlayerFactory(), score=40, level="medium", factors={"pep": {"value": 1.0}}
            )

    score(1)
    page, preview = count(), count(preview="")
    score(40)
    assert count() <= page and count(preview="") <= preview


# --- in the browser -----------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_compliance_officer_previews_and_saves_new_weights(page: Page, live_server, operators):
    from tests.e2e.test_approvals import sign_in

    _seed()
    p = PlayerFactory()
    RiskScore.objects.create(
        player=p, score=40, level="medium", factors={"pep": {"value": 1.0, "weight": 40, "points": 40}}
    )
    sign_in(page, live_server.url, "compliance@pitboss.test")
    page.get_by_role("link", name="Risk weights").click()
    page.get_by_test_id("factor-pep").get_by_label("Weight (points)").fill("65")
    page.get_by_label("High from score").fill("60")
    page.get_by_role("button", name="Preview").click()
    high = page.get_by_test_id("risk-preview").get_by_role("row").filter(has_text="High").get_by_role("cell")
    expect(high).to_have_text(["High", "0", "1"])
    assert _config("pep").weight == 40  # not saved by the preview

    page.get_by_label("Medium from score").fill("70")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("risk-thresholds")).to_contain_text("must be below the high threshold")
    assert _config("pep").weight == 40

    page.get_by_label("Medium from score").fill("30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: pep")).to_be_visible()
    expect(page.get_by_test_id("factor-pep").get_by_label("Weight (points)")).to_have_value("65")
    assert _config("pep").weight == 65 and _config("levels").params["high"] == 60
    assert _changes().filter(actor=operators["compliance"]).count() == 1  # the thresholds did not change
