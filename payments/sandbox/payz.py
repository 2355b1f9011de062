"""A sandbox double of Payz on loopback, for tests and the demo.

It serves the payment page (`GET /PrivateArea/WithdrawOnlineTransfer.aspx`), refusing a
request whose checksum does not match, and builds the status notification Payz posts
(form field XML, an SVSPurchaseStatusNotificationRequest checksummed with the merchant
password) for our webhook. Payouts: the SOAP `Payout` at MerchantAPIService.asmx (our
password, a known client account; a TxID seen before answers the same SvsTxID;
`refuse_next_payout` answers ErrorCode 11007) and `payout_notification`, the status
notification confirming (or failing) a payout.

    with PayzSandbox(password=...) as payz:
        settings.PAYZ_API_BASE_URL = payz.base_url
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

from ..providers.payz import (
    PAGE_FIELDS,
    PAGE_PATH,
    PAYOUT_PATH,
    notification_checksum,
    request_checksum,
    soap_values,
)
from .loopback import Answer, LoopbackSandbox, Request

_DECL = '<?xml version="1.0" encoding="utf-8"?>'


class PayzSandbox(LoopbackSandbox):
    name = "payz"

    def __init__(self, *, password: str):
        super().__init__()
        self.password = password
        self.pages: dict[str, dict[str, str]] = {}  # TxID -> the page request
        self.accounts = {"1100185585"}  # the client account the notifications name
        self.payouts: dict[str, dict[str, str]] = {}  # TxID -> the Payout fields + SvsTxID
        self.refuse_next_payout = False

    def _payout(self, request: Request) -> Answer:
        values = soap_values(request.body)
        if values.get("MerchantPassword") != self.password:
            return self._payout_answer("10001", "Invalid merchant credentials")
        if self.refuse_next_payout:
            self.refuse_next_payout = False
            return self._payout_answer("11007", "Not enough money")
        if values.get("ClientAccountNumber") not in self.accounts:
            return self._payout_answer("11010", "Unknown client account")
        if not values.get("Amount", "").isdigit() or not values.get("TxID"):
            return self._payout_answer("10002", "Invalid Amount or TxID")
        seen = self.payouts.get(values["TxID"])
        if seen is None:
            seen = self.payouts[values["TxID"]] = {
                **values,
                "SvsTxID": str(secrets.randbelow(9 * 10**9) + 10**9),
            }
        return self._payout_answer("0", "OK", seen["SvsTxID"])

    @staticmethod
    def _payout_answer(code: str, message: str, svs_id: str = "") -> Answer:
        xml = (
            f'{_DECL}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            '<PayoutResponse xmlns="http://www.ecocard.com/merchantAPI/"><PayoutResult>'
            f"<ErrorCode>{code}</ErrorCode><Message>{escape(message)}</Message><SvsTxID>{svs_id}</SvsTxID>"
            "</PayoutResult></PayoutResponse></soap:Body></soap:Envelope>"
        )
        return Answer(200, xml.encode(), "text/xml; charset=utf-8")

    def payout_notification(
        self, tx_id: str, *, status: str = "4", result_code: str = "", amount=None
    ) -> str:
        """The status notification on a payout's TxID (Amount in major units)."""
        payout = self.payouts[tx_id]
        minor = int(payout["Amount"])
        major = amount or f"{minor // 100}.{minor % 100:02d}"
        return self.notification_xml(
            tx_id,
            major,
            payout["Currency"],
            status=status,
            result_code=result_code,
            payz_id=payout["SvsTxID"],
        )

    def page_valid(self, url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
        expected = request_checksum([query.get(f, "") for f in PAGE_FIELDS], self.password)
        return query.get("Checksum") == expected

    def handle(self, request: Request) -> Answer:
        if request.method == "POST" and urlsplit(request.path).path == PAYOUT_PATH:
            return self._payout(request)
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
