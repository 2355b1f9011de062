"""The part every provider's sandbox double shares: a threaded HTTP server on a random
127.0.0.1 port that hands each request to the double's `handle`, records it, and stops
cleanly. A double subclasses LoopbackSandbox and implements `handle`."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, data) -> Answer:
        return cls(status, json.dumps(data).encode())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # quiet: tests read .requests instead
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        sandbox = self.server.sandbox
        sandbox.requests.append(request)
        try:
            answer = sandbox.handle(request)
        except Exception as exc:  # a bug in the double: answer like a provider's outage
            answer = Answer.json(500, {"error": repr(exc)})
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: LoopbackSandbox


class LoopbackSandbox:
    name = "sandbox"
    prefix = ""  # the API's path prefix in base_url ("/v4")

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._server: _Server | None = None

    def handle(self, request: Request) -> Answer:
        raise NotImplementedError

    @property
    def root_url(self) -> str:
        assert self._server is not None, "start() the sandbox first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.root_url + self.prefix

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sandbox = self
        threading.Thread(target=self._server.serve_forever, name=f"{self.name}-sandbox", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def post(url: str, body: bytes, content_type: str, timeout: float = 10) -> tuple[int, bytes]:
    """POST a notification to a webhook like the provider does (the demo's live server)."""
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - loopback only
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
