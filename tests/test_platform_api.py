"""The platform API as the casino front end uses it: auth, register, read, update,
sessions, balance, errors in one shape, nothing half-written, the OpenAPI document."""

import json

import pytest
from django.core.management import call_command

from backoffice.apiclients import api_client_create, api_client_deactivate
from backoffice.models import ApiClient, AuditEvent
from players.models import Player, PlayerSession

pytestmark = pytest.mark.django_db
BASE = "/api/platform/v1"


@pytest.fixture
def key(db):
    _client, key = api_client_create(name="frontend")
    return key


@pytest.fixture
def api(client, key):
    def call(method: str, path: str, body=None, auth: str | None = key):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {auth}"} if auth else {}
        data = json.dumps(body) if body is not None else None
        return getattr(client, method)(f"{BASE}{path}", data=data, content_type="application/json", **headers)

    return call


def _player(**extra) -> dict:
    return {
        "jurisdiction": "SE",
        "email": "Lisa.Berg@example.se",
        "phone": "+46 70 555 12 34",
        "first_name": "Lisa",
        "last_name": "Berg",
        "date_of_birth": "1990-05-17",
        "national_id": "19900517-1234",
        "consents": {"email": True, "sms": False},
        **extra,
    }


def _error(r, status: int, code: str, field: str | None = "__any__") -> dict:
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    if field != "__any__":
        assert err["field"] == field
    return err


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, "nonsense", "pbk_000000000000_wrong"])
def test_missing_or_bad_key_is_401(api, auth):
    _error(api("get", "/players/PANYTHING", auth=auth), 401, "unauthorized")


def test_a_deactivated_client_is_refused(api, key):
    api_client_deactivate(client_id=ApiClient.objects.get(name="frontend").pk)
    _error(api("post", "/players", _player()), 401, "unauthorized")
    assert Player.objects.count() == 0


def test_a_good_key_with_one_character_changed_is_refused(api, key):
    bad = key[:-1] + ("A" if key[-1] != "A" else "B")
    _error(api("get", "/players/PX", auth=bad), 401, "unauthorized")


def test_create_api_client_prints_the_key_once_and_stores_a_hash(capsys, client):
    call_command("create_api_client", "affiliate-portal")
    key = capsys.readouterr().out.splitlines()[1]
    stored = ApiClient.objects.get(name="affiliate-portal")
    assert key.startswith("pbk_") and key not in (stored.key_hash, stored.key_prefix)
    r = client.get(f"{BASE}/players/PNONE", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 404
    stored.refresh_from_db()
    assert stored.last_used_at is not None


# --- players ----------------------------------------------------------------------------------


def test_register_answers_201_with_the_player_and_audits_the_client(api):
    r = api("post", "/players", _player())
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["id"].startswith("P") and body["status"] == "active"
    assert body["email"] == "lisa.berg@example.se" and body["phone"] == "+46705551234"
    assert body["currency"] == "SEK"
    assert (
        body["national_id_masked"] == "\u2022\u2022\u2022\u20221234" and "19900517" not in r.content.decode()
    )
    assert body["consents"]["email"]["granted"] is True
    assert body["consents"]["email"]["source"] == "registration"
    event = AuditEvent.objects.get(action="players.player.register")
    assert event.actor is None and event.actor_label == "api:frontend"


def test_get_player_and_unknown_player(api):
    public_id = api("post", "/players", _player()).json()["id"]
    r = api("get", f"/players/{public_id.lower()}")
    assert r.status_code == 200 and r.json()["first_name"] == "Lisa"
    _error(api("get", "/players/P2222222222"), 404, "player_not_found")
    _error(api("patch", "/players/P2222222222", {"city": "Lund"}), 404, "player_not_found")
    _error(api("post", "/players/P2222222222/sessions", {"event": "login"}), 404, "player_not_found")
    _error(api("get", "/players/P2222222222/balance"), 404, "player_not_found")


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ({"email": "not-an-email"}, 400, "invalid_email", "email"),
        ({"jurisdiction": "US"}, 400, "unknown_market", "jurisdiction"),
        ({"jurisdiction": "SWE"}, 422, "validation_error", "jurisdiction"),
        ({"date_of_birth": "17/05/1990"}, 422, "validation_error", "date_of_birth"),
        ({"date_of_birth": "2015-01-01"}, 400, "underage", "date_of_birth"),
        ({"currency": "EUR"}, 400, "currency_not_offered", "currency"),
        ({"favourite_colour": "green"}, 422, "validation_error", "favourite_colour"),
        ({"consents": {"email": "maybe"}}, 422, "validation_error", "consents.email"),
        ({"phone": "call me"}, 400, "invalid_phone", "phone"),
        ({"city": "Lund\u0000"}, 422, "validation_error", "city"),
        ({"first_name": "x" * 101}, 422, "validation_error", "first_name"),
    ],
)
def test_validation_errors_name_the_field_and_write_nothing(api, body, status, code, field):
    events = AuditEvent.objects.count()
    r = api("post", "/players", _player(**body))
    _error(r, status, code, field)
    assert Player.objects.count() == 0 and AuditEvent.objects.count() == events


def test_missing_required_field_and_broken_json(api, client, key):
    body = _player()
    del body["jurisdiction"]
    _error(api("post", "/players", body), 422, "validation_error", "jurisdiction")
    r = client.post(
        f"{BASE}/players",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert r.status_code in (400, 422) and "error" in r.json()
    assert Player.objects.count() == 0


def test_duplicate_email_is_refused(api):
    api("post", "/players", _player())
    _error(api("post", "/players", _player(email="LISA.BERG@example.se")), 400, "email_taken", "email")
    assert Player.objects.count() == 1


def test_patch_changes_only_what_is_sent_and_audits_it(api):
    public_id = api("post", "/players", _player(city="Lund")).json()["id"]
    r = api("patch", f"/players/{public_id}", {"city": "Malmö", "consents": {"sms": True}})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["city"] == "Malmö" and body["email"] == "lisa.berg@example.se"
    assert body["consents"]["sms"]["granted"] is True and body["consents"]["sms"]["source"] == "api:frontend"
    event = AuditEvent.objects.get(action="players.player.update")
    assert event.actor_label == "api:frontend"
    assert event.before == {"city": "Lund", "consent_sms": False}
    assert event.after == {"city": "Malmö", "consent_sms": True}


def test_patch_refused_half_way_writes_nothing(api):
    public_id = api("post", "/players", _player(city="Lund")).json()["id"]
    other = api("post", "/players", _player(email="other@example.se")).json()["id"]
    assert other
    r = api("patch", f"/players/{public_id}", {"city": "Malmö", "email": "other@example.se"})
    _error(r, 400, "email_taken", "email")
    assert Player.objects.get(public_id=public_id).city == "Lund"
    assert not AuditEvent.objects.filter(action="players.player.update").exists()


# --- sessions and balance ----------------------------------------------------------------------


def test_login_then_logout(api):
    public_id = api("post", "/players", _player()).json()["id"]
    r = api(
        "post",
        f"/players/{public_id}/sessions",
        {"event": "login", "ip": "203.0.113.9", "device_id": "dev-42", "user_agent": "Safari"},
    )
    assert r.status_code == 201, r.content
    sid = r.json()["session_id"]
    s = PlayerSession.objects.get(pk=sid)
    assert s.ip == "203.0.113.9" and s.reported_by == "api:frontend"
    r = api("post", f"/players/{public_id}/sessions", {"event": "logout", "session_id": sid})
    assert r.status_code == 200 and r.json()["ended_at"] and r.json()["duration_seconds"] >= 0
    assert Player.objects.get(public_id=public_id).last_seen_at is not None


def test_session_errors(api):
    public_id = api("post", "/players", _player()).json()["id"]
    _error(
        api("post", f"/players/{public_id}/sessions", {"event": "logout"}),
        422,
        "validation_error",
        "session_id",
    )
    _error(
        api("post", f"/players/{public_id}/sessions", {"event": "login", "ip": "999.1.1.1"}),
        422,
        "validation_error",
        "ip",
    )
    _error(api("post", f"/players/{public_id}/sessions", {"event": "nap"}), 422, "validation_error", "event")
    r = api("post", f"/players/{public_id}/sessions", {"event": "logout", "session_id": 10**9})
    _error(r, 404, "session_not_found", "session_id")
    r = api("post", f"/players/{public_id}/sessions", {"event": "logout", "session_id": 10**30})
    _error(r, 422, "validation_error", "session_id")
    assert PlayerSession.objects.count() == 0


def test_balance_is_decimal_strings_in_major_units(api):
    public_id = api("post", "/players", _player()).json()["id"]
    r = api("get", f"/players/{public_id}/balance")
    assert r.status_code == 200, r.content
    assert r.json() == {
        "currency": "SEK",
        "cash": "0.00",
        "bonus": "0.00",
        "withdrawal_pending": "0.00",
        "withdrawable": "0.00",
    }


def test_balance_after_a_credit(api, operators):
    from backoffice.money import Money
    from wallet import services as wallet_services

    public_id = api("post", "/players", _player()).json()["id"]
    player = Player.objects.get(public_id=public_id)
    wallet_services.adjustment_request(
        player_id=player.pk,
        amount=Money(2500, "SEK"),
        direction="credit",
        reason="goodwill",
        reference="T-1",
        actor=operators["finance"],
    )
    body = api("get", f"/players/{public_id}/balance").json()
    assert body["cash"] == "25.00" and body["withdrawable"] == "25.00" and body["currency"] == "SEK"


# --- the document and CSRF ---------------------------------------------------------------------


def test_openapi_document_is_served(client):
    r = client.get(f"{BASE}/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["info"]["title"] == "Pitboss platform API"
    paths = doc["paths"]
    assert f"{BASE}/players" in paths and f"{BASE}/players/{{public_id}}/balance" in paths


def test_api_needs_no_csrf_token(key):
    from django.test import Client

    r = Client(enforce_csrf_checks=True).post(
        f"{BASE}/players",
        data=json.dumps(_player()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert r.status_code == 201
