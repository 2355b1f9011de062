"""`manage.py simulate`: live traffic through the real interfaces. A short run against a
live server with a real Celery worker gets no unexpected answer, exercises every action
and leaves a ledger that verifies; a server answering nonsense makes it fail loudly."""

import importlib
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from demo.management.commands.simulate import Command
from demo.simulate.actions import ACTIONS
from demo.simulate.sandboxes import loopback_port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def markets(transactional_db):
    """A transactional test's flush removes the markets and rules the migrations seeded:
    load them again, as those migrations do."""
    from django.apps import apps

    from compliance import selectors
    from compliance.models import Jurisdiction

    if not Jurisdiction.objects.filter(code="FI").exists():
        for name in ("0002_seed_rules", "0009_kyc_level_before_play", "0011_mandatory_limits_corrections"):
            importlib.import_module(f"compliance.migrations.{name}").forward(apps, None)
    selectors.clear_rule_cache()


@pytest.fixture
def provider_ports(settings):
    """Point the server's provider URLs at free loopback ports: simulate starts each
    provider's double there, as `make run` arranges with environment variables."""
    settings.ADYEN_API_BASE_URL = f"http://127.0.0.1:{_free_port()}/v71"
    settings.NUVEI_API_BASE_URL = f"http://127.0.0.1:{_free_port()}/ppp/api/v1"
    settings.ZIMPLER_API_BASE_URL = f"http://127.0.0.1:{_free_port()}/v4"
    settings.PAYMENTS_LOOPBACK_ONLY = True


@pytest.mark.postgres
def test_a_short_run_against_a_live_server_has_no_unexpected_answers_and_the_ledger_verifies(
    markets, provider_ports, live_server, celery_worker_process, tmp_path
):
    from games.models import WalletTransaction
    from payments.models import Payment
    from players.models import Player
    from wallet.models import Transaction

    cmd, out = Command(), io.StringIO()
    try:
        call_command(
            cmd,
            url=live_server.url,
            rate=10,
            duration=8,
            seed=7,
            threads=4,
            state_file=str(tmp_path / "simulator.json"),
            stdout=out,
        )
    except CommandError as exc:
        pytest.fail(f"{exc}\n{out.getvalue()}")
    print(out.getvalue())  # the run's report, in the test log
    report = cmd.report
    assert not report.unexpected and not report.unreachable, out.getvalue()
    assert set(report.actions) >= set(ACTIONS), report.outcomes
    assert "No unexpected answers." in out.getvalue()
    # The traffic really went through: players, credited deposits, the aggregator's bets.
    assert Player.objects.filter(email__startswith="sim-").count() >= 4
    assert Payment.objects.filter(kind="deposit", state="succeeded").exists()
    assert Transaction.objects.filter(kind="deposit").exists()
    assert WalletTransaction.objects.filter(kind="bet").exists()
    # Every ledger invariant holds afterwards (ledger_verify exits non-zero otherwise).
    verify = io.StringIO()
    call_command("ledger_verify", stdout=verify)
    assert "Ledger verified: every invariant holds." in verify.getvalue()
    # The key is kept for the next run, which reuses the client instead of making another.
    assert json.loads((tmp_path / "simulator.json").read_text())["api_client"] == "simulator"


class _Nonsense(BaseHTTPRequestHandler):
    """A server that is up but answers every call with the same meaningless OK."""

    def log_message(self, *args):
        pass

    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"status": "OK", "id": "P0000000000"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def nonsense_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nonsense)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_answering_nonsense_fails_the_run_with_each_unexpected_answer(nonsense_server):
    cmd, out, err = Command(), io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            cmd,
            url=nonsense_server,
            rate=20,
            duration=1,
            seed=3,
            api_key="pbk_0_x",
            provider_secret="s",
            game=["sim:reels"],
            stdout=out,
            stderr=err,
        )
    assert exc.value.returncode == 1 and "unexpected answer(s)" in str(exc.value)
    text = out.getvalue()
    assert cmd.report.unexpected and text.count("UNEXPECTED [") == len(cmd.report.unexpected)
    assert err.getvalue().count("UNEXPECTED [") == len(cmd.report.unexpected)  # shown as they happen
    # Each one names why, with the request and the answer.
    assert "expected HTTP 201" in text and "POST /api/platform/v1/players" in text


def test_an_unreachable_server_exits_2():
    with pytest.raises(CommandError) as exc:
        call_command("simulate", url=f"http://127.0.0.1:{_free_port()}", duration=1, stdout=io.StringIO())
    assert exc.value.returncode == 2 and "cannot be reached" in str(exc.value)


@pytest.mark.parametrize(
    ("url", "prefix", "port"),
    [
        ("http://127.0.0.1:8100/v71", None, 8100),
        ("http://localhost:8102/v4", "/v4", 8102),
        ("http://127.0.0.1:8102/v3", "/v4", None),  # the double would not answer that path
        ("https://checkout-test.adyen.com/v71", None, None),  # not ours to serve
        ("http://127.0.0.1/v71", None, None),  # no port to listen on
    ],
)
def test_a_double_is_served_only_where_the_server_points_at_loopback(url, prefix, port):
    assert loopback_port(url, prefix) == port
