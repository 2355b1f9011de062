"""Limits, exclusions and KYC documents on the platform API."""

import json
from datetime import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from backoffice.apiclients import api_client_create
from compliance.models import KycDocument, PlayerLimit
from players.models import Player

pytestmark = pytest.mark.django_db
BASE = "/api/platform/v1"
WED = datetime.fromisoformat("2026-12-02T10:00:00+00:00")


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.KYC_STORAGE_DIR = tmp_path / "kyc"


@pytest.fixture
def auth(db):
    _c, key = api_client_create(name="frontend")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def player(db):
    return Player.objects.create(jurisdiction="SE", currency="SEK", first_name="Lisa", last_name="Berg")


def _put(client, auth, player, body):
    return client.put(
        f"{BASE}/players/{player.public_id}/limits",
        data=json.dumps(body),
        content_type="application/json",
        **auth,
    )


def test_limits_put_and_get_show_pending_increase_with_its_date(client, auth, player):
    with time_machine.travel(WED, tick=False):
        r = _put(client, auth, player, {"kind": "deposit", "period": "week", "amount": "500.00"})
        assert r.status_code == 200 and r.json()["applied_immediately"] is True
        r = _put(client, auth, player, {"kind": "deposit", "period": "week", "amount": "800.00"})
        body = r.json()
        assert body["applied_immediately"] is False
        assert body["in_force"][0]["amount"] == "500.00" and body["in_force"][0]["currency"] == "SEK"
        assert body["pending"][0]["amount"] == "800.00"
        assert body["pending"][0]["effective_at"].startswith("2026-12-07T00:00:00")
        r = client.get(f"{BASE}/players/{player.public_id}/limits", **auth)
        assert r.json()["pending"][0]["amount"] == "800.00"


@pytest.mark.parametrize(
    "body,field,code",
    [
        ({"kind": "deposit", "period": "week", "amount": "5.001"}, "amount", "invalid_amount"),
        ({"kind": "deposit", "period": "week", "amount": "-5"}, "amount", "invalid_amount"),
        ({"kind": "deposit", "period": "fortnight", "amount": "5"}, "period", "validation_error"),
        ({"kind": "session", "period": "day", "amount": "1.5"}, "amount", "invalid_amount"),
        ({"kind": "deposit", "period": "day", "amount": "5", "extra": 1}, "extra", "validation_error"),
    ],
)
def test_bad_limits_answer_4xx_with_the_field_and_write_nothing(client, auth, player, body, field, code):
    r = _put(client, auth, player, body)
    assert r.status_code in (400, 422), r.content
    assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field
    assert not PlayerLimit.objects.exists()


def test_self_exclusion_through_the_api(client, auth, player):
    r = client.post(
        f"{BASE}/players/{player.public_id}/exclusions",
        data=json.dumps({"kind": "self_exclusion", "duration_days": 10}),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "exclusion_too_short"
    r = client.post(
        f"{BASE}/players/{player.public_id}/exclusions",
        data=json.dumps({"kind": "self_exclusion", "duration_days": 90, "reason": "a break"}),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201 and r.json()["in_force"] and r.json()["all_brands"]
    r = client.get(f"{BASE}/players/{player.public_id}/exclusions", **auth)
    assert len(r.json()) == 1


def test_document_upload_checks_content_not_name(client, auth, player, settings):
    url = f"{BASE}/players/{player.public_id}/documents"
    exe = SimpleUploadedFile("passport.pdf", b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf")
    r = client.post(url, {"document_type": "passport", "file": exe}, **auth)
    assert r.status_code == 415 and r.json()["error"]["code"] == "file_type_refused"
    settings.KYC_MAX_UPLOAD_BYTES = 100
    big = SimpleUploadedFile("p.pdf", b"%PDF-" + b"0" * 500, content_type="application/pdf")
    r = client.post(url, {"document_type": "passport", "file": big}, **auth)
    assert r.status_code == 413 and r.json()["error"]["field"] == "file"
    assert not KycDocument.objects.exists()
    settings.KYC_MAX_UPLOAD_BYTES = 10_000
    ok = SimpleUploadedFile("p.pdf", b"%PDF-1.4 real enough", content_type="application/pdf")
    r = client.post(url, {"document_type": "passport", "file": ok}, **auth)
    assert r.status_code == 201 and r.json()["status"] == "pending"
    r = client.post(url, {"document_type": "tax_return", "file": ok}, **auth)
    assert r.status_code == 400 and r.json()["error"]["field"] == "document_type"


def test_unknown_player_is_404(client, auth):
    r = client.get(f"{BASE}/players/PNOBODY/limits", **auth)
    assert r.status_code == 404


def test_excluded_player_cannot_log_in_to_play(client, auth, player):
    from compliance import rg

    login = {"event": "login", "ip": "10.0.0.1", "device_id": "d1"}
    r = client.post(
        f"{BASE}/players/{player.public_id}/sessions",
        data=json.dumps(login),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201
    rg.exclusion_start(player_id=player.pk, kind="self_exclusion", ends_at=None, actor=None, source="api:t")
    r = client.post(
        f"{BASE}/players/{player.public_id}/sessions",
        data=json.dumps(login),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "self_excluded"


def test_registration_is_refused_for_a_person_on_the_national_register(client, auth, operators):
    from compliance.registers import register_import

    register_import(
        register="spelpaus", file_name="s.csv", content=b"199001011239\n", actor=operators["compliance"]
    )
    body = {
        "jurisdiction": "SE",
        "email": "a@b.se",
        "first_name": "A",
        "last_name": "B",
        "date_of_birth": "1990-01-01",
        "national_id": "199001011239",
    }
    r = client.post(f"{BASE}/players", data=json.dumps(body), content_type="application/json", **auth)
    assert r.status_code == 400, r.content
    assert (
        r.json()["error"]["code"] == "national_register_excluded"
        and r.json()["error"]["field"] == "national_id"
    )
    assert not Player.objects.filter(email="a@b.se").exists()
