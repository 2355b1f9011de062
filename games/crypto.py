"""Provider secrets at rest: Fernet (AES-128-CBC + HMAC) with a key derived by HKDF from
settings.GAME_PROVIDER_SECRET_KEY (default: SECRET_KEY), as players/national_id.py does.

The wallet API needs the secret itself to check each request's HMAC, so it is encrypted,
not hashed."""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class ProviderSecretUnreadable(Exception):
    """The stored ciphertext does not open with the configured key (key changed?)."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pitboss/games/provider-secret/v1")
    return Fernet(base64.urlsafe_b64encode(derived.derive(key.encode())))


def _current() -> Fernet:
    return _fernet(getattr(settings, "GAME_PROVIDER_SECRET_KEY", None) or settings.SECRET_KEY)


def encrypt(secret: str) -> str:
    return _current().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _decrypt(token, getattr(settings, "GAME_PROVIDER_SECRET_KEY", None) or settings.SECRET_KEY)


@lru_cache(maxsize=256)
def _decrypt(token: str, key: str) -> str:
    # Cached by ciphertext and key: the wallet API verifies every spin's signature, and a
    # rotation writes a new ciphertext, so nothing stale is ever served.
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ProviderSecretUnreadable from None
