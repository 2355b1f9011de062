"""Writes on game providers. Secrets are returned once to the caller and stored encrypted."""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError

from . import crypto
from .models import GameProvider

PROVIDER_CODE_TAKEN = "A game provider with this code already exists."
PROVIDER_CODE_INVALID = "A provider code is lower-case letters, digits, '-' or '_' (e.g. 'redstone')."
GRACE_HOURS_INVALID = "The grace period is between 0 and 168 hours."

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _new_secret() -> str:
    return secrets.token_hex(32)


@transaction.atomic
def provider_create(*, code: str, name: str, actor=None) -> tuple[GameProvider, str]:
    """Create a provider and return it with its secret (shown once; only the ciphertext
    is stored). Refuses a malformed or taken code."""
    code = (code or "").strip()
    if not _CODE.match(code):
        raise DomainError("provider_code_invalid", PROVIDER_CODE_INVALID, field="code")
    if GameProvider.objects.filter(code=code).exists():
        raise DomainError("provider_code_taken", PROVIDER_CODE_TAKEN, field="code")
    secret = _new_secret()
    provider = GameProvider.objects.create(
        code=code, name=name.strip() or code, secret_encrypted=crypto.encrypt(secret)
    )
    audit.record(
        actor=actor,
        action="games.provider.create",
        target=provider,
        after={"code": provider.code, "name": provider.name, "status": provider.status},
    )
    return provider, secret


@transaction.atomic
def provider_rotate_secret(*, provider_id: int, actor=None, grace_hours: int = 24, note: str = "") -> str:
    """Issue a new secret. The current one becomes the previous one and keeps verifying
    signatures for `grace_hours` (0: refused at once); a secret older than that is
    dropped. Returns the new secret (shown once)."""
    if not 0 <= grace_hours <= 168:
        raise DomainError("grace_hours_invalid", GRACE_HOURS_INVALID, field="grace_hours")
    provider = GameProvider.objects.select_for_update().get(pk=provider_id)
    now = timezone.now()
    secret = _new_secret()
    provider.previous_secret_encrypted = provider.secret_encrypted
    provider.previous_secret_expires_at = now + timedelta(hours=grace_hours)
    provider.secret_encrypted = crypto.encrypt(secret)
    provider.secret_rotated_at = now
    provider.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_rotated_at",
        ]
    )
    # Never the secrets themselves in the audit log: only when the old one stops working.
    audit.record(
        actor=actor,
        action="games.provider.rotate_secret",
        target=provider,
        after={"previous_secret_expires_at": provider.previous_secret_expires_at.isoformat()},
        note=note,
    )
    return secret


def provider_secrets(provider: GameProvider) -> list[str]:
    """The secrets that verify a signature now: the current one, and the previous one
    while its grace period lasts."""
    result = [crypto.decrypt(provider.secret_encrypted)]
    if (
        provider.previous_secret_encrypted
        and provider.previous_secret_expires_at is not None
        and timezone.now() < provider.previous_secret_expires_at
    ):
        result.append(crypto.decrypt(provider.previous_secret_encrypted))
    return result


def signature_valid(provider: GameProvider, raw_body: bytes, signature_hex: str) -> bool:
    """True when `signature_hex` is the hex HMAC-SHA256 of the raw request body (the
    bytes as received, before any JSON parsing) under one of the provider's valid
    secrets. Compared in constant time."""
    if not signature_hex:
        return False
    given = signature_hex.strip().lower().encode()
    ok = False
    for secret in provider_secrets(provider):
        expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().encode()
        # No early exit: the time taken does not tell which secret matched.
        ok |= hmac.compare_digest(expected, given)
    return ok
