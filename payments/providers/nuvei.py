"""Nuvei (SafeCharge) DMN checksum. The adapter is part 2 of the payments work.

advanceResponseChecksum = lowercase hex SHA-256 of secret + totalAmount + currency +
responseTimeStamp + PPP_TransactionID + Status + productId, over the raw posted strings
(amounts are not reformatted). Checked against payments/tests/vectors/nuvei.json."""

import hashlib
import hmac

CHECKSUM_FIELDS = ("totalAmount", "currency", "responseTimeStamp", "PPP_TransactionID", "Status", "productId")


def dmn_checksum(fields: dict[str, str], secret: str) -> str:
    text = secret + "".join(fields.get(f, "") for f in CHECKSUM_FIELDS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dmn_valid(fields: dict[str, str], secret: str, checksum: str | None = None) -> bool:
    """`checksum` defaults to the DMN's own advanceResponseChecksum field."""
    given = (checksum if checksum is not None else fields.get("advanceResponseChecksum", "")).lower()
    return hmac.compare_digest(dmn_checksum(fields, secret).encode(), given.encode("utf-8"))
