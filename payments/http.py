"""The one HTTP client every adapter's outbound call goes through.

With PAYMENTS_LOOPBACK_ONLY (the default outside production) it refuses any host that is
not loopback, so tests and the demo talk only to the sandbox doubles (payments/sandbox/)
and no call ever leaves the machine."""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from .providers.base import ProviderError

logger = logging.getLogger(__name__)

LOOPBACK_ONLY = (
    "PAYMENTS_LOOPBACK_ONLY is on: {host} is not loopback (point the provider's base URL at a sandbox)."
)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_host(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if getattr(settings, "PAYMENTS_LOOPBACK_ONLY", True) and not _is_loopback(host):
        raise ProviderError(LOOPBACK_ONLY.format(host=host))


def _send(
    url: str, *, method: str, body: bytes | None, headers: dict[str, str], timeout: float | None
) -> Response:
    """The one place a provider is called: the host check, the timeout, and the answer
    whatever its status. ProviderError when the provider cannot be reached (or the host is
    refused)."""
    _check_host(url)
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    timeout = timeout or getattr(settings, "PAYMENTS_HTTP_TIMEOUT_SECONDS", 10)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - host checked above
            return Response(r.status, r.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read())
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        logger.warning("payments: %s unreachable: %s", urlsplit(url).netloc, exc)
        raise ProviderError(f"{urlsplit(url).netloc} is unreachable: {exc}") from exc


def post_json(
    url: str, payload: dict, *, headers: dict[str, str] | None = None, timeout: float | None = None
) -> Response:
    """POST a JSON body; the response whatever its status."""
    return _send(
        url,
        method="POST",
        body=json.dumps(payload, separators=(",", ":")).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
        timeout=timeout,
    )


def get_json(url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None) -> Response:
    """GET a JSON resource (Zimpler: re-fetch the deposit a notification names)."""
    return _send(
        url,
        method="GET",
        body=None,
        headers={"Accept": "application/json", **(headers or {})},
        timeout=timeout,
    )


def post_form(
    url: str, fields: dict[str, str], *, headers: dict[str, str] | None = None, timeout: float | None = None
) -> Response:
    """POST a form-encoded body (Nuvei's and Payz's APIs)."""
    return _send(
        url,
        method="POST",
        body=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        timeout=timeout,
    )


def post_xml(
    url: str, xml: str, *, headers: dict[str, str] | None = None, timeout: float | None = None
) -> Response:
    """POST an XML document (Payz's SOAP MerchantAPIService)."""
    return _send(
        url,
        method="POST",
        body=xml.encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8", **(headers or {})},
        timeout=timeout,
    )
