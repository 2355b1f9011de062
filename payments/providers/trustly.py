"""Trustly (EU JSON-RPC 1.1 API): serialization, RSA-SHA1 signatures and the adapter.

Trustly signs its notifications and API responses over `method + uuid + serialize(data)`
with RSASSA-PKCS1-v1_5 and SHA-1 (base64); we sign our requests and our answers to its
notifications the same way with our private key. The pure functions are checked against
every case in payments/tests/vectors/trustly.json.

The adapter: `Deposit` (signed with TRUSTLY_PRIVATE_KEY_FILE; Trustly's answer verified
with TRUSTLY_PUBLIC_KEY_FILE) answers the checkout URL and Trustly's orderid; the
notifications pending, credit, debit (after a credit: the transfer did not settle),
cancel, account (the bank account, recorded as an instrument) and kyc (Pay N Play: the
bank's identity, answered CONTINUE or FINISH) are verified and answered with our signed
JSON-RPC result. `notificationid` is the idempotency key.

Payouts: `AccountPayout` (closed loop) to the `accountid` Trustly named in the player's
`account` notification. We keep no accountid column: the PaymentMethod's fingerprint is
sha256("trustly-account:<accountid>"), so the accountid is read back from the stored,
signature-verified `account` notifications of the player and checked against that
fingerprint (`payout_account_id`). `payoutconfirmation` is the payout sent (PAYOUT_PAID);
a `credit` on a payout's messageid is Trustly returning the money (payments.withdrawals
reads it as PAYOUT_FAILED). Our reference is the MessageID: Trustly keeps it unique.

Refunds: signed `Refund(OrderID, Amount, Currency)` on the deposit's order; its
confirmation is a `debit` on that order, read as REFUND while our refund awaits it [I]."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import uuid as uuidlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from .. import http
from .base import (
    Ack,
    BankIdentity,
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
from .common import decimal, to_minor, webhook_url


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


def notification_answer_data(method: str, uuid: str, data: dict, private_key: rsa.RSAPrivateKey) -> dict:
    """Our signed answer with any data (Pay N Play: {"status": "CONTINUE"|"FINISH"})."""
    return {
        "result": {
            "signature": sign(method, uuid, data, private_key),
            "uuid": uuid,
            "method": method,
            "data": data,
        },
        "version": "1.1",
    }


def signed_request(method: str, data: dict, private_key: rsa.RSAPrivateKey, uuid: str | None = None) -> dict:
    """A JSON-RPC request to Trustly's API, signed over method + UUID + Data."""
    uuid = uuid or str(uuidlib.uuid4())
    return {
        "method": method,
        "params": {"Signature": sign(method, uuid, data, private_key), "UUID": uuid, "Data": data},
        "version": "1.1",
    }


# --- the adapter ------------------------------------------------------------------------------------

METHODS = ("pending", "credit", "debit", "cancel", "account", "kyc", "payoutconfirmation")
_MONEY_EVENTS = {
    "pending": EventType.PENDING,
    "credit": EventType.SUCCEEDED,
    # On a deposit, a debit after a credit means the bank transfer did not settle.
    "debit": EventType.REVERSED,
    "cancel": EventType.CANCELLED,
    # The payout (AccountPayout) was sent from Trustly to the player's bank account.
    "payoutconfirmation": EventType.PAYOUT_PAID,
}
# A signed error answer is a definite refusal, except a MessageID Trustly has seen: the
# first request was taken, so the outcome is whatever that one became.
_DUPLICATE = ("ERROR_DUPLICATE_MESSAGE_ID", "DUPLICATE")


def _national_id(personid: str, country: str) -> str:
    """Trustly prefixes the number with the country ("SE196512171957"); we store the number."""
    personid = (personid or "").strip()
    if country and personid.upper().startswith(country.upper()):
        return personid[len(country) :]
    return personid


def _account_instrument(data: dict) -> Instrument:
    attrs = data.get("attributes") or {}
    digits = str(attrs.get("lastdigits") or "")
    # Trustly's accountid names the bank account; without one, bank + masked descriptor.
    account = str(data.get("accountid") or "")
    normalised = (
        f"trustly-account:{account}"
        if account
        else f"bank:{attrs.get('clearinghouse', '')}:{attrs.get('bank', '')}:{attrs.get('descriptor', '')}"
    )
    return Instrument(
        type="bank_account",
        normalised=normalised,
        brand="trustly",
        last_four=digits[-4:] if digits[-4:].isdigit() else "",
        bank=str(attrs.get("bank") or attrs.get("clearinghouse") or "")[:64],
        holder_name=" ".join(str(attrs.get("name") or "").split())[:128],
    )


def parse_notification(body: bytes) -> tuple[str, str, dict, str]:
    """(method, uuid, data, signature) of a notification; MalformedNotification otherwise."""
    try:
        msg = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedNotification(f"not JSON: {exc}") from None
    params = msg.get("params") if isinstance(msg, dict) else None
    if not isinstance(params, dict) or msg.get("method") not in METHODS:
        raise MalformedNotification(f"not a Trustly notification (method one of {', '.join(METHODS)})")
    data = params.get("data")
    if not isinstance(data, dict) or not params.get("uuid") or not data.get("notificationid"):
        raise MalformedNotification("params.uuid, params.data or data.notificationid is missing")
    if not data.get("messageid") or not data.get("orderid"):
        raise MalformedNotification("data.messageid or data.orderid is missing")
    return msg["method"], str(params["uuid"]), data, str(params.get("signature") or "")


def _event(method: str, data: dict) -> ProviderEvent:
    key = f"trustly:{data['notificationid']}"
    common = {
        "payment_reference": str(data["messageid"]),
        "provider_reference": str(data["orderid"]),
        "notification_id": key,
        "method": "trustly",
    }
    if method == "account":
        return ProviderEvent(
            type=EventType.ACCOUNT, amount=None, currency="", instrument=_account_instrument(data), **common
        )
    currency = str(data.get("currency") or "")
    amount = None
    if method != "cancel":
        if not currency or data.get("amount") in (None, ""):
            raise MalformedNotification(f"{method} without amount and currency")
        amount = to_minor(data["amount"], currency)
    return ProviderEvent(type=_MONEY_EVENTS[method], amount=amount, currency=currency, **common)


def _refund_awaited(message_id: str) -> bool:
    """True when finance asked Trustly to refund the deposit `message_id` names and the
    confirmation is still due: its `debit` is that refund [I: Trustly documents `debit` as
    "decrease the balance"; that a Refund is confirmed by one on the deposit's order is our
    reading, not confirmed]. Any other debit after a credit is a transfer that did not settle."""
    from ..models import Payment

    data = (
        Payment.objects.filter(provider="trustly", reference=message_id, kind=Payment.Kind.DEPOSIT)
        .values_list("provider_data", flat=True)
        .first()
    )
    refund = (data or {}).get("refund") or {}
    return refund.get("state") in ("requested", "sent", "unknown")


def _identity(data: dict) -> BankIdentity:
    attrs = data.get("attributes") or {}
    country = str(attrs.get("country") or "").upper()
    return BankIdentity(
        payment_reference=str(data["messageid"]),
        provider_reference=str(data["orderid"]),
        notification_id=f"trustly:{data['notificationid']}",
        national_id=_national_id(str(attrs.get("personid") or ""), country),
        first_name=str(attrs.get("firstname") or ""),
        last_name=str(attrs.get("lastname") or ""),
        date_of_birth=str(attrs.get("dob") or ""),
        street=str(attrs.get("street") or ""),
        postcode=str(attrs.get("zipcode") or ""),
        city=str(attrs.get("city") or ""),
        country=country,
    )


class TrustlyRefused(ProviderError):
    """Trustly answered a signed error (its `message` names the reason)."""


def payout_account_id(payment) -> str:
    """The accountid to pay a withdrawal to: from the newest verified `account`
    notification of the player whose account is the withdrawal's payment method (its
    fingerprint proves it), else the newest one of the player. "" when none is known."""
    from ..ledger import fingerprint
    from ..models import Notification

    rows = (
        Notification.objects.filter(
            provider="trustly",
            verdict="valid",
            payment__player_id=payment.player_id,
            body__contains='"account"',
        )
        .order_by("-received_at", "-id")
        .values_list("body", flat=True)[:50]
    )
    wanted = payment.payment_method.fingerprint if payment.payment_method_id else ""
    fallback = ""
    for body in rows:
        try:
            msg = json.loads(body)
            account = str(((msg.get("params") or {}).get("data") or {}).get("accountid") or "")
        except (ValueError, AttributeError):
            continue
        if msg.get("method") != "account" or not account:
            continue
        if not wanted or fingerprint(f"trustly-account:{account}") == wanted:
            return account
        fallback = fallback or account
    return "" if wanted else fallback


def _read_key(path: str, loader):
    try:
        return loader(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ProviderError(f"Trustly key {path} cannot be read: {exc}") from None


class TrustlyAdapter(ProviderAdapter):
    code = "trustly"
    name = "Trustly"

    def __init__(
        self, *, public_key: rsa.RSAPublicKey | None = None, private_key: rsa.RSAPrivateKey | None = None
    ):
        self._public_key = public_key
        self._private_key = private_key

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        if self._public_key is None:
            self._public_key = _read_key(settings.TRUSTLY_PUBLIC_KEY_FILE, load_public_key)
        return self._public_key

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        if self._private_key is None:
            self._private_key = _read_key(settings.TRUSTLY_PRIVATE_KEY_FILE, load_private_key)
        return self._private_key

    # --- outbound -------------------------------------------------------------------------------

    def call(self, method: str, data: dict) -> dict:
        """One signed API call; the verified `result.data`. ProviderError on a refusal, an
        error answer or a signature that does not verify."""
        body = signed_request(
            method,
            {"Username": settings.TRUSTLY_USERNAME, "Password": settings.TRUSTLY_PASSWORD, **data},
            self.private_key,
        )
        r = http.post_json(settings.TRUSTLY_API_BASE_URL, body)
        try:
            answer = r.json()
        except ValueError:
            raise ProviderError(f"Trustly {method} answered HTTP {r.status}, not JSON") from None
        if not isinstance(answer, dict) or not (answer.get("result") or answer.get("error")):
            raise ProviderError(f"Trustly {method} answered HTTP {r.status} without a result")
        if not verify_response(r.body, self.public_key):
            raise ProviderError(f"Trustly {method}: the answer's signature does not verify")
        if "error" in answer:
            err = answer["error"]
            raise TrustlyRefused(f"Trustly {method} refused: {err.get('message') or err.get('code')}")
        result = answer["result"]
        if result.get("uuid") != body["params"]["UUID"]:
            raise ProviderError(f"Trustly {method}: the answer is for another request")
        return result.get("data") or {}

    def deposit(
        self, *, reference: str, amount: int, currency: str, country: str, end_user_id: str, **attributes
    ) -> DepositStart:
        data = self.call(
            "Deposit",
            {
                "NotificationURL": webhook_url(self.code),
                "EndUserID": end_user_id,
                "MessageID": reference,
                "Attributes": {
                    "Amount": decimal(amount, currency),
                    "Currency": currency,
                    "Country": country,
                    "SuccessURL": settings.PAYMENTS_RETURN_URL,
                    "FailURL": settings.PAYMENTS_RETURN_URL,
                    **attributes,
                },
            },
        )
        if not data.get("url") or not data.get("orderid"):
            raise ProviderError("Trustly Deposit answered without a url and orderid")
        return DepositStart(
            redirect_url=str(data["url"]),
            provider_reference=str(data["orderid"]),
            data={"orderid": data["orderid"]},
        )

    def start_deposit(self, payment) -> DepositStart:
        player = payment.player
        return self.deposit(
            reference=payment.reference,
            amount=payment.amount,
            currency=payment.currency,
            country=player.country or player.jurisdiction,
            end_user_id=player.public_id,
            Firstname=player.first_name,
            Lastname=player.last_name,
            Email=player.email,
        )

    def start_paynplay(self, *, reference: str, amount: int, currency: str, country: str) -> DepositStart:
        """A deposit that asks the bank for the player's identity first (kyc notification);
        the end user is not known yet, so the reference stands in for it."""
        return self.deposit(
            reference=reference,
            amount=amount,
            currency=currency,
            country=country,
            end_user_id=f"pnp:{reference}",
            RequestKYC="1",
        )

    def send_payout(self, payment) -> str:
        """`AccountPayout` of the full amount to the player's verified bank account; the
        orderid. Confirmed later by a `payoutconfirmation` notification."""
        account = payout_account_id(payment)
        if not account:
            raise PayoutRefused("no Trustly bank account (accountid) is known for this player")
        try:
            data = self.call(
                "AccountPayout",
                {
                    "NotificationURL": webhook_url(self.code),
                    "AccountID": account,
                    "EndUserID": payment.player.public_id,
                    "MessageID": payment.reference,
                    "Amount": decimal(payment.amount, payment.currency),
                    "Currency": payment.currency,
                    "Attributes": {"ShopperStatement": "Pitboss"},
                },
            )
        except TrustlyRefused as exc:
            if any(d in str(exc) for d in _DUPLICATE):
                raise ProviderError(f"{exc}: already sent, awaits its confirmation") from None
            raise PayoutRefused(str(exc)) from None
        if str(data.get("result")) != "1" or not data.get("orderid"):
            raise PayoutRefused(f"Trustly AccountPayout answered result {data.get('result')!r}")
        return str(data["orderid"])

    def refund(self, payment, amount: int) -> str:
        """Signed `Refund(OrderID, Amount, Currency)` on the deposit's order; the orderid.
        Trustly confirms with a `debit` on that order (read as REFUND while our refund
        awaits it). Trustly's Refund carries no MessageID: we send
        ExternalReference `refund:<reference>` [I: that Trustly refuses a repeated one is not
        confirmed; a full refund cannot be repeated, the order has nothing left]."""
        orderid = payment.provider_reference
        if not orderid:
            raise PayoutRefused(
                "Trustly has not named this deposit's order (no orderid): it cannot be refunded"
            )
        try:
            data = self.call(
                "Refund",
                {
                    "OrderID": orderid,
                    "Amount": decimal(amount, payment.currency),
                    "Currency": payment.currency,
                    "Attributes": {"ExternalReference": f"refund:{payment.reference}"},
                },
            )
        except TrustlyRefused as exc:
            if any(d in str(exc) for d in _DUPLICATE):
                raise ProviderError(f"{exc}: already asked, awaits its confirmation") from None
            raise PayoutRefused(str(exc)) from None
        if str(data.get("result")) != "1":
            raise PayoutRefused(f"Trustly Refund answered result {data.get('result')!r}")
        return str(data.get("orderid") or orderid)

    # --- inbound --------------------------------------------------------------------------------

    def parse_and_verify(self, headers: dict[str, str], body: bytes) -> Parsed:
        method, uuid, data, signature = parse_notification(body)
        reply = {"method": method, "uuid": uuid}
        if not verify(method, uuid, data, signature, self.public_key):
            return Parsed(
                Verdict.INVALID, detail=f"RSA-SHA1 signature refused ({method} {uuid})", reply=reply
            )
        if method == "kyc":
            return Parsed(Verdict.VALID, kyc=_identity(data), reply=reply)
        event = _event(method, data)
        if method == "debit" and _refund_awaited(event.payment_reference):
            event = dataclasses.replace(event, type=EventType.REFUND)
        return Parsed(Verdict.VALID, events=[event], reply=reply)

    def acknowledge(self, ack: Ack, parsed: Parsed | None = None) -> HttpResponse:
        reply = parsed.reply if parsed is not None else {}
        if ack == Ack.ACCEPTED and reply.get("uuid"):
            data = {"status": reply.get("status", "OK")}
            return JsonResponse(
                notification_answer_data(reply["method"], reply["uuid"], data, self.private_key)
            )
        if ack == Ack.REJECTED:
            return HttpResponse("signature refused", status=401, content_type="text/plain")
        if ack == Ack.MALFORMED:
            return HttpResponse("malformed notification", status=400, content_type="text/plain")
        return HttpResponse("processing failed, retry later", status=500, content_type="text/plain")
