"""A sandbox double of Adyen on loopback, for tests and the demo.

It answers the Checkout API's `POST /sessions` and `POST /payments` and the Payout API's
`POST /submitThirdParty` and `POST /payments/{pspReference}/refunds` the way Adyen does (the fields our adapter reads), remembers each
request, and builds and sends correctly
signed standard webhooks back to our `/webhooks/adyen/`. The signer is pluggable: the
tests sign with the official `Adyen` package's `Adyen.util.generate_notification_sig`;
without one the double uses our own signer (payments.providers.adyen.item_signature).

    with AdyenSandbox(hmac_key_hex=...) as sandbox:
        settings.ADYEN_API_BASE_URL = sandbox.base_url
        ...
        sandbox.send(webhook_url, sandbox.item("AUTHORISATION", reference, 2500, "EUR"))
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..providers.adyen import item_signature

Signer = Callable[[dict, str], str]


def _psp_reference() -> str:
    return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(16))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # quiet: tests read .requests instead
        pass

    def _answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._answer(400, {"status": 400, "errorCode": "702", "message": "Structure error"})
        sandbox = self.server.sandbox
        sandbox.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.headers.get("X-API-Key") != sandbox.api_key:
            return self._answer(
                401, {"status": 401, "errorCode": "000", "message": "HTTP Status Response - Unauthorized"}
            )
        path = self.path.rstrip("/").rsplit("/", 1)[-1]
        if path not in ("sessions", "payments", "submitThirdParty", "refunds") or sandbox.fail_next:
            sandbox.fail_next = False
            return self._answer(
                422, {"status": 422, "errorCode": "14_0", "message": "Refused by the sandbox"}
            )
        if path == "submitThirdParty":
            return self._payout(sandbox, body)
        if path == "refunds":
            return self._refund(sandbox, body)
        missing = [k for k in ("merchantAccount", "amount", "reference") if k not in body]
        if missing:
            return self._answer(422, {"status": 422, "errorCode": "702", "message": f"Missing {missing}"})
        if path == "sessions":
            session_id = "CS" + secrets.token_hex(8).upper()
            sandbox.sessions[body["reference"]] = session_id
            return self._answer(
                201,
                {
                    "id": session_id,
                    "amount": body["amount"],
                    "merchantAccount": body["merchantAccount"],
                    "reference": body["reference"],
                    "returnUrl": body.get("returnUrl", ""),
                    "mode": body.get("mode", "embedded"),
                    "url": f"{sandbox.base_url}/checkoutshopper/pay/{session_id}",
                    "sessionData": secrets.token_urlsafe(24),
                    "expiresAt": "2099-01-01T00:00:00+00:00",
                },
            )
        return self._answer(
            200,
            {
                "pspReference": _psp_reference(),
                "resultCode": "Authorised",
                "merchantReference": body["reference"],
            },
        )

    def _payout(self, sandbox: AdyenSandbox, body: dict):
        """Payout API submitThirdParty: received, confirmed later by a PAYOUT_THIRDPARTY
        webhook (sandbox.item("PAYOUT_THIRDPARTY", ...)). An Idempotency-Key seen before
        answers the first pspReference again, like Adyen."""
        missing = [k for k in ("merchantAccount", "amount", "reference", "shopperReference") if k not in body]
        if missing:
            return self._answer(422, {"status": 422, "errorCode": "702", "message": f"Missing {missing}"})
        key = self.headers.get("Idempotency-Key") or secrets.token_hex(8)
        with sandbox.lock:
            psp = sandbox.payouts_by_key.get(key)
            if psp is None:
                psp = sandbox.payouts_by_key[key] = _psp_reference()
                sandbox.payouts[body["reference"]] = psp
        return self._answer(200, {"pspReference": psp, "resultCode": "[payout-submit-received]"})

    def _refund(self, sandbox: AdyenSandbox, body: dict):
        """Checkout refunds: received (201), confirmed later by a REFUND webhook
        (sandbox.refund_item). A seen Idempotency-Key answers the first refund again."""
        missing = [k for k in ("merchantAccount", "amount", "reference") if k not in body]
        if missing:
            return self._answer(422, {"status": 422, "errorCode": "702", "message": f"Missing {missing}"})
        payment_psp = self.path.rstrip("/").split("/")[-2]
        key = self.headers.get("Idempotency-Key") or secrets.token_hex(8)
        with sandbox.lock:
            refund = sandbox.refunds_by_key.get(key)
            if refund is None:
                refund = sandbox.refunds_by_key[key] = {
                    "merchantAccount": body["merchantAccount"],
                    "paymentPspReference": payment_psp,
                    "pspReference": _psp_reference(),
                    "reference": body["reference"],
                    "amount": body["amount"],
                    "status": "received",
                }
                sandbox.refunds[body["reference"]] = refund
        return self._answer(201, refund)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: AdyenSandbox


class AdyenSandbox:
    def __init__(
        self,
        *,
        hmac_key_hex: str,
        api_key: str = "test-adyen-api-key",
        merchant_account: str = "PitbossTest",
        signer: Signer | None = None,
    ):
        self.hmac_key_hex = hmac_key_hex
        self.api_key = api_key
        self.merchant_account = merchant_account
        self.signer: Signer = signer or item_signature
        self.requests: list[tuple[str, dict, dict]] = []
        self.sessions: dict[str, str] = {}
        self.payouts: dict[str, str] = {}  # our reference -> pspReference
        self.payouts_by_key: dict[str, str] = {}
        self.refunds: dict[str, dict] = {}  # our reference -> the refund Adyen received
        self.refunds_by_key: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.fail_next = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- the API side --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the sandbox first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v71"

    @property
    def payout_base_url(self) -> str:
        assert self._server is not None, "start() the sandbox first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/pal/servlet/Payout/v68"

    def start(self) -> AdyenSandbox:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sandbox = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="adyen-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AdyenSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the webhook side ----------------------------------------------------------------

    def item(
        self,
        event_code: str,
        merchant_reference: str,
        value: int,
        currency: str,
        *,
        success: bool = True,
        psp_reference: str | None = None,
        original_reference: str = "",
        payment_method: str = "visa",
        card_summary: str = "1111",
        reason: str = "",
        sign: bool = True,
    ) -> dict:
        """One NotificationRequestItem, signed (additionalData.hmacSignature)."""
        item = {
            "amount": {"value": value, "currency": currency},
            "eventCode": event_code,
            "eventDate": "2026-01-10T13:42:29+01:00",
            "merchantAccountCode": self.merchant_account,
            "merchantReference": merchant_reference,
            "pspReference": psp_reference or _psp_reference(),
            "paymentMethod": payment_method,
            "reason": reason or (f"052095:{card_summary}:03/2030" if event_code == "AUTHORISATION" else ""),
            "success": "true" if success else "false",
        }
        if original_reference:
            item["originalReference"] = original_reference
        extra = {"cardSummary": card_summary, "expiryDate": "03/2030", "cardBin": "411111"}
        if sign:
            signature = self.signer(item, self.hmac_key_hex)
            extra["hmacSignature"] = signature.decode() if isinstance(signature, bytes) else signature
        item["additionalData"] = extra
        return item

    def refund_item(self, merchant_reference: str, *, success: bool = True) -> dict:
        """The signed REFUND webhook item for a refund the double received."""
        refund = self.refunds[merchant_reference]
        return self.item(
            "REFUND",
            merchant_reference,
            refund["amount"]["value"],
            refund["amount"]["currency"],
            success=success,
            psp_reference=refund["pspReference"],
            original_reference=refund["paymentPspReference"],
        )

    @staticmethod
    def body(*items: dict) -> bytes:
        return json.dumps(
            {"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]}
        ).encode()

    def send(self, webhook_url: str, *items: dict, timeout: float = 10) -> tuple[int, str]:
        """POST a notification to our webhook like Adyen does; (status, body)."""
        req = urllib.request.Request(
            webhook_url,
            data=self.body(*items),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "Adyen HttpClient 1.0"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - loopback in tests
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
