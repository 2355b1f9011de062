"""API keys of the platform API's clients. A key is `pbk_<prefix>_<secret>`: the prefix
finds the row, the SHA-256 of the whole key is compared in constant time. The key has
256 bits of entropy, so a fast hash is enough (nothing to brute-force); only the hash
is stored and the key is shown once."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from ninja.security import HttpBearer

from . import audit
from .errors import DomainError
from .models import ApiClient

KEY_PREFIX = "pbk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write a minute per client


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_client_create(*, name: str, actor=None) -> tuple[ApiClient, str]:
    """Create a client; returns it with its key (the only time the key exists in clear)."""
    name = (name or "").strip()
    if not name:
        raise DomainError("name_required", "Give the client a name.", field="name")
    if ApiClient.objects.filter(name=name).exists():
        raise DomainError("name_taken", f"An API client named {name!r} already exists.", field="name")
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    client = ApiClient.objects.create(name=name, key_prefix=prefix, key_hash=_hash(key))
    audit.record(actor=actor, action="backoffice.api_client.create", target=client, after={"name": name})
    return client, key


@transaction.atomic
def api_client_deactivate(*, client_id: int, actor=None, note: str = "") -> ApiClient:
    client = ApiClient.objects.select_for_update().get(pk=client_id)
    if client.is_active:
        client.is_active = False
        client.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            action="backoffice.api_client.deactivate",
            target=client,
            before={"is_active": True},
            after={"is_active": False},
            note=note,
        )
    return client


def api_client_for_key(key: str) -> ApiClient | None:
    """The active client owning `key`, or None."""
    if not key.startswith(KEY_PREFIX) or key.count("_") < 2:
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    client = ApiClient.objects.filter(key_prefix=prefix, is_active=True).first()
    if client is None or not hmac.compare_digest(client.key_hash, _hash(key)):
        return None
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; request.auth is the ApiClient."""

    def authenticate(self, request, token: str) -> ApiClient | None:
        return api_client_for_key(token.strip())


def actor_label(request) -> str:
    return f"api:{request.auth.name}"
