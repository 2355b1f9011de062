"""Nuvei (SafeCharge): the DMN checksum and the adapter.

advanceResponseChecksum = lowercase hex SHA-256 of secret + totalAmount + currency +
responseTimeStamp + PPP_TransactionID + Status + productId, over the raw posted strings
(amounts are not reformatted). Checked against payments/tests/vectors/nuvei.json.

- start: REST `openOrder` (checksum sha256(merchantId + merchantSiteId + clientRequestId +
  amount + currency + timeStamp + secret)) -> sessionToken; the player goes to the
  payment page with it;
- payment DMNs (form-encoded): Sale/Auth/Settle APPROVED -> succeeded, DECLINED/ERROR ->
  failed, PENDING -> pending, CANCELED -> cancelled; Credit (a refund) APPROVED -> refund;
  Void APPROVED -> cancellation; Chargeback -> chargeback. Our reference is
  clientUniqueId (merchant_unique_id in older DMNs); answered HTTP 200 "OK";
- withdrawal DMNs (a wdRequestId, no advanceResponseChecksum) belong to the withdrawal
  flow: stored, flagged, answered Postpone so nothing is paid before finance decides.
  `withdrawal_dmn_answer` phrases Approve / Decline / Postpone for that flow."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urljoin

from django.conf import settings
from django.http import HttpResponse

from .. import http
from .base import (
    Ack,
    DepositStart,
    EventType,
    MalformedNotification,
    Parsed,
    ProviderAdapter,
    ProviderError,
    ProviderEvent,
    Verdict,
)
from .common import decimal, to_minor, webhook_url

CHECKSUM_FIELDS = ("totalAmount", "currency", "responseTimeStamp", "PPP_TransactionID", "Status", "productId")


def dmn_checksum(fields: dict[str, str], secret: str) -> str:
    text = secret + "".join(fields.get(f, "") for f in CHECKSUM_FIELDS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dmn_valid(fields: dict[str, str], secret: str, checksum: str | None = None) -> bool:
    """`checksum` defaults to the DMN's own advanceResponseChecksum field."""
    given = (checksum if checksum is not None else fields.get("advanceResponseChecksum", "")).lower()
    return hmac.compare_digest(dmn_checksum(fields, secret).encode(), given.encode("utf-8"))


def request_checksum(*values: str, secret: str) -> str:
    """REST API requests: sha256 of the values in the documented order, then the secret."""
    return hashlib.sha256(("".join(values) + secret).encode("utf-8")).hexdigest()


# --- withdrawal DMNs (the withdrawal flow calls this) ------------------------------------------------

WITHDRAWAL_ANSWERS = ("Approve", "Decline", "Postpone")


def withdrawal_dmn_answer(action: str) -> HttpResponse:
    """Our answer to a withdrawal DMN: Approve, Decline or Postpone (a postponed request is
    decided later through the API's approveRequest / declineRequest)."""
    if action not in WITHDRAWAL_ANSWERS:
        raise ValueError(f"a withdrawal DMN is answered {', '.join(WITHDRAWAL_ANSWERS)}, not {action!r}")
    return HttpResponse(f"action={action}", content_type="text/plain")


# --- payment DMNs --------------------------------------------------------------------------------------

_SALE_TYPES = {"Sale", "Auth", "Settle", "Sale3D", "Auth3D"}
_SALE_STATUS = {
    "APPROVED": EventType.SUCCEEDED,
    "DECLINED": EventType.FAILED,
    "ERROR": EventType.FAILED,
    "PENDING": EventType.PENDING,
    "CANCELED": EventType.CANCELLED,
}
_REQUIRED = ("Status", "totalAmount", "currency", "PPP_TransactionID", "responseTimeStamp")


def parse_dmn(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedNotification(f"not a form-encoded DMN: {exc}") from None
    return fields


def _kind(fields: dict[str, str]) -> EventType | None:
    status, ttype = fields.get("Status", "").upper(), fields.get("transactionType", "Sale")
    if ttype in _SALE_TYPES:
        return _SALE_STATUS.get(status)
    if status != "APPROVED":
        return None
    return {"Credit": EventType.REFUND, "Void": EventType.CANCELLED, "Chargeback": EventType.CHARGEBACK}.get(
        ttype
    )


class NuveiAdapter(ProviderAdapter):
    code = "nuvei"
    name = "Nuvei"

    def __init__(self, *, secret: str | None = None):
        self.secret = secret or settings.NUVEI_SECRET_KEY

    def start_deposit(self, payment) -> DepositStart:
        merchant, site = settings.NUVEI_MERCHANT_ID, settings.NUVEI_MERCHANT_SITE_ID
        request_id = secrets.token_hex(10)
        amount = decimal(payment.amount, payment.currency)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        body = {
            "merchantId": merchant,
            "merchantSiteId": site,
            "clientRequestId": request_id,
            "clientUniqueId": payment.reference,
            "userTokenId": payment.player.public_id,
            "amount": amount,
            "currency": payment.currency,
            "timeStamp": stamp,
            "urlDetails": {
                "notificationUrl": webhook_url(self.code),
                "successUrl": settings.PAYMENTS_RETURN_URL,
            },
            "checksum": request_checksum(
                merchant, site, request_id, amount, payment.currency, stamp, secret=self.secret
            ),
        }
        base = settings.NUVEI_API_BASE_URL.rstrip("/") + "/"
        r = http.post_json(urljoin(base, "openOrder.do"), body)
        try:
            data = r.json() or {}
        except ValueError:
            raise ProviderError(f"Nuvei openOrder answered HTTP {r.status}, not JSON") from None
        if r.status != 200 or data.get("status") != "SUCCESS" or not data.get("sessionToken"):
            raise ProviderError(
                f"Nuvei openOrder refused: {data.get('reason') or data.get('errCode') or r.status}"
            )
        page = urljoin(base, "/ppp/purchase.do") + "?" + urlencode({"sessionToken": data["sessionToken"]})
        return DepositStart(
            redirect_url=page,
            provider_reference=str(data.get("orderId") or ""),
            data={"sessionToken": data["sessionToken"], "orderId": data.get("orderId")},
        )

    def parse_and_verify(self, headers: dict[str, str], body: bytes) -> Parsed:
        fields = parse_dmn(body)
        if "advanceResponseChecksum" not in fields and (
            fields.get("wdRequestId") or fields.get("wd_request_id")
        ):
            wd = fields.get("wdRequestId") or fields.get("wd_request_id")
            return Parsed(
                Verdict.UNSIGNED,
                ignored=[(f"withdrawal DMN for request {wd}: postponed for the withdrawal flow", True)],
                reply={"withdrawal": "Postpone"},
            )
        missing = [f for f in (*_REQUIRED, "advanceResponseChecksum") if not fields.get(f)]
        if missing:
            raise MalformedNotification(f"DMN lacks {', '.join(missing)}")
        if not dmn_valid(fields, self.secret):
            return Parsed(
                Verdict.INVALID, detail=f"advanceResponseChecksum refused ({fields['PPP_TransactionID']})"
            )
        reference = fields.get("clientUniqueId") or fields.get("merchant_unique_id") or ""
        kind = _kind(fields)
        ttype = fields.get("transactionType", "Sale")
        label = f"{ttype} {fields['Status']} ({fields.get('TransactionID') or fields['PPP_TransactionID']})"
        if kind is None or not reference:
            return Parsed(
                Verdict.VALID, ignored=[(label + ("" if reference else " without our reference"), True)]
            )
        return Parsed(
            Verdict.VALID,
            events=[
                ProviderEvent(
                    payment_reference=reference,
                    provider_reference=fields.get("TransactionID") or fields["PPP_TransactionID"],
                    original_reference=fields.get("relatedTransactionId", ""),
                    type=kind,
                    amount=to_minor(fields["totalAmount"], fields["currency"]),
                    currency=fields["currency"],
                    notification_id=(
                        f"nuvei:{fields.get('TransactionID') or fields['PPP_TransactionID']}:{ttype}:{fields['Status']}"
                    ),
                    method=fields.get("payment_method", "")[:32],
                    reason=(fields.get("Reason") or fields.get("message") or "")[:300],
                )
            ],
        )

    def acknowledge(self, ack: Ack, parsed: Parsed | None = None) -> HttpResponse:
        if ack == Ack.ACCEPTED:
            if parsed is not None and parsed.reply.get("withdrawal"):
                return withdrawal_dmn_answer(parsed.reply["withdrawal"])
            return HttpResponse("OK", content_type="text/plain")
        if ack == Ack.REJECTED:
            return HttpResponse("invalid checksum", status=401, content_type="text/plain")
        if ack == Ack.MALFORMED:
            return HttpResponse("malformed DMN", status=400, content_type="text/plain")
        return HttpResponse("processing failed, retry later", status=500, content_type="text/plain")
