"""Every console URL opened by every role, compared with the role map in
backoffice/roles.py: allowed (200), forbidden (403), or sign-in for anonymous."""

import pytest
from django.contrib import admin
from django.urls import reverse

from backoffice import console, roles
from backoffice.models import ApprovalRequest
from players.models import Player

pytestmark = pytest.mark.django_db

ROLE_USERS = {
    roles.SUPPORT: "support",
    roles.COMPLIANCE: "compliance",
    roles.FINANCE: "finance",
    roles.MARKETING: "marketing",
    roles.RISK: "risk",
    roles.ADMINISTRATOR: "admin",
}


def _kyc_document(player):
    from compliance.kyc import document_upload

    return document_upload(
        player_id=player.pk,
        document_type="passport",
        file_name="p.pdf",
        content=b"%PDF-1.4 sample",
        source="test",
    )


def _exclusion(player):
    from compliance.rg import exclusion_start

    return exclusion_start(
        player_id=player.pk, kind="self_exclusion", ends_at=None, actor=None, source="test"
    )


def _rg_alert(player):
    from datetime import date

    from compliance.models import RgAlert

    return RgAlert.objects.create(
        player=player,
        marker="night_play",
        window_start=date(2026, 1, 1),
        window_end=date(2026, 1, 8),
        evidence={"night_bets": 30},
    )


def _screening_match(player):
    from compliance.models import ScreeningMatch, WatchlistEntry, WatchlistVersion

    version = WatchlistVersion.objects.create(
        watchlist="un", source_format="un-xml", file_names="x", sha256="0"
    )
    entry = WatchlistEntry.objects.create(
        version=version, watchlist="un", external_id="QDi.000", kind="individual", name="Sample Player"
    )
    return ScreeningMatch.objects.create(
        player=player,
        watchlist="un",
        external_id="QDi.000",
        entry=entry,
        screened_name="Sample Player",
        matched_name="Sample Player",
        score=90,
        band="review",
    )


def _aml_alert(player):
    from compliance.models import AmlAlert

    return AmlAlert.objects.create(
        player=player, rule="large_deposit", window_key="txn:0", evidence={"amount_minor": 600000}
    )


def _aml_scan_run() -> int:
    from compliance.models import AmlScanRun

    return AmlScanRun.objects.create(state="done", full=True, counts={"large_deposit": 1}).pk


def _aml_case(player, operators) -> dict:
    """An AML case with an attachment and a valid STR (compliance/admin_cases.py)."""
    from compliance.aml import cases
    from compliance.models import StrReport

    alert = _aml_alert_for_case(player)
    case = cases.case_open(alert_ids=[alert.pk], actor=operators["compliance"])
    att = cases.case_attachment_add(
        case_id=case.pk, file_name="n.txt", content=b"note", actor=operators["compliance"]
    )
    report = StrReport.objects.create(case=case, xml="<report/>", valid=True, generated_by=operators["mlro"])
    return {"aml_case": case.pk, "aml_case_attachment": att.pk, "str_report": report.pk}


def _aml_alert_for_case(player):
    from compliance.models import AmlAlert

    return AmlAlert.objects.create(player=player, rule="large_deposit", window_key="case:0", evidence={})


def _api_client():
    from backoffice.apiclients import api_client_create

    return api_client_create(name="sample")[0]


def _game_provider():
    from games.models import Game
    from games.services import provider_create

    provider = provider_create(code="sample-games", name="Sample Games")[0]
    Game.objects.create(
        provider=provider,
        external_code="s1",
        code="sample-games:s1",
        title="Sample",
        category="slots",
        rtp=96,
    )
    return provider


def _round(player, provider):
    """A round, so the walk covers the round's page too (the admin walk opens the first
    object of every registered model)."""
    from games.models import Round

    return Round.objects.create(
        provider=provider,
        external_id="sample-round",
        player=player,
        game=provider.games.first(),
        currency="EUR",
        total_bet=100,
        total_win=50,
    )


def _payment(player):
    """A deposit with a notification, so the walk opens the payment's page, the
    notification's page and the replay confirmation."""
    from payments.models import Notification, Payment, PaymentMethod

    payment = Payment.objects.create(
        kind="deposit", player=player, provider="adyen", amount=2500, currency="EUR", state="initiated"
    )
    PaymentMethod.objects.create(
        player=player, provider="adyen", type="card", last_four="1111", fingerprint="f"
    )
    return Notification.objects.create(provider="adyen", body="{}", state="failed", payment=payment)


def _payments_part3(player) -> dict:
    """A withdrawal (the queue's review page), a chargeback alert, a provider setting and a
    reconciliation run with a line, so the walk opens their pages too."""
    from payments.models import (
        ChargebackAlert,
        Payment,
        ProviderSetting,
        ReconciliationLine,
        ReconciliationRun,
    )

    withdrawal = Payment.objects.create(
        kind="withdrawal", player=player, provider="adyen", amount=5000, currency="EUR", state="in_review"
    )
    deposit = Payment.objects.create(
        kind="deposit", player=player, provider="adyen", amount=2500, currency="EUR", state="reversed"
    )
    alert = ChargebackAlert.objects.create(payment=deposit, amount=2500, from_player=0, lost=2500)
    ProviderSetting.objects.create(provider="adyen", market="MT", currency="EUR")
    run = ReconciliationRun.objects.create(
        provider="adyen", file_name="r.csv", period_from="2026-01-01", period_to="2026-01-02"
    )
    ReconciliationLine.objects.create(run=run, result="missing_ours", provider_reference="X")
    return {"withdrawal": withdrawal.pk, "chargeback_alert": alert.pk}


def _samples(operators) -> dict:
    """One real object for each kind of id a console view takes. A console view whose
    sample is missing here fails the test: add it."""
    approval = ApprovalRequest.objects.create(
        action="backoffice.grant_administrator",
        payload={"user_id": 0},
        summary="sample",
        reason="sample",
        requested_by=operators["admin2"],
    )
    player = Player.objects.create(
        jurisdiction="MT", currency="EUR", first_name="Sample", last_name="Player", national_id_last4="1234"
    )
    from compliance.models import Jurisdiction

    return {
        "operator": operators["support"].pk,
        "approval": approval.pk,
        "player": player.pk,
        "jurisdiction": Jurisdiction.objects.get(code="MT").pk,
        "kyc_document": _kyc_document(player).pk,
        "exclusion": _exclusion(player).pk,
        "rg_alert": _rg_alert(player).pk,
        "screening_match": _screening_match(player).pk,
        "aml_alert": _aml_alert(player).pk,
        "aml_scan_run": _aml_scan_run(),
        **_aml_case(player, operators),
        "api_client": _api_client().pk,
        "game_provider": (provider := _game_provider()).pk,
        "round": _round(player, provider).pk,
        "notification": _payment(player).pk,
        **_payments_part3(player),
    }


def _urls(samples) -> list[tuple[str, set[str] | None]]:
    """(url, permissions any of which opens it; None: any operator)."""
    urls = [(reverse("admin:index"), None)]
    for model, _model_admin in admin.site._registry.items():
        opts = model._meta
        perms = {f"{opts.app_label}.view_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"}
        urls.append((reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), perms))
        # The object page too (the player page is the Player's), for any object that exists.
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append((reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]), perms))
    for v in console.views():
        kwargs = {k: samples[s] for k, s in v.sample_kwargs.items()}
        urls.append(
            (reverse(f"admin:{v.name}", kwargs=kwargs), None if v.permission is None else {v.permission})
        )
    return urls


def test_every_console_url_for_every_role(client, operators):
    samples = _samples(operators)
    urls = _urls(samples)
    assert len(urls) > 8
    mismatches = []
    for role, key in ROLE_USERS.items():
        client.force_login(operators[key])
        granted = roles.role_permissions(role)
        for url, needs in urls:
            expected = 200 if needs is None or needs & granted else 403
            got = client.get(url).status_code
            if got != expected:
                mismatches.append(f"{role} {url}: expected {expected}, got {got}")
        client.logout()
    assert not mismatches, "\n".join(mismatches)


def test_anonymous_is_sent_to_sign_in_everywhere(client, operators):
    for url, _needs in _urls(_samples(operators)):
        r = client.get(url)
        assert r.status_code == 302, url
        # The admin's own login page only forwards to allauth's: one door.
        follow = client.get(r["Location"])
        assert follow.status_code == 302 and follow["Location"].startswith("/accounts/login/"), url


def test_role_map_permissions_all_exist(db):
    # sync_roles raises on a permission the map names that does not exist.
    counts = roles.sync_roles()
    assert set(counts) == set(roles.ROLES)
