"""A sandbox double of Nuvei on loopback, for tests and the demo.

It answers the REST API's `openOrder.do` (checking the request checksum with the merchant
secret) with a session token and an order id, serves the payment page's URL, and builds
DMNs (form-encoded, with `advanceResponseChecksum`) for our webhook. Payouts:
`withdrawal/submitRequest.do` (checksummed; a merchantWDRequestId seen before answers the
same request; `refuse_next_payout` refuses one) and `withdrawal_dmn`, the checksummed
withdrawal DMN Nuvei posts to the request's notificationUrl. Refunds:
`refundTransaction.do` (checksummed; against a Sale it sent a DMN for, no more than is
left of it; a clientRequestId seen before answers the same transactionId;
`refuse_next_refund` declines one) and `refund_dmn`, the checksummed Credit DMN.

    with NuveiSandbox(secret=...) as nuvei:
        settings.NUVEI_API_BASE_URL = nuvei.base_url
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from urllib.parse import urlencode

from ..providers.nuvei import dmn_checksum, refund_checksum, request_checksum, withdrawal_dmn_checksum
from .loopback import Answer, LoopbackSandbox, Request


class NuveiSandbox(LoopbackSandbox):
    name = "nuvei"
    prefix = "/ppp/api/v1"

    def __init__(self, *, secret: str):
        super().__init__()
        self.secret = secret
        self.orders: dict[str, dict] = {}  # clientUniqueId (ours) -> the openOrder request + orderId
        self.fail_next = False
        self.withdrawals: dict[str, dict] = {}  # wdRequestId -> the submitRequest request
        self.refuse_next_payout = False
        self.sales: dict[str, dict] = {}  # TransactionID -> the approved Sale DMN's fields
        self.refunds: dict[str, dict] = {}  # transactionId -> the refundTransaction request
        self.refuse_next_refund = False

    def _refund(self, body: dict) -> Answer:
        if body.get("checksum") != refund_checksum(body, self.secret):
            return Answer.json(200, {"status": "ERROR", "errCode": 1001, "reason": "Invalid checksum"})
        seen = next(
            (t for t, r in self.refunds.items() if r["clientRequestId"] == body["clientRequestId"]), None
        )
        if seen:
            return Answer.json(
                200, {"status": "SUCCESS", "transactionStatus": "APPROVED", "transactionId": seen}
            )
        sale = self.sales.get(str(body.get("relatedTransactionId")))
        declined = {"status": "SUCCESS", "transactionStatus": "DECLINED", "transactionId": ""}
        if sale is None or self.refuse_next_refund:
            self.refuse_next_refund = False
            return Answer.json(200, {**declined, "gwErrorReason": "Refund declined by the sandbox"})
        left = Decimal(sale["totalAmount"]) - sum(
            Decimal(r["amount"])
            for r in self.refunds.values()
            if r["relatedTransactionId"] == sale["TransactionID"]
        )
        if body.get("currency") != sale["currency"] or not 0 < Decimal(body.get("amount") or "0") <= left:
            return Answer.json(200, {**declined, "gwErrorReason": "Invalid amount"})
        tid = str(secrets.randbelow(9 * 10**9) + 10**9)
        self.refunds[tid] = body
        return Answer.json(200, {"status": "SUCCESS", "transactionStatus": "APPROVED", "transactionId": tid})

    def refund_dmn(self, reference: str) -> dict[str, str]:
        """The checksummed Credit DMN that confirms the refund asked for deposit `reference`."""
        tid, refund = next((t, r) for t, r in self.refunds.items() if r["clientUniqueId"] == reference)
        return self.dmn(
            reference,
            refund["amount"],
            refund["currency"],
            transaction_type="Credit",
            transaction_id=tid,
            related=refund["relatedTransactionId"],
        )

    def _submit_request(self, body: dict) -> Answer:
        fields = (
            "merchantId",
            "merchantSiteId",
            "userTokenId",
            "amount",
            "currency",
            "userPMId",
            "merchantWDRequestId",
            "timeStamp",
        )
        expected = request_checksum(*(str(body.get(f, "")) for f in fields), secret=self.secret)
        if body.get("checksum") != expected:
            return Answer.json(200, {"status": "ERROR", "errCode": 1001, "reason": "Invalid checksum"})
        if self.refuse_next_payout:
            self.refuse_next_payout = False
            return Answer.json(200, {"status": "ERROR", "errCode": 1140, "reason": "Refused by the sandbox"})
        seen = next(
            (
                k
                for k, w in self.withdrawals.items()
                if w["merchantWDRequestId"] == body["merchantWDRequestId"]
            ),
            None,
        )
        wd = seen or str(secrets.randbelow(9 * 10**6) + 10**6)
        self.withdrawals.setdefault(wd, body)
        return Answer.json(
            200, {"status": "SUCCESS", "errCode": 0, "wdRequestId": wd, "wdRequestStatus": "Pending"}
        )

    def handle(self, request: Request) -> Answer:
        if request.method == "POST" and request.path.endswith("/refundTransaction.do"):
            return self._refund(request.json() or {})
        if request.method == "POST" and request.path.endswith("/withdrawal/submitRequest.do"):
            return self._submit_request(request.json() or {})
        if request.method != "POST" or not request.path.endswith("/openOrder.do"):
            return Answer.json(404, {"status": "ERROR", "reason": "not found"})
        body = request.json() or {}
        fields = ("merchantId", "merchantSiteId", "clientRequestId", "amount", "currency", "timeStamp")
        expected = request_checksum(*(str(body.get(f, "")) for f in fields), secret=self.secret)
        if body.get("checksum") != expected:
            return Answer.json(200, {"status": "ERROR", "errCode": 1001, "reason": "Invalid checksum"})
        if self.fail_next:
            self.fail_next = False
            return Answer.json(200, {"status": "ERROR", "errCode": 1069, "reason": "Refused by the sandbox"})
        order_id = str(secrets.randbelow(9 * 10**8) + 10**8)
        token = secrets.token_hex(16)
        self.orders[body.get("clientUniqueId", "")] = {**body, "orderId": order_id, "sessionToken": token}
        return Answer.json(
            200,
            {
                "status": "SUCCESS",
                "errCode": 0,
                "reason": "",
                "orderId": order_id,
                "sessionToken": token,
                "merchantId": body["merchantId"],
                "merchantSiteId": body["merchantSiteId"],
                "clientRequestId": body["clientRequestId"],
            },
        )

    def dmn(
        self,
        reference: str,
        amount: str,
        currency: str,
        *,
        status: str = "APPROVED",
        transaction_type: str = "Sale",
        transaction_id: str | None = None,
        related: str = "",
        sign: bool = True,
        upo: str = "8001",
    ) -> dict[str, str]:
        """The fields of a payment DMN, checksummed like Nuvei does."""
        fields = {
            "ppp_status": "OK" if status == "APPROVED" else ("PENDING" if status == "PENDING" else "FAIL"),
            "Status": status,
            "totalAmount": amount,
            "currency": currency,
            "PPP_TransactionID": str(secrets.randbelow(9 * 10**8) + 10**8),
            "TransactionID": transaction_id or str(secrets.randbelow(9 * 10**9) + 10**9),
            "transactionType": transaction_type,
            "relatedTransactionId": related,
            "clientUniqueId": reference,
            "merchant_unique_id": reference,
            "productId": "NA",
            "responseTimeStamp": "2026-11-25.10:00:00",
            "payment_method": "cc_card",
            "userPaymentOptionId": upo,
            "ErrCode": "0" if status == "APPROVED" else "-1",
            "Reason": "" if status == "APPROVED" else "Declined",
        }
        fields["advanceResponseChecksum"] = dmn_checksum(fields, self.secret) if sign else "0" * 64
        if sign and status == "APPROVED" and transaction_type == "Sale":
            self.sales[fields["TransactionID"]] = fields
        return fields

    def withdrawal_dmn(
        self,
        wd_request_id: str,
        *,
        status: str = "Approved",
        order_status: str = "Settled",
        amount: str | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        """A withdrawal DMN for a request we submitted, checksummed (another secret forges one)."""
        request = self.withdrawals[wd_request_id]
        fields = {
            "wdRequestId": wd_request_id,
            "wdRequestStatus": status,
            "wdOrderStatus": order_status,
            "merchantWDRequestId": request["merchantWDRequestId"],
            "merchantUniqueId": request["merchantUniqueId"],
            "userTokenId": request["userTokenId"],
            "amount": amount or request["amount"],
            "currency": request["currency"],
            "reason": "" if status in ("Approved", "Pending") else "Declined by the sandbox",
        }
        fields["checksum"] = withdrawal_dmn_checksum(
            list(fields.items()), self.secret if secret is None else secret
        )
        return fields

    @staticmethod
    def body(fields: dict[str, str]) -> bytes:
        return urlencode(fields).encode()
