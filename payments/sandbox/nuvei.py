"""A sandbox double of Nuvei on loopback, for tests and the demo.

It answers the REST API's `openOrder.do` (checking the request checksum with the merchant
secret) with a session token and an order id, serves the payment page's URL, and builds
DMNs (form-encoded, with `advanceResponseChecksum`) for our webhook.

    with NuveiSandbox(secret=...) as nuvei:
        settings.NUVEI_API_BASE_URL = nuvei.base_url
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from ..providers.nuvei import dmn_checksum, request_checksum
from .loopback import Answer, LoopbackSandbox, Request


class NuveiSandbox(LoopbackSandbox):
    name = "nuvei"
    prefix = "/ppp/api/v1"

    def __init__(self, *, secret: str):
        super().__init__()
        self.secret = secret
        self.orders: dict[str, dict] = {}  # clientUniqueId (ours) -> the openOrder request + orderId
        self.fail_next = False

    def handle(self, request: Request) -> Answer:
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
            "ErrCode": "0" if status == "APPROVED" else "-1",
            "Reason": "" if status == "APPROVED" else "Declined",
        }
        fields["advanceResponseChecksum"] = dmn_checksum(fields, self.secret) if sign else "0" * 64
        return fields

    @staticmethod
    def body(fields: dict[str, str]) -> bytes:
        return urlencode(fields).encode()
