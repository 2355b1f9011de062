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
- refunds: REST `refundTransaction.do` {clientUniqueId = our reference, clientRequestId =
  `refund-<reference>` (a retry is the same request [I]), relatedTransactionId = the
  deposit's TransactionID, amount, currency, checksum over merchantId, merchantSiteId,
  clientRequestId, clientUniqueId, amount, currency, relatedTransactionId, authCode,
  comment, timeStamp, then the secret [I: field list from Nuvei's docs as we read them;
  urlDetails is sent but left out]} -> transactionId; confirmed by the `Credit` DMN (REFUND);
- payouts (our reading of the Withdrawal API [I]): `withdrawal/submitRequest.do`
  {merchantWDRequestId = merchantUniqueId = our reference, userTokenId, userPMId = the
  UPO of the player's newest approved Nuvei deposit, amount, currency, notificationUrl,
  checksum} -> wdRequestId;
- withdrawal DMNs (a wdRequestId): checksummed with `checksum` = sha256 of the posted
  `name=value` pairs joined by `&` then the secret [I]. A signed `Pending` request that is
  ours (an approved or sent withdrawal, same amount and currency) is answered Approve,
  another Postpone and flagged; `Approved` with its order `Settled` -> PAYOUT_PAID,
  `Declined` / `Cancelled` -> PAYOUT_FAILED. No checksum: stored, flagged, Postpone (nothing
  is paid on an unsigned DMN); a wrong checksum: refused (401)."""

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
    PayoutRefused,
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


REFUND_CHECKSUM_FIELDS = (
    "merchantId",
    "merchantSiteId",
    "clientRequestId",
    "clientUniqueId",
    "amount",
    "currency",
    "relatedTransactionId",
    "authCode",
    "comment",
    "timeStamp",
)


def refund_checksum(body: dict, secret: str) -> str:
    """refundTransaction's checksum over REFUND_CHECKSUM_FIELDS in that order [I]."""
    return request_checksum(*(str(body.get(f, "")) for f in REFUND_CHECKSUM_FIELDS), secret=secret)


# --- withdrawal DMNs (the withdrawal flow calls this) ------------------------------------------------

WITHDRAWAL_ANSWERS = ("Approve", "Decline", "Postpone")


WITHDRAWAL_DMN_PAID = "Approved"  # wdRequestStatus, with wdOrderStatus Settled [I]
WITHDRAWAL_DMN_FAILED = ("Declined", "Cancelled")


def withdrawal_dmn_checksum(pairs: list[tuple[str, str]], secret: str) -> str:
    """sha256 of the posted pairs (without `checksum`), `name=value` joined by `&`, then the
    secret [I: a third-party AsyncAPI description, not Nuvei's own docs]."""
    text = "&".join(f"{k}={v}" for k, v in pairs if k != "checksum") + secret
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def withdrawal_dmn_answer(action: str) -> HttpResponse:
    """Our answer to a withdrawal DMN: Approve, Decline or Postpone (a postponed request is
    decided later through the API's approveRequest / declineRequest)."""
    if action not in WITHDRAWAL_ANSWERS:
        raise ValueError(f"a withdrawal DMN is answered {', '.join(WITHDRAWAL_ANSWERS)}, not {action!r}")
    return HttpResponse(f"action={action}", content_type="text/plain")


def _ours_to_approve(reference: str, amount: int, currency: str) -> str:
    """Why a pending withdrawal request must not be approved; "" when it is ours."""
    from ..models import Payment

    payment = Payment.objects.filter(reference=reference, provider="nuvei").first()
    if payment is None or payment.kind != Payment.Kind.WITHDRAWAL:
        return "no withdrawal of ours has this reference"
    if payment.state not in (Payment.State.APPROVED, Payment.State.SENT):
        return f"our withdrawal is {payment.state}"
    if (amount, currency) != (payment.amount, payment.currency):
        return "its amount or currency differs from ours"
    return ""


def payout_upo(payment) -> str:
    """The UPO (userPaymentOptionId) of the player's newest verified, approved Nuvei deposit
    DMN: the payout goes back where the money came from (closed loop). "" when none."""
    from ..models import Notification

    rows = (
        Notification.objects.filter(
            provider="nuvei",
            verdict="valid",
            payment__player_id=payment.player_id,
            payment__kind="deposit",
            body__contains="userPaymentOptionId",
        )
        .order_by("-received_at", "-id")
        .values_list("body", flat=True)[:50]
    )
    for body in rows:
        try:
            fields = dict(parse_qsl(body, keep_blank_values=True))
        except ValueError:
            continue
        if fields.get("Status") == "APPROVED" and fields.get("transactionType", "Sale") in _SALE_TYPES:
            upo = fields.get("userPaymentOptionId", "")
            if upo:
                return upo
    return ""


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
            return self._withdrawal_dmn(body, fields)
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

    def _withdrawal_dmn(self, body: bytes, fields: dict[str, str]) -> Parsed:
        wd = fields.get("wdRequestId") or fields.get("wd_request_id")
        given = fields.get("checksum", "").lower()
        if not given:
            return Parsed(
                Verdict.UNSIGNED,
                ignored=[(f"withdrawal DMN for request {wd} without a checksum: postponed", True)],
                reply={"withdrawal": "Postpone"},
            )
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        expected = withdrawal_dmn_checksum(pairs, self.secret)
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8")):
            return Parsed(Verdict.INVALID, detail=f"withdrawal DMN checksum refused (request {wd})")
        reference = fields.get("merchantUniqueId") or fields.get("merchantWDRequestId") or ""
        status, order = fields.get("wdRequestStatus", ""), fields.get("wdOrderStatus", "")
        amount, currency = fields.get("amount", ""), fields.get("currency", "")
        if not (reference and status and amount and currency):
            raise MalformedNotification(
                "withdrawal DMN lacks merchantUniqueId, wdRequestStatus, amount or currency"
            )
        label = f"withdrawal request {wd} {status}{'/' + order if order else ''} for {reference}"
        if status == "Pending":
            why = _ours_to_approve(reference, to_minor(amount, currency), currency)
            if why:
                return Parsed(
                    Verdict.VALID,
                    ignored=[(f"{label}: postponed, {why}", True)],
                    reply={"withdrawal": "Postpone"},
                )
            return Parsed(
                Verdict.VALID, ignored=[(f"{label}: approved", False)], reply={"withdrawal": "Approve"}
            )
        if status == WITHDRAWAL_DMN_PAID and order == "Settled":
            kind = EventType.PAYOUT_PAID
        elif status in WITHDRAWAL_DMN_FAILED:
            kind = EventType.PAYOUT_FAILED
        else:
            return Parsed(Verdict.VALID, ignored=[(label, False)])
        event = ProviderEvent(
            payment_reference=reference,
            provider_reference=str(wd),
            type=kind,
            amount=to_minor(amount, currency),
            currency=currency,
            notification_id=f"nuvei:wd:{wd}:{status}:{order}",
            method="nuvei",
            reason=(fields.get("reason") or fields.get("Reason") or "")[:300],
        )
        return Parsed(Verdict.VALID, events=[event])

    def send_payout(self, payment) -> str:
        """`withdrawal/submitRequest.do` [I]; Nuvei's wdRequestId. Our reference is the
        merchantWDRequestId, so a repeated send names the same request."""
        upo = payout_upo(payment)
        if not upo:
            raise PayoutRefused(
                "no Nuvei payment option (UPO) is known for this player (no approved Nuvei deposit)"
            )
        merchant, site = settings.NUVEI_MERCHANT_ID, settings.NUVEI_MERCHANT_SITE_ID
        amount = decimal(payment.amount, payment.currency)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        user = payment.player.public_id
        body = {
            "merchantId": merchant,
            "merchantSiteId": site,
            "userTokenId": user,
            "merchantWDRequestId": payment.reference,
            "merchantUniqueId": payment.reference,
            "userPMId": upo,
            "amount": amount,
            "currency": payment.currency,
            "notificationUrl": webhook_url(self.code),
            "timeStamp": stamp,
            "checksum": request_checksum(
                merchant,
                site,
                user,
                amount,
                payment.currency,
                upo,
                payment.reference,
                stamp,
                secret=self.secret,
            ),
        }
        base = settings.NUVEI_API_BASE_URL.rstrip("/") + "/"
        r = http.post_json(urljoin(base, "withdrawal/submitRequest.do"), body)
        try:
            data = r.json() or {}
        except ValueError:
            raise ProviderError(f"Nuvei submitRequest answered HTTP {r.status}, not JSON") from None
        if r.status >= 500 or r.status in (408, 429):
            raise ProviderError(f"Nuvei submitRequest answered HTTP {r.status}")
        if data.get("status") != "SUCCESS" or not data.get("wdRequestId"):
            raise PayoutRefused(
                f"Nuvei refused the withdrawal: {data.get('reason') or data.get('errCode') or r.status}"
            )
        return str(data["wdRequestId"])

    def refund(self, payment, amount: int) -> str:
        """`refundTransaction.do` of `amount` against the deposit's TransactionID; the
        refund's transactionId. Nuvei confirms with a Credit DMN (our clientUniqueId)."""
        related = payment.provider_reference
        if not related:
            raise PayoutRefused("Nuvei has not named this deposit's transaction: it cannot be refunded")
        merchant, site = settings.NUVEI_MERCHANT_ID, settings.NUVEI_MERCHANT_SITE_ID
        request_id = f"refund-{payment.reference}"
        money = decimal(amount, payment.currency)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        comment = "Pitboss refund"
        body = {
            "merchantId": merchant,
            "merchantSiteId": site,
            "clientRequestId": request_id,
            "clientUniqueId": payment.reference,
            "amount": money,
            "currency": payment.currency,
            "relatedTransactionId": related,
            "authCode": "",
            "comment": comment,
            "urlDetails": {"notificationUrl": webhook_url(self.code)},
            "timeStamp": stamp,
        }
        body["checksum"] = refund_checksum(body, self.secret)
        base = settings.NUVEI_API_BASE_URL.rstrip("/") + "/"
        r = http.post_json(urljoin(base, "refundTransaction.do"), body)
        if r.status >= 500 or r.status in (408, 429):
            raise ProviderError(f"Nuvei refundTransaction answered HTTP {r.status}")
        try:
            data = r.json() or {}
        except ValueError:
            raise ProviderError(f"Nuvei refundTransaction answered HTTP {r.status}, not JSON") from None
        if data.get("status") != "SUCCESS" or data.get("transactionStatus") != "APPROVED":
            why = data.get("gwErrorReason") or data.get("reason") or data.get("transactionStatus") or r.status
            raise PayoutRefused(f"Nuvei refused the refund: {why}")
        if not data.get("transactionId"):
            raise ProviderError("Nuvei refundTransaction answered without a transactionId")
        return str(data["transactionId"])

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
