"""HTTP for the simulator: stdlib http.client, one kept-alive connection per thread and
host, JSON and multipart bodies, the wallet's HMAC signature. No Django here: the
simulator talks to Pitboss only over HTTP, like the outside world does."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit


class Unreachable(Exception):
    """The server did not answer at all (refused, reset, timed out)."""


@dataclass(frozen=True)
class Reply:
    method: str
    path: str
    sent: bytes
    status: int
    body: bytes
    content_type: str

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def describe(self, limit: int = 400) -> str:
        sent = self.sent[:limit].decode("utf-8", "replace")
        got = self.body[:limit].decode("utf-8", "replace")
        return f"{self.method} {self.path} {sent!r} -> HTTP {self.status} {got!r}"


class Http:
    """Requests to one base URL. Thread-safe: each thread has its own connection."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Not an http(s) URL: {base_url!r}")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            conn = self._local.conn = cls(self.host, self.port, timeout=self.timeout)
            self._local.used = False
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Reply:
        headers = {"Content-Length": str(len(body)), **(headers or {})}
        url = self.prefix + path
        for attempt in (1, 2):
            conn = self._conn()
            reused = self._local.used
            try:
                conn.request(method, url, body=body or None, headers=headers)
                r = conn.getresponse()
                data = r.read()
            except (ConnectionError, http.client.HTTPException, TimeoutError, OSError) as exc:
                self._drop()
                # A kept-alive connection the server had already closed fails before the
                # request is read: sending it again on a new connection is safe. Anything
                # else (a fresh connection failing) means the server is not answering.
                if (
                    reused
                    and attempt == 1
                    and isinstance(
                        exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                    )
                ):
                    continue
                raise Unreachable(f"{method} {url}: {exc!r}") from exc
            self._local.used = True
            if (r.getheader("Connection") or "").lower() == "close":
                self._drop()
            return Reply(method, path, body, r.status, data, r.getheader("Content-Type") or "")
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, data=None, headers: dict | None = None) -> Reply:
        body = b"" if data is None else json.dumps(data).encode()
        return self.request(method, path, body, {"Content-Type": "application/json", **(headers or {})})

    def form(self, path: str, body: bytes, content_type: str) -> Reply:
        return self.request("POST", path, body, {"Content-Type": content_type})

    def multipart(self, path: str, fields: dict[str, str], files: dict, headers: dict | None = None) -> Reply:
        """files: name -> (file name, content type, bytes)."""
        boundary = "sim" + secrets.token_hex(12)
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, (filename, ctype, content) in files.items():
            parts.append(
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
                ).encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(
            "POST",
            path,
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})},
        )


def wallet_signature(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
