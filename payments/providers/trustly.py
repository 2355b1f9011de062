"""Trustly (EU JSON-RPC 1.1 API): serialization and RSA-SHA1 signatures.

Trustly signs its notifications and API responses over `method + uuid + serialize(data)`
with RSASSA-PKCS1-v1_5 and SHA-1 (base64); we sign our requests and our answers to its
notifications the same way with our private key. Pure functions, checked against every
case in payments/tests/vectors/trustly.json. The adapter (deposits, notifications, Pay N
Play) is part 2 of the payments work."""

from __future__ import annotations

import base64
import binascii
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def serialize(data) -> str:
    """Trustly's canonical form: dict keys in code-point order as `key + value`, list
    elements concatenated in their order (not sorted), null as "", scalars as str."""
    if data is None:
        return ""
    if isinstance(data, dict):
        return "".join(str(k) + serialize(data[k]) for k in sorted(data, key=str))
    if isinstance(data, list):
        return "".join(serialize(e) for e in data)
    return str(data)


def plaintext(method: str, uuid: str, data) -> str:
    return f"{method}{uuid}{serialize(data)}"


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    return serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)


def sign(method: str, uuid: str, data, private_key: rsa.RSAPrivateKey) -> str:
    raw = private_key.sign(plaintext(method, uuid, data).encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
    return base64.b64encode(raw).decode("ascii")


def verify(method: str, uuid: str, data, signature: str, public_key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature or "", validate=True)
        public_key.verify(
            raw, plaintext(method, uuid, data).encode("utf-8"), padding.PKCS1v15(), hashes.SHA1()
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def verify_notification(raw_body: str | bytes, public_key: rsa.RSAPublicKey) -> bool:
    """A notification: `method`, `params.uuid`, `params.data`, `params.signature`."""
    msg = json.loads(raw_body)
    params = msg.get("params") or {}
    return verify(
        msg.get("method", ""),
        params.get("uuid", ""),
        params.get("data"),
        params.get("signature", ""),
        public_key,
    )


def verify_response(raw_body: str | bytes, public_key: rsa.RSAPublicKey) -> bool:
    """An API response: `result.{method,uuid,data,signature}`, or for an error
    `error.error.{...}`."""
    msg = json.loads(raw_body)
    part = msg["result"] if "result" in msg else (msg.get("error") or {}).get("error") or {}
    return verify(
        part.get("method", ""), part.get("uuid", ""), part.get("data"), part.get("signature", ""), public_key
    )


def notification_answer(method: str, uuid: str, status: str, private_key: rsa.RSAPrivateKey) -> dict:
    """Our signed answer to a notification (status OK or FAILED)."""
    data = {"status": status}
    return {
        "result": {
            "signature": sign(method, uuid, data, private_key),
            "uuid": uuid,
            "method": method,
            "data": data,
        },
        "version": "1.1",
    }
