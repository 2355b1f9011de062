"""Game launch through the platform API: a token for an allowed player, the gate's
reason otherwise."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.apiclients import api_client_create
from compliance import rg
from compliance.models import KycProfile
from games.models import Game, GameSession
from games.services import provider_create
from players.models import Player

pytestmark = pytest.mark.django_db
URL = "/api/platform/v1/game-sessions"


@pytest.fixture
def auth(db):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_client_create(name='frontend')[1]}"}


@pytest.fixture
def game(db):
    provider, _secret = provider_create(code="northlight", name="Northlight Studios")
    return Game.objects.create(
        provider=provider,
        external_code="frost",
        code="northlight:frost",
        title="Frost Reels",
        category="slots",
        rtp="96.10",
        markets=["MT", "GB"],
    )


def _start(client, auth, player, code):
    return client.post(
        URL,
        data=json.dumps({"player_id": player.public_id, "game_code": code}),
        content_type="application/json",
        **auth,
    )


def test_an_allowed_player_gets_a_token_that_expires(client, auth, game):
    p = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="G", last_name="S")
    r = _start(client, auth, p, game.code)
    assert r.status_code == 201, r.content
    s = GameSession.objects.get(token=r.json()["token"])
    assert s.player == p and s.game == game
    assert timezone.now() < s.expires_at <= timezone.now() + timedelta(hours=4, seconds=5)


def test_refusals_carry_the_gate_reason_and_create_no_session(client, auth, game):
    excluded = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="E", last_name="X")
    rg.exclusion_start(player_id=excluded.pk, kind="self_exclusion", ends_at=None, actor=None, source="api:t")
    r = _start(client, auth, excluded, game.code)
    assert r.status_code == 403 and r.json()["error"]["code"] == "self_excluded"
    unverified_gb = Player.objects.create(jurisdiction="GB", currency="GBP", first_name="U", last_name="V")
    KycProfile.objects.create(player=unverified_gb, level=0)
    r = _start(client, auth, unverified_gb, game.code)
    assert r.status_code == 403 and r.json()["error"]["code"] == "kyc_required_before_play"
    se = Player.objects.create(jurisdiction="SE", currency="SEK", first_name="S", last_name="E")
    r = _start(client, auth, se, game.code)
    assert r.status_code == 400 and r.json()["error"]["code"] == "game_not_offered"
    r = _start(client, auth, se, "nobody:nothing")
    assert r.status_code == 404 and r.json()["error"]["field"] == "game_code"
    assert not GameSession.objects.filter(player__in=[excluded, unverified_gb, se]).exists()
