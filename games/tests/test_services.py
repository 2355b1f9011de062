import hashlib
import hmac
import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from games import crypto
from games.models import GameProvider
from games.services import (
    PROVIDER_CODE_TAKEN,
    provider_create,
    provider_rotate_secret,
    provider_secrets,
    signature_valid,
)

pytestmark = pytest.mark.django_db


def _sign(secret: str, body: bytes) -> str:
    # Exactly what an aggregator does: HMAC-SHA256 of the raw bytes it sends, in hex.
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


BODY = json.dumps(
    {"player_id": "p-1", "transaction_id": "tx-1", "round_id": "r-1", "amount": 250, "currency": "EUR"},
    separators=(",", ":"),
).encode()


def test_create_returns_secret_and_never_stores_it_in_clear():
    provider, secret = provider_create(code="redstone", name="Redstone Gaming")
    assert len(secret) == 64
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM games_gameprovider WHERE id = %s", [provider.pk])
        row = cur.fetchone()
    assert all(secret not in str(value) for value in row)
    assert crypto.decrypt(provider.secret_encrypted) == secret
    events = AuditEvent.objects.filter(action="games.provider.create")
    assert events.count() == 1
    assert secret not in json.dumps(events.get().after)


def test_create_refuses_a_taken_or_malformed_code():
    provider_create(code="redstone", name="Redstone Gaming")
    with pytest.raises(DomainError) as exc:
        provider_create(code="redstone", name="Other")
    assert exc.value.message == PROVIDER_CODE_TAKEN
    with pytest.raises(DomainError):
        provider_create(code="Red Stone!", name="Other")
    assert GameProvider.objects.count() == 1


def test_signature_valid_over_the_raw_bytes():
    provider, secret = provider_create(code="redstone", name="Redstone Gaming")
    assert signature_valid(provider, BODY, _sign(secret, BODY))
    assert signature_valid(provider, BODY, _sign(secret, BODY).upper())


def test_signature_refuses_tampered_body_wrong_secret_or_missing():
    provider, secret = provider_create(code="redstone", name="Redstone Gaming")
    tampered = BODY.replace(b"250", b"25000")
    assert not signature_valid(provider, tampered, _sign(secret, BODY))
    # The same JSON re-serialised is different bytes: the signature covers bytes, not meaning.
    reformatted = json.dumps(json.loads(BODY)).encode()
    assert not signature_valid(provider, reformatted, _sign(secret, BODY))
    assert not signature_valid(provider, BODY, _sign("0" * 64, BODY))
    assert not signature_valid(provider, BODY, "")
    assert not signature_valid(provider, BODY, "not-hex")


def test_rotation_keeps_the_old_secret_during_grace_only():
    provider, old = provider_create(code="redstone", name="Redstone Gaming")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        new = provider_rotate_secret(provider_id=provider.pk, grace_hours=24, note="ticket 42")
    provider.refresh_from_db()
    assert new != old
    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False):
        assert signature_valid(provider, BODY, _sign(old, BODY))
        assert signature_valid(provider, BODY, _sign(new, BODY))
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        assert not signature_valid(provider, BODY, _sign(old, BODY))
        assert signature_valid(provider, BODY, _sign(new, BODY))
        assert provider_secrets(provider) == [new]
    event = AuditEvent.objects.get(action="games.provider.rotate_secret")
    assert event.note == "ticket 42"
    assert old not in json.dumps(event.after) and new not in json.dumps(event.after)


def test_rotation_twice_drops_the_first_secret():
    provider, first = provider_create(code="redstone", name="Redstone Gaming")
    second = provider_rotate_secret(provider_id=provider.pk)
    third = provider_rotate_secret(provider_id=provider.pk)
    provider.refresh_from_db()
    assert provider_secrets(provider) == [third, second]
    assert not signature_valid(provider, BODY, _sign(first, BODY))


def test_rotation_with_no_grace_refuses_the_old_secret_at_once():
    provider, old = provider_create(code="redstone", name="Redstone Gaming")
    provider_rotate_secret(provider_id=provider.pk, grace_hours=0)
    provider.refresh_from_db()
    assert not signature_valid(provider, BODY, _sign(old, BODY))


def test_command_prints_a_secret_that_signs():
    out = StringIO()
    call_command("create_game_provider", "northlight", "--name", "Northlight Studios", stdout=out)
    secret = out.getvalue().splitlines()[1]
    provider = GameProvider.objects.get(code="northlight")
    assert provider.name == "Northlight Studios"
    assert signature_valid(provider, BODY, _sign(secret, BODY))


def test_command_refuses_a_duplicate_code():
    call_command("create_game_provider", "northlight", "--name", "Northlight Studios", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_game_provider", "northlight", "--name", "Again", stdout=StringIO())
    assert GameProvider.objects.count() == 1


def test_database_refuses_rtp_or_contribution_out_of_range():
    from django.db import IntegrityError, transaction

    from games.models import Game

    provider, _ = provider_create(code="redstone", name="Redstone Gaming")
    for rtp, contribution in (("120", 100), ("96", 101), ("-1", 100)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Game.objects.create(
                provider=provider,
                external_code="x",
                code="redstone:x",
                title="X",
                category="slots",
                rtp=rtp,
                wagering_contribution=contribution,
            )
