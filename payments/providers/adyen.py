"""Adyen: Checkout API sessions for deposits, JSON standard webhooks with an HMAC-SHA256
signature per item (additionalData.hmacSignature), answered `[accepted]`.

The signature is base64 HMAC-SHA256, keyed with the hex-decoded ADYEN_HMAC_KEY, over
pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
eventCode:success (missing fields empty, nothing escaped). Checked against every case in
payments/tests/vectors/adyen.json and against the official `Adyen` package's signer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from django.conf import settings
from django.http import HttpResponse

from .. import http
from .base import (
    Ack,
    DepositStart,
    EventType,
    Instrument,
    MalformedNotification,
    Parsed,
    PayoutRefused,
    ProviderAdapter,
    ProviderError,
    ProviderEvent,
    Verdict,
)

SIGNING_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
_REQUIRED = ("pspReference", "merchantReference", "eventCode", "success", "amount")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # Adyen sends "true"/"false"; a JSON boolean means the same
        return "true" if value else "false"
    return str(value)


def signing_string(item: dict) -> str:
    amount = item.get("amount") or {}
    values = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    return ":".join(_text(values.get(f)) for f in SIGNING_FIELDS)


def item_signature(item: dict, hmac_key_hex: str) -> str:
    key = binascii.unhexlify(hmac_key_hex)
    digest = hmac.new(key, signing_string(item).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def item_valid(item: dict, hmac_key_hex: str) -> bool:
    given = ((item.get("additionalData") or {}).get("hmacSignature") or "").strip()
    if not given or not hmac_key_hex:
        return False
    return hmac.compare_digest(item_signature(item, hmac_key_hex).encode(), given.encode("utf-8"))


def payload_signature(payload: bytes, hmac_key_hex: str) -> str:
    """Balance Platform / Management webhooks: HMAC over the raw body (sent in a header)."""
    digest = hmac.new(binascii.unhexlify(hmac_key_hex), payload, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def payload_valid(payload: bytes, signature: str, hmac_key_hex: str) -> bool:
    return hmac.compare_digest(
        payload_signature(payload, hmac_key_hex).encode(), (signature or "").encode("utf-8")
    )


# --- notification items -> events ----------------------------------------------------------------

# eventCode -> (event when success is true, event when false). None: nothing to do.
_EVENTS: dict[str, tuple[EventType | None, EventType | None]] = {
    "AUTHORISATION": (EventType.SUCCEEDED, EventType.FAILED),
    "CANCELLATION": (EventType.CANCELLED, None),
    "CANCEL_OR_REFUND": (EventType.CANCELLED, None),
    "REFUND": (EventType.REFUND, None),
    "CHARGEBACK": (EventType.CHARGEBACK, EventType.CHARGEBACK),
    # Payouts (withdrawals): PAYOUT_THIRDPARTY success=true is the money sent, false a
    # refusal; a declined or expired payout (never confirmed) returns the money.
    "PAYOUT_THIRDPARTY": (EventType.PAYOUT_PAID, EventType.PAYOUT_FAILED),
    "PAYOUT_DECLINE": (EventType.PAYOUT_FAILED, None),
    "PAYOUT_EXPIRE": (EventType.PAYOUT_FAILED, None),
}
# Known, not acted on in part 1, but an operator should look (money may be owed either way).
# REFUND itself lands here only with success=false: a refund we asked for was refused.
ATTENTION = {"CHARGEBACK_REVERSED", "REFUND", "REFUND_FAILED", "REFUNDED_REVERSED", "SECOND_CHARGEBACK"}

_LAST4 = re.compile(r"^\d{4}$")


def _instrument(item: dict) -> Instrument | None:
    extra = item.get("additionalData") or {}
    par = extra.get("paymentAccountReference", "")
    last4 = str(extra.get("cardSummary", ""))
    if not (par or _LAST4.match(last4)):
        return None
    holder = " ".join(str(extra.get("cardHolderName", "")).upper().split())
    expiry = str(extra.get("expiryDate", ""))
    # Adyen never sends the card number: the network's payment account reference when it
    # is enabled, else BIN + last four + expiry (+ holder) is the closest stable identity.
    normalised = f"par:{par}" if par else f"card:{extra.get('cardBin', '')}:{last4}:{expiry}:{holder}"
    return Instrument(
        type="card",
        normalised=normalised,
        brand=str(item.get("paymentMethod", ""))[:32],
        last_four=last4 if _LAST4.match(last4) else "",
        holder_name=holder[:128],
    )


def notification_key(item: dict) -> str:
    # Adyen: a notification is identified by eventCode + pspReference (+ success, since a
    # failed modification may be followed by a successful one with the same reference).
    return f"adyen:{item.get('eventCode')}:{item.get('pspReference')}:{_text(item.get('success'))}"


def parse_items(body: bytes) -> list[dict]:
    try:
        msg = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedNotification(f"not JSON: {exc}") from None
    items = msg.get("notificationItems") if isinstance(msg, dict) else None
    if not isinstance(items, list) or not items:
        raise MalformedNotification("no notificationItems")
    out = []
    for wrapper in items:
        item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
        if not isinstance(item, dict) or any(k not in item for k in _REQUIRED):
            raise MalformedNotification(f"a NotificationRequestItem lacks one of {', '.join(_REQUIRED)}")
        amount = item["amount"]
        if not isinstance(amount, dict) or not isinstance(amount.get("value"), int):
            raise MalformedNotification("amount.value is not an integer of minor units")
        out.append(item)
    return out


def item_event(item: dict) -> ProviderEvent | None:
    on_true, on_false = _EVENTS.get(item["eventCode"], (None, None))
    kind = on_true if _text(item["success"]) == "true" else on_false
    if kind is None:
        return None
    return ProviderEvent(
        payment_reference=str(item["merchantReference"]),
        provider_reference=str(item["pspReference"]),
        original_reference=str(item.get("originalReference") or ""),
        type=kind,
        amount=item["amount"]["value"],
        currency=str(item["amount"].get("currency", "")),
        notification_id=notification_key(item),
        method=str(item.get("paymentMethod", ""))[:32],
        reason=str(item.get("reason", ""))[:300],
        instrument=_instrument(item) if kind == EventType.SUCCEEDED else None,
    )


class AdyenAdapter(ProviderAdapter):
    code = "adyen"
    name = "Adyen"

    def __init__(self, *, hmac_key_hex: str | None = None):
        self.hmac_key_hex = hmac_key_hex or settings.ADYEN_HMAC_KEY

    def start_deposit(self, payment) -> DepositStart:
        """Checkout API `/sessions` in hosted mode: Adyen answers the session and the URL of
        its hosted payment page."""
        url = settings.ADYEN_API_BASE_URL.rstrip("/") + "/sessions"
        body = {
            "merchantAccount": settings.ADYEN_MERCHANT_ACCOUNT,
            "amount": {"value": payment.amount, "currency": payment.currency},
            "reference": payment.reference,
            "returnUrl": settings.PAYMENTS_RETURN_URL,
            "countryCode": payment.player.jurisdiction,
            "shopperReference": payment.player.public_id,
            "mode": "hosted",
        }
        r = http.post_json(url, body, headers={"X-API-Key": settings.ADYEN_API_KEY})
        if r.status not in (200, 201):
            raise ProviderError(f"Adyen /sessions answered HTTP {r.status}")
        try:
            data = r.json() or {}
        except ValueError:
            raise ProviderError("Adyen /sessions answered something other than JSON") from None
        if not isinstance(data, dict) or not data.get("id") or not data.get("url"):
            raise ProviderError("Adyen /sessions answered without a session id and URL")
        return DepositStart(
            redirect_url=data["url"], provider_reference=data["id"], data={"session_id": data["id"]}
        )

    def send_payout(self, payment) -> str:
        """Payout API `submitThirdParty` to the player's stored payout details (the
        recurring contract PAYOUT, latest detail of the shopper). Adyen confirms with a
        PAYOUT_THIRDPARTY webhook. Our reference is the idempotency key, so a retried call
        never pays twice."""
        url = settings.ADYEN_PAYOUT_API_BASE_URL.rstrip("/") + "/submitThirdParty"
        body = {
            "merchantAccount": settings.ADYEN_MERCHANT_ACCOUNT,
            "amount": {"value": payment.amount, "currency": payment.currency},
            "reference": payment.reference,
            "shopperReference": payment.player.public_id,
            "recurring": {"contract": "PAYOUT"},
            "selectedRecurringDetailReference": "LATEST",
        }
        headers = {"X-API-Key": settings.ADYEN_API_KEY, "Idempotency-Key": f"payout:{payment.reference}"}
        r = http.post_json(url, body, headers=headers)
        try:
            data = r.json() or {}
        except ValueError:
            data = {}
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        if r.status >= 500 or r.status == 429:  # may or may not have been taken: retry, same key
            raise ProviderError(f"Adyen submitThirdParty answered HTTP {r.status} {message}".strip())
        if r.status != 200:
            raise PayoutRefused(f"Adyen refused the payout: HTTP {r.status} {message}".strip())
        if not isinstance(data, dict) or not data.get("pspReference"):
            raise ProviderError("Adyen submitThirdParty answered without a pspReference")
        if data.get("resultCode") not in ("[payout-submit-received]", "Received"):
            why = data.get("refusalReason") or data.get("resultCode")
            raise PayoutRefused(f"Adyen refused the payout: {why}")
        return str(data["pspReference"])

    def refund(self, payment, amount: int) -> str:
        """Checkout `POST /payments/{pspReference}/refunds` for `amount` of a settled
        deposit; the refund's pspReference. Adyen confirms with a REFUND webhook (same
        merchant reference: ours) which reverses the credit. The idempotency key
        `refund:<reference>` makes a retry the same request. PayoutRefused when Adyen
        refuses it (4xx), ProviderError when the outcome is unknown."""
        psp = payment.provider_reference
        if not psp or psp == (payment.provider_data or {}).get("session_id"):  # never authorised
            raise PayoutRefused("Adyen has not named this payment (no pspReference): it cannot be refunded")
        url = f"{settings.ADYEN_API_BASE_URL.rstrip('/')}/payments/{psp}/refunds"
        body = {
            "merchantAccount": settings.ADYEN_MERCHANT_ACCOUNT,
            "amount": {"value": amount, "currency": payment.currency},
            "reference": payment.reference,
        }
        headers = {"X-API-Key": settings.ADYEN_API_KEY, "Idempotency-Key": f"refund:{payment.reference}"}
        r = http.post_json(url, body, headers=headers)
        try:
            data = r.json() or {}
        except ValueError:
            data = {}
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        if r.status >= 500 or r.status == 429:
            raise ProviderError(f"Adyen refunds answered HTTP {r.status} {message}".strip())
        if r.status not in (200, 201):
            raise PayoutRefused(f"Adyen refused the refund: HTTP {r.status} {message}".strip())
        if not isinstance(data, dict) or not data.get("pspReference"):
            raise ProviderError("Adyen refunds answered without a pspReference")
        return str(data["pspReference"])

    def parse_and_verify(self, headers: dict[str, str], body: bytes) -> Parsed:
        items = parse_items(body)
        bad = [i["pspReference"] for i in items if not item_valid(i, self.hmac_key_hex)]
        if bad:
            # One bad item refuses the whole delivery: nothing in it moves money.
            return Parsed(Verdict.INVALID, detail=f"hmacSignature refused for pspReference {', '.join(bad)}")
        events, ignored = [], []
        for item in items:
            event = item_event(item)
            if event is not None:
                events.append(event)
            else:
                ignored.append(
                    (
                        f"{item['eventCode']} success={_text(item['success'])} ({item['pspReference']})",
                        item["eventCode"] in ATTENTION,
                    )
                )
        return Parsed(Verdict.VALID, events=events, ignored=ignored)

    def acknowledge(self, ack: Ack, parsed: Parsed | None = None) -> HttpResponse:
        if ack == Ack.ACCEPTED:
            return HttpResponse("[accepted]", content_type="text/plain")
        if ack == Ack.REJECTED:
            return HttpResponse("invalid hmacSignature", status=401, content_type="text/plain")
        if ack == Ack.MALFORMED:
            return HttpResponse("malformed notification", status=400, content_type="text/plain")
        return HttpResponse("processing failed, retry later", status=500, content_type="text/plain")
