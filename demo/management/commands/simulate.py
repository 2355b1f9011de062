"""`manage.py simulate --url URL --rate R --duration SECONDS`: live traffic against a
running Pitboss over HTTP (docs/demo.md, "Live traffic")."""

import os
import secrets
import signal
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.simulate import sandboxes
from demo.simulate.client import Http, Unreachable
from demo.simulate.model import Report
from demo.simulate.runner import Simulation
from demo.simulate.setup import MARKETS, local_credentials
from demo.simulate.world import Credentials, World


class Command(BaseCommand):
    help = (
        "Play the casino front end, a game aggregator and the payment providers against a running "
        "Pitboss; report what was sent and every unexpected answer (exit 1 if any, 2 if unreachable)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the Pitboss to simulate against")
        parser.add_argument("--rate", type=float, default=2.0, help="actions per second (default 2)")
        parser.add_argument("--duration", type=float, default=60.0, help="seconds; 0 runs until Ctrl-C")
        parser.add_argument("--seed", type=int, default=1, help="the random choices' seed (default 1)")
        parser.add_argument("--threads", type=int, default=4, help="concurrent actions (default 4)")
        parser.add_argument(
            "--wait", type=float, default=0.0, help="seconds to wait for the server to answer"
        )
        parser.add_argument("--progress", type=float, default=10.0, help="seconds between reports at -v 2")
        parser.add_argument(
            "--state-file",
            default=None,
            help="where the simulator keeps its API key (default PITBOSS_DATA_DIR/simulator.json)",
        )
        remote = parser.add_argument_group("another installation (no local set-up)")
        remote.add_argument("--api-key", default=os.environ.get("PITBOSS_SIMULATE_API_KEY", ""))
        remote.add_argument("--provider", default=os.environ.get("PITBOSS_SIMULATE_PROVIDER", "simulator"))
        remote.add_argument(
            "--provider-secret", default=os.environ.get("PITBOSS_SIMULATE_PROVIDER_SECRET", "")
        )
        remote.add_argument(
            "--game", action="append", default=[], help="a game code offered in every market, or MARKET=CODE"
        )

    def handle(self, *args, **o):
        if o["rate"] <= 0 or o["threads"] < 1 or o["duration"] < 0:
            raise CommandError("--rate must be above 0, --threads at least 1, --duration 0 or more.")
        try:
            http = Http(o["url"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self._wait_for(http, o["url"], o["wait"])
        creds = self._credentials(o)
        report = Report(on_wrong=lambda u: self.stderr.write(f"UNEXPECTED {u}"))
        with ExitStack() as stack:
            doubles = sandboxes.start(stack, settings)
            for provider, why in doubles.skipped.items():
                self.stdout.write(f"Payments through {provider} are not simulated: {why}.")
            world = World(http=http, creds=creds, doubles=doubles, report=report, tag=secrets.token_hex(4))
            self.stdout.write(
                f"Simulating against {o['url']}: {o['rate']:g} actions/s, "
                + (f"{o['duration']:g} s" if o["duration"] else "until Ctrl-C")
                + f", seed {o['seed']}, providers {', '.join(doubles.deposit_providers)}."
            )
            sim = Simulation(
                world,
                rate=o["rate"],
                duration=o["duration"],
                seed=o["seed"],
                threads=o["threads"],
                progress_every=o["progress"] if o["verbosity"] >= 2 else None,
                write=self.stdout.write,
            )
            previous = _stop_on_sigterm()
            try:
                sim.run()
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
        for line in report.lines(elapsed=sim.elapsed, final=True):
            self.stdout.write(line)
        self.report = report  # for the caller in-process (the tests)
        if report.unreachable:
            raise CommandError(f"{len(report.unreachable)} request(s) got no answer.", returncode=2)
        if report.unexpected:
            raise CommandError(f"{len(report.unexpected)} unexpected answer(s).", returncode=1)
        self.stdout.write(self.style.SUCCESS("No unexpected answers."))

    def _wait_for(self, http: Http, url: str, wait: float) -> None:
        deadline = time.monotonic() + wait
        while True:
            try:
                if http.request("GET", "/healthz").status == 200:
                    return
                error = "it does not answer 200 on /healthz"
            except Unreachable as exc:
                error = str(exc)
            if time.monotonic() >= deadline:
                raise CommandError(f"Pitboss at {url} cannot be reached: {error}", returncode=2)
            time.sleep(0.5)  # the server is starting: ask again

    def _credentials(self, o) -> Credentials:
        if o["api_key"]:
            if not (o["provider_secret"] and o["game"]):
                raise CommandError("With --api-key give --provider-secret and --game too.")
            games: dict[str, str] = {}
            for g in o["game"]:
                market, _, code = g.rpartition("=")
                games.update({market.upper(): code} if market else {m: code for m in MARKETS})
            return Credentials(o["api_key"], o["provider"], o["provider_secret"], games)
        state = Path(o["state_file"]) if o["state_file"] else Path(settings.DATA_DIR) / "simulator.json"
        try:
            return local_credentials(state)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None


def _stop_on_sigterm():
    """`make run` stops its jobs with SIGTERM (a background job ignores Ctrl-C's SIGINT):
    treat it like Ctrl-C, so the actions under way finish and the report is printed."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: `make run` sends it to the group again
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)
