"""POST /api/platform/v1/deposits: gates first, then the payment and the provider's
hosted page (the Adyen sandbox double on loopback)."""

import json

import pytest

from backoffice.apiclients import api_client_create
from compliance import rg
from payments.models import Payment
from players.services import player_suspend

from .factories import depositor

pytestmark = pytest.mark.django_db
URL = "/api/platform/v1/deposits"


@pytest.fixture
def api(client):
    _c, key = api_client_create(name="frontend")

    def call(body, auth=key):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {auth}"} if auth else {}
        return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)

    return call


def _body(player, **extra) -> dict:
    return {"player_id": player.public_id, "provider": "adyen", "amount": "25.00", "currency": "EUR", **extra}


def _error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    return err


def test_a_deposit_starts_an_adyen_session_on_the_sandbox(api, adyen):
    player = depositor()
    r = api(_body(player))
    assert r.status_code == 201, r.content
    out = r.json()
    p = Payment.objects.get()
    assert out == {"reference": p.reference, "redirect_url": p.redirect_url, "state": "initiated"}
    assert out["redirect_url"].startswith(adyen.base_url + "/checkoutshopper/pay/CS")
    assert (p.amount, p.currency, p.provider, p.kind) == (2500, "EUR", "adyen", "deposit")
    assert p.provider_reference == p.provider_data["session_id"] == adyen.sessions[p.reference]
    path, headers, sent = adyen.requests[-1]
    assert path == "/v71/sessions" and headers["x-api-key"] == "test-adyen-api-key"
    assert sent["amount"] == {"value": 2500, "currency": "EUR"} and sent["reference"] == p.reference
    assert sent["shopperReference"] == player.public_id


def test_the_sandbox_notification_for_the_session_credits_the_player(api, adyen, post_webhook):
    from wallet.selectors import player_balances

    player = depositor()
    reference = api(_body(player, amount="40.00")).json()["reference"]
    r = post_webhook(adyen.body(adyen.item("AUTHORISATION", reference, 4000, "EUR")))
    assert r.content == b"[accepted]"
    assert Payment.objects.get().state == "succeeded" and player_balances(player)["cash"] == 4000


def test_self_excluded_player_is_refused_with_the_gates_code(api, adyen):
    player = depositor()
    rg.exclusion_start(player_id=player.pk, kind="self_exclusion", ends_at=None, actor=None, source="t")
    _error(api(_body(player)), 403, "self_excluded")
    assert Payment.objects.count() == 0 and adyen.requests == []


def test_suspended_player_is_refused(api, adyen):
    player = depositor()
    player_suspend(player_id=player.pk, reason="t", actor=None, actor_label="t")
    _error(api(_body(player)), 403, "player_suspended")


def test_deposit_limit_refuses(api, adyen):
    player = depositor()
    rg.limit_set(player_id=player.pk, kind="deposit", period="day", amount=2000, actor=None, source="t")
    err = _error(api(_body(player)), 403, "deposit_limit_reached")
    assert "20.00" in err["message"]
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("provider", ["trustly", "zimpler", "nuvei", "payz"])
def test_every_provider_starts_a_deposit_through_its_adapter(api, request, provider):
    request.getfixturevalue(provider)  # the provider's sandbox double, our settings pointed at it
    r = api(_body(depositor(), provider=provider))
    assert r.status_code == 201, r.content
    p = Payment.objects.get()
    assert (p.provider, p.state, r.json()["redirect_url"]) == (provider, "initiated", p.redirect_url)


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"provider": "paypal"}, 400, "unknown_provider"),
        ({"amount": "25.001"}, 400, "bad_amount"),
        ({"amount": "0"}, 400, "bad_amount"),
        ({"amount": "-5.00"}, 400, "bad_amount"),
        ({"amount": "twenty"}, 400, "bad_amount"),
        ({"currency": "SEK"}, 400, "wrong_currency"),
        ({"currency": "XXX"}, 400, "bad_amount"),
        ({"player_id": "NOPE"}, 404, "player_not_found"),
        ({"extra": 1}, 422, "validation_error"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(api, adyen, extra, status, code):
    _error(api(_body(depositor(), **extra)), status, code)
    assert Payment.objects.count() == 0


def test_a_key_is_required(api):
    _error(api(_body(depositor()), auth=None), 401, "unauthorized")


def test_the_provider_refusing_fails_the_payment_and_answers_502(api, adyen):
    adyen.fail_next = True
    _error(api(_body(depositor())), 502, "provider_error")
    p = Payment.objects.get()
    assert p.state == "failed" and [e.to_state for e in p.events.all()] == ["initiated", "failed"]


def test_no_call_leaves_the_machine(api, settings):
    settings.ADYEN_API_BASE_URL = "https://checkout-test.adyen.com/v71"
    settings.PAYMENTS_LOOPBACK_ONLY = True
    err = _error(api(_body(depositor())), 502, "provider_error")
    assert "not loopback" in err["message"]
