"""Signing exactly as an aggregator does: a secret printed by the management command,
an HMAC-SHA256 over the raw bytes sent (whatever their spacing, key order or escapes),
and a secret rotation with its grace period."""

import hashlib
import hmac
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from games.models import Game, GameProvider
from games.services import provider_rotate_secret
from games.sessions import game_session_start
from players.models import Player

pytestmark = pytest.mark.django_db


def _provider_from_command(code: str) -> str:
    out = io.StringIO()
    call_command("create_game_provider", code, "--name", "Redstone Gaming", stdout=out)
    lines = out.getvalue().splitlines()
    secret = lines[1].strip()
    assert len(secret) == 64 and GameProvider.objects.filter(code=code).exists()
    return secret


def _post(endpoint: str, raw: bytes, code: str, signature: str):
    r = Client().generic(
        "POST",
        f"/api/wallet/v1/{endpoint}",
        raw,
        content_type="application/json",
        HTTP_X_PROVIDER=code,
        HTTP_X_SIGNATURE=signature,
    )
    assert r.status_code == 200
    return r.json()


@pytest.fixture
def launched():
    secret = _provider_from_command("redstone")
    provider = GameProvider.objects.get(code="redstone")
    Game.objects.create(
        provider=provider,
        external_code="vault",
        code="redstone:vault",
        title="Vault",
        category="slots",
        rtp="95.00",
        markets=["MT"],
    )
    player = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="Sig", last_name="Ned")
    session = game_session_start(player_id=player.pk, game_code="redstone:vault", started_via="api:test")
    return secret, session


def test_an_aggregator_signs_the_raw_bytes_with_the_secret_the_command_printed(launched):
    secret, session = launched
    # Spacing, key order and a unicode escape as an aggregator's serialiser might write them:
    # the signature is over these bytes exactly, not over a re-serialisation.
    raw = b'{ "token" : "' + session.token.encode() + b'",\n  "request_uuid": "caf\\u00e9-1" }'
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    answer = _post("authenticate", raw, "redstone", signature)
    assert answer["status"] == "OK" and answer["player_id"] == session.player.public_id
    # Upper-case hex is the same signature.
    assert _post("authenticate", raw, "redstone", signature.upper())["status"] == "OK"
    # The same JSON re-serialised compactly does not match the signature of the original bytes.
    compact = b'{"token":"' + session.token.encode() + b'","request_uuid":"caf\\u00e9-1"}'
    assert _post("authenticate", compact, "redstone", signature)["status"] == "INVALID_SIGNATURE"
    # One byte changed after signing (a tampered body) is refused.
    assert (
        _post("authenticate", raw.replace(b"1", b"2"), "redstone", signature)["status"] == "INVALID_SIGNATURE"
    )


def test_after_a_rotation_the_old_secret_works_until_the_grace_period_ends(launched):
    old, session = launched
    provider = GameProvider.objects.get(code="redstone")
    new = provider_rotate_secret(provider_id=provider.pk, grace_hours=2, note="quarterly rotation")
    raw = b'{"token": "' + session.token.encode() + b'"}'

    def status(secret):
        return _post(
            "authenticate", raw, "redstone", hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        )["status"]

    assert status(new) == "OK" and status(old) == "OK"
    with time_machine.travel(timezone.now() + timedelta(hours=2, seconds=1)):
        assert status(new) == "OK" and status(old) == "INVALID_SIGNATURE"
    provider_rotate_secret(provider_id=provider.pk, grace_hours=0, note="leaked")
    assert status(new) == "INVALID_SIGNATURE"
