"""The payment providers' side of the simulation: their sandbox doubles (payments.sandbox).

Pitboss calls a provider when a deposit starts (Adyen's sessions, Nuvei's openOrder,
Zimpler's deposits), so those doubles must listen where the server's settings point:
each double is started on the port of its `*_API_BASE_URL` when that URL is loopback
(`make run` sets them; the test points them at free ports). A provider whose URL is not
loopback is left out of the simulation. Payz's payment page needs no call, so Payz is
always in. Each double then builds the signed notification its provider would post."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from payments.sandbox import adyen as adyen_sandbox
from payments.sandbox import loopback
from payments.sandbox.adyen import AdyenSandbox
from payments.sandbox.nuvei import NuveiSandbox
from payments.sandbox.payz import PayzSandbox
from payments.sandbox.zimpler import ZimplerSandbox

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# (provider, setting, the path prefix the double answers under)
SERVED = [
    ("adyen", "ADYEN_API_BASE_URL", None),
    ("nuvei", "NUVEI_API_BASE_URL", None),
    ("zimpler", "ZIMPLER_API_BASE_URL", "/v4"),
]


def loopback_port(url: str, prefix: str | None = None) -> int | None:
    """The port of a loopback URL with an explicit port (and the expected path), else None."""
    parts = urlsplit(url or "")
    if parts.hostname not in _LOOPBACK or not parts.port:
        return None
    if prefix is not None and parts.path.rstrip("/") != prefix:
        return None
    return parts.port


def _serve(sandbox, port: int, server_cls, handler_cls) -> None:
    # The doubles bind a random port (what tests want); here the port is the one the
    # server was configured with, so the double is started on it with its own classes.
    server = server_cls(("127.0.0.1", port), handler_cls)
    server.sandbox = sandbox
    sandbox._server = server
    threading.Thread(target=server.serve_forever, name=f"sim-{port}", daemon=True).start()


def _stop(sandbox) -> None:
    server = sandbox._server
    if server is not None:
        server.shutdown()
        server.server_close()
        sandbox._server = None


@dataclass
class Doubles:
    adyen: AdyenSandbox | None = None
    nuvei: NuveiSandbox | None = None
    zimpler: ZimplerSandbox | None = None
    payz: PayzSandbox | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # provider -> why it is left out
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def deposit_providers(self) -> list[str]:
        return [p for p in ("adyen", "nuvei", "payz", "zimpler") if getattr(self, p) is not None]


def start(stack: ExitStack, settings) -> Doubles:
    """Start the doubles the server's settings point at; stopped when `stack` closes."""
    d = Doubles(payz=PayzSandbox(password=settings.PAYZ_MERCHANT_PASSWORD))
    for provider, name, prefix in SERVED:
        url = getattr(settings, name, "")
        port = loopback_port(url, prefix)
        if port is None:
            d.skipped[provider] = f"{name}={url!r} is not a loopback URL with a port" + (
                f" and path {prefix}" if prefix else ""
            )
            continue
        if provider == "adyen":
            sandbox = AdyenSandbox(
                hmac_key_hex=settings.ADYEN_HMAC_KEY,
                api_key=settings.ADYEN_API_KEY,
                merchant_account=settings.ADYEN_MERCHANT_ACCOUNT,
            )
            classes = (adyen_sandbox._Server, adyen_sandbox._Handler)
        elif provider == "nuvei":
            sandbox = NuveiSandbox(secret=settings.NUVEI_SECRET_KEY)
            classes = (loopback._Server, loopback._Handler)
        else:
            sandbox = ZimplerSandbox(api_key=settings.ZIMPLER_API_KEY)
            classes = (loopback._Server, loopback._Handler)
        try:
            _serve(sandbox, port, *classes)
        except OSError as exc:
            d.skipped[provider] = f"cannot listen on 127.0.0.1:{port} ({exc.strerror})"
            continue
        stack.callback(_stop, sandbox)
        setattr(d, provider, sandbox)
    return d


def major(amount: int) -> str:
    return f"{Decimal(amount) / 100:.2f}"


def notification(d: Doubles, provider: str, reference: str, amount: int, currency: str, success: bool):
    """The provider's signed notification of a deposit's outcome: (path, body, content type).
    Zimpler's body is only a trigger: Pitboss fetches the deposit's state from the double."""
    if provider == "adyen":
        item = d.adyen.item(
            "AUTHORISATION", reference, amount, currency, success=success, reason="" if success else "Refused"
        )
        return "/webhooks/adyen/", d.adyen.body(item), "application/json"
    if provider == "nuvei":
        dmn = d.nuvei.dmn(reference, major(amount), currency, status="APPROVED" if success else "DECLINED")
        return "/webhooks/nuvei/", d.nuvei.body(dmn), "application/x-www-form-urlencoded"
    if provider == "payz":
        xml = d.payz.notification_xml(
            reference,
            major(amount),
            currency,
            status="4" if success else "3",
            result_code="" if success else "1",
        )
        return "/webhooks/payz/", d.payz.body(xml), "application/x-www-form-urlencoded"
    if provider == "zimpler":
        with d.lock:
            dep = d.zimpler.by_ref(reference)
            d.zimpler.set_state(dep["id"], "authorized" if success else "rejected")
            body = d.zimpler.notification_body(dep["id"])
        return "/webhooks/zimpler/", body, "application/json"
    raise ValueError(provider)


# What each provider's webhook answers when it accepted a delivery.
ACCEPTED = {
    "adyen": (200, b"[accepted]"),
    "nuvei": (200, b"OK"),
    "payz": (200, None),  # an XML answer with Status OK (checked by its code element)
    "zimpler": (204, b""),
}


def accepted(provider: str, status: int, body: bytes) -> bool:
    want_status, want_body = ACCEPTED[provider]
    if status != want_status:
        return False
    if provider == "payz":
        return b"<Code>0</Code>" in body or b"<code>0</code>" in body.lower()
    return want_body is None or body.strip() == want_body
