"""Payz (ex-ecoPayz) checksums. The adapter is part 2 of the payments work.

- Status notification (form field XML): lowercase hex MD5 of the raw XML with the text of
  <Checksum> replaced by the merchant password.
- Our answer: the response XML with the password in <Checksum>, CR/LF removed, MD5'd;
  the hash then replaces the password.
- Payment page request: MD5 of the field values concatenated in order + the password.
Checked against payments/tests/vectors/payz.json."""

import hashlib
import hmac
import re
from xml.sax.saxutils import escape

_CHECKSUM = re.compile(r"<Checksum>([^<]*)</Checksum>")
_XML_DECL = '<?xml version="1.0" encoding="utf-8"?>'


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - the provider's scheme


def notification_checksum(xml: str, password: str) -> str:
    return _md5(_CHECKSUM.sub(f"<Checksum>{password}</Checksum>", xml, count=1))


def notification_valid(xml: str, password: str) -> bool:
    m = _CHECKSUM.search(xml)
    if m is None:
        return False
    return hmac.compare_digest(
        notification_checksum(xml, password).encode(), m.group(1).strip().lower().encode()
    )


def response_xml(*, status: str, code: str, description: str, password: str) -> str:
    """Our SVSPurchaseStatusNotificationResponse, checksummed."""

    def doc(checksum: str) -> str:
        return (
            f"{_XML_DECL}<SVSPurchaseStatusNotificationResponse><TransactionResult>"
            f"<Description>{escape(description)}</Description><Code>{escape(code)}</Code></TransactionResult>"
            f"<Status>{escape(status)}</Status><Authentication><Checksum>{checksum}</Checksum></Authentication>"
            "</SVSPurchaseStatusNotificationResponse>"
        )

    signing = doc(escape(password)).replace("\r", "").replace("\n", "")
    return doc(_md5(signing))


def request_checksum(values: list[str], password: str) -> str:
    return _md5("".join(values) + password)
