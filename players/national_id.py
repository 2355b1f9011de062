"""National identity numbers: encrypted at rest (Fernet: AES-128-CBC + HMAC), found by a
keyed hash (HMAC-SHA256), shown masked (last four characters).

Both keys are derived with HKDF from one secret, settings.NATIONAL_ID_KEY, so an
operator configures one value. The hash is keyed because national ids are short and
structured: a plain SHA-256 would be reversed by trying every birth date."""

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

INSECURE_DEFAULT_PREFIX = "insecure-dev-"
_SEPARATORS = re.compile(r"[\s\-./]")


class NationalIdUnreadable(Exception):
    """The stored ciphertext does not open with the configured key (key changed?)."""


def normalize(value: str) -> str:
    """One spelling per number: upper case, without spaces, dashes, dots or slashes
    ("19811228-9874" and "198112289874" are the same; Finland's century sign A/+ is kept)."""
    return _SEPARATORS.sub("", value or "").upper()


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[Fernet, bytes]:
    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())

    fernet = Fernet(base64.urlsafe_b64encode(derive(b"pitboss/national-id/encrypt/v1")))
    return fernet, derive(b"pitboss/national-id/search-hash/v1")


def _current_keys() -> tuple[Fernet, bytes]:
    return _keys(settings.NATIONAL_ID_KEY)


def search_hash(value: str) -> str:
    """The keyed hash stored beside the ciphertext; equal numbers give equal hashes."""
    return hmac.new(_current_keys()[1], normalize(value).encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    return _current_keys()[0].encrypt(normalize(value).encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current_keys()[0].decrypt(token.encode()).decode()
    except InvalidToken:
        raise NationalIdUnreadable from None


def last4(value: str) -> str:
    return normalize(value)[-4:]


def protect(value: str) -> dict[str, str]:
    """The three stored fields for a number ("" clears them)."""
    if not normalize(value):
        return {"national_id_encrypted": "", "national_id_hash": "", "national_id_last4": ""}
    return {
        "national_id_encrypted": encrypt(value),
        "national_id_hash": search_hash(value),
        "national_id_last4": last4(value),
    }
