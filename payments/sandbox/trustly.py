"""A sandbox double of Trustly's JSON-RPC API on loopback, for tests and the demo.

It answers `Deposit` (checking our request's signature with our public key, refusing a
bad one like Trustly does) with a signed result {orderid, url}, remembers each order, and
builds signed notifications (pending, credit, debit, cancel, account, kyc) for our
webhook. It answers `AccountPayout` too (to an accountid it named in an `account`
notification; a MessageID seen before answers its first orderid) and builds the payout's
signed `payoutconfirmation`, or the `credit` with which Trustly returns a failed payout.
`Refund` (an order it knows, no more than is left of it; a repeated ExternalReference
answers the first, refunding nothing twice) and `refund_notification`, the signed `debit`
on the deposit's order that confirms it [I]. We do not have the private half of Trustly's published test key, so the double
signs with a key pair of its own: the tests point TRUSTLY_PUBLIC_KEY_FILE at its public
half (`public_pem`). Trustly's real key is proven by the vectors (test_vectors.py).

    with TrustlySandbox(merchant_public_key=...) as trustly:
        settings.TRUSTLY_API_BASE_URL = trustly.base_url
"""

from __future__ import annotations

import json
import secrets
import uuid as uuidlib
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..providers import trustly
from .loopback import Answer, LoopbackSandbox, Request, post


def _error(uuid: str, method: str, message: str, key: rsa.RSAPrivateKey) -> dict:
    data = {"code": 636, "message": message}
    return {
        "version": "1.1",
        "error": {
            "name": "JSONRPCError",
            "code": 636,
            "message": message,
            "error": {
                "signature": trustly.sign(method, uuid, data, key),
                "uuid": uuid,
                "method": method,
                "data": data,
            },
        },
    }


class TrustlySandbox(LoopbackSandbox):
    name = "trustly"
    prefix = "/api/1"

    def __init__(
        self, *, merchant_public_key: rsa.RSAPublicKey, private_key: rsa.RSAPrivateKey | None = None
    ):
        super().__init__()
        self.merchant_public_key = merchant_public_key
        self.private_key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.orders: dict[str, dict] = {}  # orderid -> the Deposit's Data
        self.accounts: set[str] = set()  # accountids named in account notifications
        self.payouts: dict[str, dict] = {}  # orderid -> the AccountPayout's Data
        self.refunds: dict[str, dict] = {}  # ExternalReference -> the Refund's Data
        self.fail_next = False

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def handle(self, request: Request) -> Answer:
        msg = request.json() or {}
        method, params = msg.get("method", ""), msg.get("params") or {}
        uuid, data = params.get("UUID", ""), params.get("Data") or {}
        if not trustly.verify(method, uuid, data, params.get("Signature", ""), self.merchant_public_key):
            return Answer.json(200, _error(uuid, method, "ERROR_INVALID_SIGNATURE", self.private_key))
        if method not in ("Deposit", "AccountPayout", "Refund") or self.fail_next:
            self.fail_next = False
            return Answer.json(200, _error(uuid, method, "ERROR_UNKNOWN", self.private_key))
        if method == "AccountPayout":
            return self._payout(uuid, data)
        if method == "Refund":
            return self._refund(uuid, data)
        orderid = str(secrets.randbelow(9 * 10**9) + 10**9)
        self.orders[orderid] = data
        result = {"orderid": orderid, "url": f"{self.root_url}/checkout/{orderid}"}
        return self._result(method, uuid, result)

    def _payout(self, uuid: str, data: dict) -> Answer:
        method = "AccountPayout"
        missing = [
            k for k in ("AccountID", "EndUserID", "MessageID", "Amount", "Currency") if not data.get(k)
        ]
        if missing:
            return Answer.json(200, _error(uuid, method, f"ERROR_MISSING {missing}", self.private_key))
        if data["AccountID"] not in self.accounts:
            return Answer.json(200, _error(uuid, method, "ERROR_ACCOUNT_NOT_FOUND", self.private_key))
        seen = next((o for o, d in self.payouts.items() if d["MessageID"] == data["MessageID"]), None)
        orderid = seen or str(secrets.randbelow(9 * 10**9) + 10**9)
        self.payouts[orderid] = data
        return self._result(method, uuid, {"orderid": orderid, "result": "1"})

    def _refund(self, uuid: str, data: dict) -> Answer:
        method = "Refund"
        key = (data.get("Attributes") or {}).get("ExternalReference", "")
        if key and key in self.refunds:
            return self._result(method, uuid, {"orderid": data.get("OrderID"), "result": "1"})
        order = self.orders.get(str(data.get("OrderID")))
        if order is None:
            return Answer.json(200, _error(uuid, method, "ERROR_ORDERID_NOT_FOUND", self.private_key))
        attrs = order.get("Attributes") or {}
        left = Decimal(attrs.get("Amount") or "0") - sum(
            Decimal(r["Amount"]) for r in self.refunds.values() if r["OrderID"] == data["OrderID"]
        )
        if (
            data.get("Currency") != attrs.get("Currency")
            or not 0 < Decimal(data.get("Amount") or "0") <= left
        ):
            return Answer.json(200, _error(uuid, method, "ERROR_INVALID_AMOUNT", self.private_key))
        self.refunds[key or uuid] = data
        return self._result(method, uuid, {"orderid": data["OrderID"], "result": "1"})

    def _result(self, method: str, uuid: str, result: dict) -> Answer:
        return Answer.json(
            200,
            {
                "version": "1.1",
                "result": {
                    "signature": trustly.sign(method, uuid, result, self.private_key),
                    "uuid": uuid,
                    "method": method,
                    "data": result,
                },
            },
        )

    # --- notifications ------------------------------------------------------------------------------

    def order_for(self, message_id: str) -> str:
        return next(o for o, d in self.orders.items() if d.get("MessageID") == message_id)

    def account(self, message_id: str, accountid: str, **fields) -> dict:
        """A signed `account` notification naming the bank account (which payouts may use)."""
        self.accounts.add(accountid)
        attrs = {
            "bank": "SEB",
            "lastdigits": accountid[-4:],
            "name": "Sven Svensson",
            "clearinghouse": "SWEDEN",
        }
        data = self.data(message_id, accountid=accountid, verified="1", attributes=attrs, **fields)
        for k in ("amount", "currency"):
            data.pop(k)
        return self.notification("account", data)

    def payout_notification(self, message_id: str, method: str = "payoutconfirmation") -> dict:
        """A signed notification about the payout of `message_id`: `payoutconfirmation`
        (sent), or `credit` (Trustly could not pay it and returns the money)."""
        orderid, payout = next((o, d) for o, d in self.payouts.items() if d["MessageID"] == message_id)
        data = {
            "orderid": orderid,
            "messageid": message_id,
            "notificationid": str(secrets.randbelow(9 * 10**9) + 10**9),
            "enduserid": payout["EndUserID"],
            "amount": payout["Amount"],
            "currency": payout["Currency"],
            "timestamp": "2026-11-26 10:00:00.000000+00",
        }
        return self.notification(method, data)

    def refund_notification(self, message_id: str) -> dict:
        """The signed `debit` on the deposit's order that confirms the refund asked for it."""
        orderid = self.order_for(message_id)
        refund = next(r for r in self.refunds.values() if str(r["OrderID"]) == orderid)
        return self.notification(
            "debit", self.data(message_id, amount=refund["Amount"], currency=refund["Currency"])
        )

    def send(self, notification: dict, url: str | None = None) -> tuple[int, bytes]:
        """POST a notification to our NotificationURL like Trustly does (the demo)."""
        message_id = notification["params"]["data"]["messageid"]
        sent = [
            d for d in [*self.orders.values(), *self.payouts.values()] if d.get("MessageID") == message_id
        ]
        return post(url or sent[-1]["NotificationURL"], self.body(notification), "application/json")

    def notification(self, method: str, data: dict, *, sign: bool = True, uuid: str | None = None) -> dict:
        uuid = uuid or str(uuidlib.uuid4())
        params = {"uuid": uuid, "data": data}
        params["signature"] = trustly.sign(method, uuid, data, self.private_key) if sign else ""
        return {"method": method, "params": params, "version": "1.1"}

    def data(self, message_id: str, **fields) -> dict:
        """The common notification data for the order of `message_id` (ours)."""
        orderid = self.order_for(message_id)
        order = self.orders[orderid]
        attrs = order.get("Attributes") or {}
        return {
            "orderid": orderid,
            "messageid": message_id,
            "notificationid": str(secrets.randbelow(9 * 10**9) + 10**9),
            "enduserid": order.get("EndUserID", ""),
            "amount": attrs.get("Amount", ""),
            "currency": attrs.get("Currency", ""),
            "timestamp": "2026-11-25 10:00:00.000000+00",
            **fields,
        }

    def kyc_data(self, message_id: str, *, personid: str, dob: str, country: str = "SE", **attrs) -> dict:
        orderid = self.order_for(message_id)
        return {
            "orderid": orderid,
            "messageid": message_id,
            "notificationid": str(secrets.randbelow(9 * 10**9) + 10**9),
            "kycentityid": "kyc-" + secrets.token_hex(4),
            "attributes": {
                "personid": personid,
                "firstname": "Sven",
                "lastname": "Svensson",
                "dob": dob,
                "street": "Storgatan 1",
                "zipcode": "11122",
                "city": "Stockholm",
                "country": country,
                **attrs,
            },
        }

    @staticmethod
    def body(notification: dict) -> bytes:
        return json.dumps(notification).encode()
