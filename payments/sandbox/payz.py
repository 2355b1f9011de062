"""A sandbox double of Payz on loopback, for tests and the demo.

It serves the payment page (`GET /PrivateArea/WithdrawOnlineTransfer.aspx`), refusing a
request whose checksum does not match, and builds the status notification Payz posts
(form field XML, an SVSPurchaseStatusNotificationRequest checksummed with the merchant
password) for our webhook.

    with PayzSandbox(password=...) as payz:
        settings.PAYZ_API_BASE_URL = payz.base_url
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

from ..providers.payz import PAGE_FIELDS, PAGE_PATH, notification_checksum, request_checksum
from .loopback import Answer, LoopbackSandbox, Request

_DECL = '<?xml version="1.0" encoding="utf-8"?>'


class PayzSandbox(LoopbackSandbox):
    name = "payz"

    def __init__(self, *, password: str):
        super().__init__()
        self.password = password
        self.pages: dict[str, dict[str, str]] = {}  # TxID -> the page request

    def page_valid(self, url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
        expected = request_checksum([query.get(f, "") for f in PAGE_FIELDS], self.password)
        return query.get("Checksum") == expected

    def handle(self, request: Request) -> Answer:
        if request.method != "GET" or urlsplit(request.path).path != PAGE_PATH:
            return Answer(404, b"not found", "text/plain")
        if not self.page_valid(request.path):
            return Answer(400, b"Invalid checksum", "text/plain")
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        self.pages[query["TxID"]] = query
        return Answer(200, b"<html><body>Payz payment page (sandbox)</body></html>", "text/html")

    def notification_xml(
        self,
        tx_id: str,
        amount: str,
        currency: str,
        *,
        status: str = "4",
        result_code: str = "",
        payz_id: str | None = None,
        password: str | None = None,
    ) -> str:
        """An SVSPurchaseStatusNotificationRequest, checksummed (with another password to forge one)."""
        payz_id = payz_id or str(secrets.randbelow(9 * 10**18) + 10**18)
        xml = (
            f"{_DECL}<SVSPurchaseStatusNotificationRequest><StatusReport><StatusDescription></StatusDescription>"
            f"<Status>{escape(status)}</Status><SVSTransaction><SVSCustomerAccount>1100185585</SVSCustomerAccount>"
            "<ProcessingTime>2026-11-25 10:00:00</ProcessingTime><Result><Description></Description>"
            f"<Code>{escape(result_code)}</Code></Result><BatchNumber>6639037</BatchNumber><Id>{payz_id}</Id>"
            "</SVSTransaction><SVSCustomer><IP></IP><PostalCode>123456</PostalCode><Country>MT</Country>"
            "<LastName>Test</LastName><FirstName>Player</FirstName></SVSCustomer></StatusReport><Request>"
            f"<MerchantFreeText>Deposit {escape(tx_id)}</MerchantFreeText><CustomerIdAtMerchant></CustomerIdAtMerchant>"
            f"<MerchantAccountNumber>100000</MerchantAccountNumber><Currency>{escape(currency)}</Currency>"
            f"<Amount>{escape(amount)}</Amount><TxBatchNumber>0</TxBatchNumber><TxID>{escape(tx_id)}</TxID></Request>"
            "<Authentication><Checksum>PLACEHOLDER</Checksum></Authentication></SVSPurchaseStatusNotificationRequest>"
        )
        checksum = notification_checksum(xml, self.password if password is None else password)
        return xml.replace("<Checksum>PLACEHOLDER</Checksum>", f"<Checksum>{checksum}</Checksum>")

    @staticmethod
    def body(xml: str) -> bytes:
        return urlencode({"XML": xml}).encode()
