"""A sandbox double of Nuvei on loopback, for tests and the demo.

It answers the REST API's `openOrder.do` (checking the request checksum with the merchant
secret) with a session token and an order id, serves the payment page's URL, and builds
DMNs (form-encoded, with `advanceResponseChecksum`) for our webhook. Payouts:
`withdrawal/submitRequest.do` (checksummed; a merchantWDRequestId seen before answers the
same request; `refuse_next_payout` refuses one) and `withdrawal_dmn`, the checksummed
withdrawal DMN Nuvei posts to the request's notificationUrl.

    with NuveiSandbox(secret=...) as nuvei:
        settings.NUVEI_API_BASE_URL = nuvei.base_url
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from ..providers.nuvei import dmn_checksum, request_checksum, withdrawal_dmn_checksum
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
