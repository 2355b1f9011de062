"""The outside world's actions, each checked against what a correct Pitboss must answer.

The casino front end (platform API): registrations, logins, limit changes, KYC uploads,
deposit starts, withdrawals and their cancellation. The payment providers (their
doubles): signed notifications, sometimes twice, sometimes late, some of failed payments.
The game aggregator's rounds are in aggregator.py.

An action returns None when done, or `Later(seconds, continuation)` for what happens
after a while (a late notification); the player stays with the action until then."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from . import sandboxes
from .aggregator import play
from .model import SimPlayer
from .world import Lost, World, money

MARKETS = ["MT", "FI"]  # registered through the API; Pay N Play players are Finnish
DEPOSIT_LIMIT = 100_000  # 1000.00 a month, set at registration as the front end offers it
DEPOSIT_CAP = 30_000  # the simulator deposits no more per player: far from any limit or CDD threshold
FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
PNG = bytes.fromhex(  # a 1x1 white pixel
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8ffff3f00"
    "05fe02fe0def46b80000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DOCUMENT_TYPES = ["passport", "id_card", "driving_licence", "proof_of_address", "selfie"]


@dataclass(frozen=True)
class Later:
    seconds: float
    then: Callable[[], Later | None]


# --- the casino front end ----------------------------------------------------------------------


def register(w: World, rng: random.Random) -> None:
    a = "register"
    n = w.unique()
    today = date.today()
    if rng.random() < 0.1:  # a 16-year-old tries: refused by the minimum-age gate, nothing created
        body = {
            "jurisdiction": rng.choice(MARKETS),
            "email": f"sim-{w.tag}-{n}-minor@example.com",
            "date_of_birth": date(today.year - 16, today.month, min(today.day, 28)).isoformat(),
        }
        w.expect(a, w.api(a, "POST", "/players", body), 400, "underage", "date_of_birth")
        w.report.count(a, "refused-underage")
        return
    market = rng.choice(MARKETS)
    body = {
        "jurisdiction": market,
        "email": f"sim-{w.tag}-{n}@example.com",
        "first_name": rng.choice(["Anna", "Mikko", "Maria", "Joseph", "Aino", "Luca"]),
        "last_name": f"Simulated{n}",
        "date_of_birth": f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "city": "Valletta" if market == "MT" else "Helsinki",
        "country": market,
        "consents": {"email": rng.random() < 0.5},
    }
    reply = w.api(a, "POST", "/players", body)
    got = w.expect(a, reply, 201)
    w.check(
        a,
        reply,
        isinstance(got.get("id"), str)
        and (got.get("status"), got.get("currency"), got.get("jurisdiction")) == ("active", "EUR", market),
        "expected an active EUR player in the market asked for",
    )
    p = SimPlayer(public_id=got["id"], market=market, currency="EUR")
    # The front end asks for a deposit limit at sign-up (mandatory before play in some
    # markets); a first limit applies at once.
    reply = w.api(a, "PUT", f"/players/{p.public_id}/limits", _limit("deposit", DEPOSIT_LIMIT))
    got = w.expect(a, reply, 200)
    w.check(a, reply, got.get("applied_immediately") is True, "a first limit applies at once")
    w.check(a, reply, _in(got, "in_force", DEPOSIT_LIMIT), "the new limit must be in force")
    p.deposit_limit = DEPOSIT_LIMIT
    w.add(p)
    w.report.count(a, "registered")


def _limit(kind: str, amount: int, period: str = "month") -> dict:
    return {"kind": kind, "period": period, "amount": money(amount)}


def _in(body: dict, key: str, amount: int, kind: str = "deposit", period: str = "month") -> bool:
    return any(
        (x.get("kind"), x.get("period"), x.get("amount")) == (kind, period, money(amount))
        for x in body.get(key) or []
    )


def _fi_national_id(rng: random.Random) -> str:
    dd, mm, yy, nnn = rng.randint(1, 28), rng.randint(1, 12), rng.randint(50, 99), rng.randint(2, 899)
    number = int(f"{dd:02d}{mm:02d}{yy:02d}{nnn:03d}")
    return f"{dd:02d}{mm:02d}{yy:02d}-{nnn:03d}{FI_CHECK[number % 31]}"


def register_paynplay(w: World, rng: random.Random) -> None:
    """A Finnish player deposits through Zimpler without an account: the bank identifies
    them (KYC callback, answered with the allowed amount), then the deposit is credited."""
    a = "paynplay"
    zimpler = w.doubles.zimpler
    amount = rng.choice([2000, 2500, 5000])
    body = {
        "provider": "zimpler",
        "jurisdiction": "FI",
        "amount": money(amount),
        "currency": "EUR",
        "limits": [_limit("deposit", DEPOSIT_LIMIT)],
    }
    got = w.expect(a, reply := w.api(a, "POST", "/deposits/paynplay", body), 201)
    w.check(a, reply, bool(got.get("reference")) and bool(got.get("redirect_url")), "a reference and a URL")
    with w.doubles.lock:
        dep = zimpler.by_ref(got["reference"])
        zimpler.set_kyc(dep["id"], national_id=_fi_national_id(rng), country="FI")
        kyc = zimpler.notification_body(dep["id"])
    reply = w.webhook(a, "/webhooks/zimpler/?callback=kyc", kyc, "application/json")
    got = w.expect(a, reply, 200)
    w.check(a, reply, got == {"amount": money(amount)}, f"the bank's player may deposit {money(amount)}")
    path, note, ctype = sandboxes.notification(w.doubles, "zimpler", dep["ref"], amount, "EUR", True)
    for _ in range(2 if rng.random() < 0.3 else 1):
        reply = w.webhook(a, path, note, ctype)
        w.check(a, reply, sandboxes.accepted("zimpler", reply.status, reply.body), "Zimpler's 204")
    w.report.count(a, "identified-credited")


def login(w: World, rng: random.Random, p: SimPlayer) -> None:
    a = "login"
    if p.session_id is not None:
        reply = w.api(
            a, "POST", f"/players/{p.public_id}/sessions", {"event": "logout", "session_id": p.session_id}
        )
        got = w.expect(a, reply, 200)
        w.check(a, reply, got.get("session_id") == p.session_id and got.get("ended_at"), "the session ended")
        p.session_id = None
        w.report.count(a, "logout")
    body = {
        "event": "login",
        "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "user_agent": rng.choice(
            ["Mozilla/5.0 (iPhone)", "Mozilla/5.0 (Windows NT 10.0)", "Mozilla/5.0 (X11)"]
        ),
        "device_id": f"dev-{p.public_id}",
    }
    reply = w.api(a, "POST", f"/players/{p.public_id}/sessions", body)
    got = w.expect(a, reply, 201)
    w.check(
        a, reply, isinstance(got.get("session_id"), int) and got.get("ended_at") is None, "an open session"
    )
    p.session_id = got["session_id"]
    w.report.count(a, "login")


def set_limit(w: World, rng: random.Random, p: SimPlayer) -> None:
    """A decrease applies at once; an increase waits for the cooling-off (pending)."""
    a = "limit"
    if rng.random() < 0.1:
        reply = w.api(
            a,
            "PUT",
            f"/players/{p.public_id}/limits",
            {"kind": "deposit", "period": "month", "amount": "12,50"},
        )
        w.expect(a, reply, 400, "invalid_amount", "amount")
        w.report.count(a, "refused-bad-amount")
        return
    if p.pending_limit is not None:  # runs that last days: a pending increase comes into force
        due = p.pending_limit[1] - datetime.now(UTC)
        if abs(due.total_seconds()) < 10:  # coming due now: either answer would be right
            w.report.count(a, "skipped-increase-coming-due")
            return
        if due.total_seconds() < 0:
            p.deposit_limit, p.pending_limit = p.pending_limit[0], None
    amount = rng.choice([80_000, 90_000, 100_000, 110_000, 120_000])
    immediate = p.deposit_limit is None or amount <= p.deposit_limit
    got = w.expect(
        a, reply := w.api(a, "PUT", f"/players/{p.public_id}/limits", _limit("deposit", amount)), 200
    )
    w.check(a, reply, got.get("applied_immediately") is immediate, f"applied_immediately {immediate}")
    if immediate:
        w.check(a, reply, _in(got, "in_force", amount), "the decrease must be in force")
        w.check(a, reply, not got.get("pending"), "a decrease cancels a pending increase")
        p.deposit_limit, p.pending_limit = amount, None
        w.report.count(a, "decreased")
    else:
        w.check(a, reply, _in(got, "pending", amount), "the increase must be pending")
        w.check(a, reply, _in(got, "in_force", p.deposit_limit), "the old limit stays in force")
        pending = next(x for x in got["pending"] if x.get("amount") == money(amount))
        p.pending_limit = (amount, datetime.fromisoformat(pending["effective_at"]))
        w.report.count(a, "increase-pending")


def upload_document(w: World, rng: random.Random, p: SimPlayer) -> None:
    a = "document"
    kind = rng.choice(DOCUMENT_TYPES)
    if rng.random() < 0.15:  # not an image or a PDF by content: 415, nothing stored
        reply = w.upload(
            a,
            f"/players/{p.public_id}/documents",
            {"document_type": kind},
            {"file": ("notes.txt", "text/plain", b"hello")},
        )
        w.expect(a, reply, 415, "file_type_refused", "file")
        w.report.count(a, "refused-type")
        return
    name, ctype, content = rng.choice([("scan.png", "image/png", PNG), ("scan.pdf", "application/pdf", PDF)])
    reply = w.upload(
        a, f"/players/{p.public_id}/documents", {"document_type": kind}, {"file": (name, ctype, content)}
    )
    got = w.expect(a, reply, 201)
    w.check(
        a, reply, got.get("document_type") == kind and got.get("status") == "pending", "a pending document"
    )
    w.report.count(a, "uploaded")


def deposit(w: World, rng: random.Random, p: SimPlayer) -> Later | None:
    a = "deposit"
    provider = rng.choice(w.doubles.deposit_providers)
    if rng.random() < 0.08:
        body = {"player_id": p.public_id, "provider": provider, "amount": "-5.00", "currency": p.currency}
        w.expect(a, w.api(a, "POST", "/deposits", body), 400, "bad_amount", "amount")
        w.report.count(a, "refused-bad-amount")
        return None
    amount = rng.choice([1000, 2000, 2500, 5000, 7500])
    if p.deposited + amount > DEPOSIT_CAP:
        amount = 1000
    body = {"player_id": p.public_id, "provider": provider, "amount": money(amount), "currency": p.currency}
    got = w.expect(a, reply := w.api(a, "POST", "/deposits", body), 201)
    w.check(a, reply, bool(got.get("reference")) and bool(got.get("redirect_url")), "a reference and a URL")
    success = provider == "zimpler" or rng.random() > 0.12
    times = 2 if rng.random() < 0.2 else 1
    note = sandboxes.notification(w.doubles, provider, got["reference"], amount, p.currency, success)
    late = rng.random() < 0.15

    def deliver() -> None:
        for _ in range(times):
            reply = w.webhook(a, *note)
            w.check(
                a, reply, sandboxes.accepted(provider, reply.status, reply.body), f"{provider} accepts it"
            )
        if success:
            p.cash += amount
            p.deposited += amount
            p.deposit_providers.add(provider)
        w.check_balance(a, p)  # a notification delivered twice credits once; a failure credits nothing
        outcome = "credited" if success else "failed"
        w.report.count(
            a, f"{provider}-{outcome}" + ("-twice" if times == 2 else "") + ("-late" if late else "")
        )

    if late:
        return Later(rng.uniform(0.5, 2.0), deliver)
    deliver()
    return None


def withdraw(w: World, rng: random.Random, p: SimPlayer) -> None:
    a = "withdraw"
    provider = rng.choice(sorted(p.deposit_providers) or ["payz"])
    if p.cash < 100 or rng.random() < 0.1:  # more than the cash: refused, nothing moves
        body = {
            "player_id": p.public_id,
            "provider": provider,
            "amount": money(p.cash + 100),
            "currency": p.currency,
        }
        w.expect(a, w.api(a, "POST", "/withdrawals", body), 400, "insufficient_funds", "amount")
        w.check_balance(a, p)
        w.report.count(a, "refused-insufficient")
        return
    amount = rng.randint(1, min(p.cash, 10_000) // 100) * 100
    body = {"player_id": p.public_id, "provider": provider, "amount": money(amount), "currency": p.currency}
    got = w.expect(a, reply := w.api(a, "POST", "/withdrawals", body), 201)
    w.check(
        a,
        reply,
        got.get("state") in ("requested", "in_review") and got.get("amount") == money(amount),
        "a withdrawal in review or held, for the amount asked",
    )
    p.cash -= amount
    p.withdrawal_pending += amount
    w.check_balance(a, p)
    if rng.random() < 0.35:
        path = f"/withdrawals/{got['reference']}/cancel"
        got = w.expect(a, reply := w.api(a, "POST", path, {"player_id": p.public_id}), 200)
        w.check(a, reply, got.get("state") == "cancelled", "the withdrawal is cancelled")
        p.cash += amount
        p.withdrawal_pending -= amount
        w.check_balance(a, p)
        w.report.count(a, "requested-cancelled")
    else:
        w.report.count(a, f"requested-{got['state']}")


def step(fn: Callable[[], Later | None], p: SimPlayer | None) -> Later | None:
    """Run an action (or its continuation); a Lost leaves a player whose balance the
    model no longer knows (its balance checks are skipped from then on)."""
    try:
        return fn()
    except Lost as exc:
        if p is not None:
            p.uncertain = p.uncertain or str(exc)
        return None


ACTIONS = {
    "register": register,
    "paynplay": register_paynplay,
    "login": login,
    "limit": set_limit,
    "document": upload_document,
    "play": play,
    "deposit": deposit,
    "withdraw": withdraw,
}
PLAYERLESS = {"register", "paynplay"}
