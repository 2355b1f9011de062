"""Payz (ex-ecoPayz): checksums and the adapter.

- Status notification (form field XML): lowercase hex MD5 of the raw XML with the text of
  <Checksum> replaced by the merchant password.
- Our answer: the response XML with the password in <Checksum>, CR/LF removed, MD5'd;
  the hash then replaces the password.
- Payment page request: MD5 of the field values concatenated in order + the password.
Checked against payments/tests/vectors/payz.json.

The adapter: a deposit is a redirect to the payment page with the request checksum (no
API call); the status notification (form field XML, SVSPurchaseStatusNotificationRequest)
is verified and answered with our checksummed SVSPurchaseStatusNotificationResponse.
Status 4 is a successful payment waiting for our confirmation: credited and answered
Confirmed; 1 and 2 are in progress (pending, answered OK); 3 with a non-zero Result.Code
is a failure (answered OK); 5 is recorded for an operator (its meaning is not in the
specification we have).

Payouts (the old ecoPayz specification's SOAP `MerchantAPIService.asmx` `Payout`; whether
Payz still serves it is unconfirmed [I]): MerchantID, MerchantPassword,
MerchantAccountNumber, ClientAccountNumber (the player's Payz account, from their newest
verified Status 4 deposit notification), Amount in minor units, TxID = our reference,
Currency. ErrorCode 0 -> sent with the SvsTxID; another code -> refused. Its confirmation
is our reading [I]: a checksummed status notification on the payout's TxID (Status 4 ->
paid, 3 with an error code -> failed; payments.withdrawals maps them)."""

import hashlib
import hmac
import re
from urllib.parse import parse_qs, urlencode
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse

from .. import http
from .base import (
    Ack,
    DepositStart,
    EventType,
    MalformedNotification,
    Parsed,
    PayoutRefused,
    ProviderAdapter,
    ProviderError,
    ProviderEvent,
    RefundNotSupported,
    Verdict,
)
from .common import decimal, to_minor, webhook_url

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


# --- the adapter -----------------------------------------------------------------------------------

PAGE_PATH = "/PrivateArea/WithdrawOnlineTransfer.aspx"
# The payment-page fields, in the order the request checksum concatenates them.
PAGE_FIELDS = (
    "PaymentPageID",
    "MerchantAccountNumber",
    "CustomerIdAtMerchant",
    "TxID",
    "Amount",
    "Currency",
    "MerchantFreeText",
    "OnSuccessUrl",
    "OnFailureUrl",
    "TransferUrl",
)
_FORBIDDEN_XML = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def page_fields(
    *, reference: str, amount: str, currency: str, customer: str, password: str
) -> dict[str, str]:
    values = {
        "PaymentPageID": settings.PAYZ_PAYMENT_PAGE_ID,
        "MerchantAccountNumber": settings.PAYZ_MERCHANT_ACCOUNT_NUMBER,
        "CustomerIdAtMerchant": customer,
        "TxID": reference,
        "Amount": amount,
        "Currency": currency,
        "MerchantFreeText": f"Deposit {reference}",
        "OnSuccessUrl": settings.PAYMENTS_RETURN_URL,
        "OnFailureUrl": settings.PAYMENTS_RETURN_URL,
        "TransferUrl": webhook_url("payz"),
    }
    values["Checksum"] = request_checksum([values[f] for f in PAGE_FIELDS], password)
    return values


def _text(root, path: str) -> str:
    node = root.find(path)
    return (node.text or "").strip() if node is not None else ""


def parse_notification(body: bytes) -> tuple[str, ElementTree.Element]:
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedNotification(f"not a form post: {exc}") from None
    xml = (form.get("XML") or [""])[0]
    if not xml:
        raise MalformedNotification("no XML field")
    if _FORBIDDEN_XML.search(xml):  # no DTDs or entities: nothing to expand
        raise MalformedNotification("XML with a DOCTYPE or ENTITY")
    try:
        root = ElementTree.fromstring(xml.encode("utf-8"))
    except ElementTree.ParseError as exc:
        raise MalformedNotification(f"not XML: {exc}") from None
    if root.tag != "SVSPurchaseStatusNotificationRequest":
        raise MalformedNotification(f"root is {root.tag}, not SVSPurchaseStatusNotificationRequest")
    return xml, root


PAYOUT_PATH = "/services/MerchantAPIService.asmx"  # [I]
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def payout_xml(fields: dict[str, str]) -> str:
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return (
        f'{_XML_DECL}<soap:Envelope xmlns:soap="{_SOAP}"><soap:Body>'
        f'<Payout xmlns="http://www.ecocard.com/merchantAPI/">{body}</Payout></soap:Body></soap:Envelope>'
    )


def soap_values(xml: bytes | str) -> dict[str, str]:
    """Every leaf element's text by local name (namespaces dropped); refuses DTDs."""
    text = xml.decode("utf-8", "replace") if isinstance(xml, bytes) else xml
    if _FORBIDDEN_XML.search(text):
        raise ValueError("XML with a DOCTYPE or ENTITY")
    root = ElementTree.fromstring(text.encode("utf-8"))
    return {el.tag.rsplit("}", 1)[-1]: (el.text or "").strip() for el in root.iter() if len(el) == 0}


def payout_account(payment) -> str:
    """The player's Payz account (SVSCustomerAccount) from their newest verified Status 4
    deposit notification: the payout goes back to the wallet that paid (closed loop)."""
    from ..models import Notification

    rows = (
        Notification.objects.filter(
            provider="payz", verdict="valid", payment__player_id=payment.player_id, payment__kind="deposit"
        )
        .order_by("-received_at", "-id")
        .values_list("body", flat=True)[:50]
    )
    for body in rows:
        try:
            _xml, root = parse_notification(body.encode("utf-8"))
        except MalformedNotification:
            continue
        account = _text(root, "StatusReport/SVSTransaction/SVSCustomerAccount")
        if _text(root, "StatusReport/Status") == "4" and account:
            return account
    return ""


class PayzAdapter(ProviderAdapter):
    code = "payz"
    name = "Payz"

    def __init__(self, *, password: str | None = None):
        self.password = password if password is not None else settings.PAYZ_MERCHANT_PASSWORD

    def start_deposit(self, payment) -> DepositStart:
        """The payment page takes a signed GET: nothing to call before the redirect."""
        fields = page_fields(
            reference=payment.reference,
            amount=decimal(payment.amount, payment.currency),
            currency=payment.currency,
            customer=payment.player.public_id,
            password=self.password,
        )
        url = settings.PAYZ_API_BASE_URL.rstrip("/") + PAGE_PATH + "?" + urlencode(fields)
        return DepositStart(redirect_url=url)

    def refund(self, payment, amount: int) -> str:
        """The Payz specification we have (payment page, status notification, SOAP Payout)
        has no refund of a purchase: return the money to the player with a withdrawal."""
        raise RefundNotSupported(self.name)

    def send_payout(self, payment) -> str:
        """SOAP `Payout` [I]; Payz's SvsTxID. TxID = our reference (a repeated TxID is
        expected to be refused or answered with the same transaction [I])."""
        account = payout_account(payment)
        if not account:
            raise PayoutRefused("no Payz account is known for this player (no confirmed Payz deposit)")
        fields = {
            "MerchantID": settings.PAYZ_MERCHANT_ID,
            "MerchantPassword": self.password,
            "MerchantAccountNumber": settings.PAYZ_MERCHANT_ACCOUNT_NUMBER,
            "ClientAccountNumber": account,
            "Amount": str(payment.amount),
            "TxID": payment.reference,
            "Currency": payment.currency,
        }
        url = settings.PAYZ_API_BASE_URL.rstrip("/") + PAYOUT_PATH
        r = http.post_xml(
            url, payout_xml(fields), headers={"SOAPAction": "http://www.ecocard.com/merchantAPI/Payout"}
        )
        if r.status >= 500 or r.status in (408, 429):
            raise ProviderError(f"Payz Payout answered HTTP {r.status}")
        try:
            values = soap_values(r.body)
        except (ValueError, ElementTree.ParseError):
            raise ProviderError(f"Payz Payout answered HTTP {r.status}, not XML") from None
        code = values.get("ErrorCode", "")
        if code != "0" or not values.get("SvsTxID"):
            raise PayoutRefused(
                f"Payz refused the payout: {code or r.status} {values.get('Message', '')}".strip()
            )
        return values["SvsTxID"]

    def parse_and_verify(self, headers: dict[str, str], body: bytes) -> Parsed:
        xml, root = parse_notification(body)
        status = _text(root, "StatusReport/Status")
        tx, payz_id = _text(root, "Request/TxID"), _text(root, "StatusReport/SVSTransaction/Id")
        amount, currency = _text(root, "Request/Amount"), _text(root, "Request/Currency")
        if not (status and tx and amount and currency):
            raise MalformedNotification("Status, Request/TxID, Amount or Currency is missing")
        if not notification_valid(xml, self.password):
            return Parsed(
                Verdict.INVALID,
                detail=f"MD5 checksum refused (TxID {tx})",
                reply={"status": "InvalidRequest"},
            )
        code = _text(root, "StatusReport/SVSTransaction/Result/Code")
        answer = "Confirmed" if status in ("4", "5") else "OK"
        if status == "4":
            kind = EventType.SUCCEEDED
        elif status in ("1", "2") or (status == "3" and code in ("", "0")):
            kind = EventType.PENDING
        elif status == "3":
            kind = EventType.FAILED
        else:
            return Parsed(
                Verdict.VALID,
                ignored=[(f"Status {status} for TxID {tx} ({payz_id})", True)],
                reply={"status": answer},
            )
        event = ProviderEvent(
            payment_reference=tx,
            provider_reference=payz_id,
            type=kind,
            amount=to_minor(amount, currency),
            currency=currency,
            notification_id=f"payz:{payz_id or tx}:{status}",
            method="payz",
            reason=_text(root, "StatusReport/SVSTransaction/Result/Description")[:300],
        )
        return Parsed(Verdict.VALID, events=[event], reply={"status": answer})

    def acknowledge(self, ack: Ack, parsed: Parsed | None = None) -> HttpResponse:
        reply = parsed.reply if parsed is not None else {}
        if ack == Ack.ACCEPTED:
            status, http_status, description = reply.get("status", "OK"), 200, ""
        elif ack == Ack.REJECTED:
            status, http_status, description = "InvalidRequest", 401, "checksum refused"
        elif ack == Ack.MALFORMED:
            status, http_status, description = "InvalidRequest", 400, "malformed notification"
        else:
            return HttpResponse("processing failed, retry later", status=500, content_type="text/plain")
        code = "0" if http_status == 200 else "1"
        xml = response_xml(status=status, code=code, description=description, password=self.password)
        return HttpResponse(xml, status=http_status, content_type="text/xml; charset=utf-8")
