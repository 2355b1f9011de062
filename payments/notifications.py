"""Inbound provider notifications: stored raw first, then processed idempotently.

`notification_store` commits the raw delivery in its own transaction before anything
parses it, so a crash while processing never loses a delivery; `notification_process`
verifies it through the provider's adapter and applies each event to its payment
(payments.services); the outcome is written on the row. `notification_replay` runs the
processing again for a stored delivery (an operator's button)."""

from __future__ import annotations

import logging
from dataclasses import replace

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError

from .models import Notification
from .providers import get_adapter
from .providers.base import Ack, MalformedNotification, Parsed, ProviderError, Verdict
from .services import deposit_apply_event

logger = logging.getLogger(__name__)

NOT_REPLAYABLE = "Notification #{pk} was processed already: replaying it would change nothing."
# Headers worth keeping (never cookies or credentials of ours).
_KEEP_HEADERS = ("content-type", "content-length", "user-agent", "x-forwarded-for", "x-request-id")


def headers_to_keep(meta: dict) -> dict[str, str]:
    out = {}
    for key, value in meta.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.removeprefix("HTTP_").replace("_", "-").lower()
            if name in _KEEP_HEADERS or name.startswith(("x-adyen", "x-trustly", "x-nuvei", "x-payz")):
                out[name] = str(value)[:1000]
    return out


def notification_store(
    *, provider: str, headers: dict[str, str], body: bytes, remote_addr: str | None
) -> Notification:
    """Commit the raw delivery on its own (durable: never part of a caller's transaction)."""
    with transaction.atomic(durable=True):
        return Notification.objects.create(
            provider=provider,
            headers=headers,
            body=body.decode("utf-8", errors="replace"),
            remote_addr=remote_addr or None,
        )


def _finish(n: Notification, *, state: str, outcome: str, flagged: bool = False, **fields) -> None:
    Notification.objects.filter(pk=n.pk).update(
        state=state, outcome=outcome[:10000], flagged=flagged, processed_at=timezone.now(), **fields
    )


def notification_process(*, notification_id: int) -> Ack:
    """Verify and apply one stored delivery; the acknowledgement to answer with.
    Malformed -> rejected (400), refused signature -> rejected (401), no money moved;
    an unknown reference or a mismatch -> ignored and flagged, acknowledged so the
    provider stops retrying (the row keeps it); an error of ours -> failed (500, the
    provider retries and the row can be replayed)."""
    return notification_handle(notification_id=notification_id)[0]


def notification_handle(*, notification_id: int) -> tuple[Ack, Parsed | None]:
    """notification_process, also returning what was parsed (with `reply` filled in),
    for the adapter's answer: Trustly signs over the notification's uuid and method, and
    a Pay N Play identity is answered with the decision (payments.paynplay)."""
    n = Notification.objects.get(pk=notification_id)
    Notification.objects.filter(pk=n.pk).update(attempts=F("attempts") + 1)
    adapter = get_adapter(n.provider)
    try:
        parsed = adapter.parse_and_verify(n.headers, n.body.encode("utf-8"))
    except MalformedNotification as exc:
        _finish(n, state=Notification.State.REJECTED, outcome=f"malformed: {exc}")
        return Ack.MALFORMED, None
    except ProviderError as exc:  # Zimpler: the re-fetch failed; the provider retries
        _finish(n, state=Notification.State.FAILED, outcome=f"provider unreachable: {exc}")
        return Ack.ERROR, None
    if parsed.verdict == Verdict.INVALID:
        _finish(
            n,
            state=Notification.State.REJECTED,
            outcome=f"signature refused: {parsed.detail}",
            verdict=Verdict.INVALID,
        )
        return Ack.REJECTED, parsed
    key = ",".join(e.notification_id for e in parsed.events)[:255]
    lines, changed, flagged, payment = [], False, False, None
    try:
        if parsed.kyc is not None:
            from .paynplay import paynplay_identify

            decided = paynplay_identify(identity=parsed.kyc, notification=n)
            parsed = replace(parsed, reply={**parsed.reply, **decided.reply})
            key = key or parsed.kyc.notification_id
            lines.append(decided.text)
            changed |= decided.changed
            payment = decided.payment
        for event in parsed.events:
            applied = deposit_apply_event(event=event, notification=n)
            lines.append(applied.text)
            changed |= applied.changed
            flagged |= applied.flagged
            payment = applied.payment or payment
    except Exception as exc:  # a bug or an outage of ours: keep it, answer 500, replay later
        logger.exception("payments: processing notification #%s failed", n.pk)
        _finish(
            n,
            state=Notification.State.FAILED,
            outcome="\n".join([*lines, f"error: {exc!r}"]),
            verdict=parsed.verdict,
            idempotency_key=key,
            payment=payment,
        )
        return Ack.ERROR, parsed
    for text, attention in parsed.ignored:
        lines.append(f"ignored: {text}")
        flagged |= attention
    _finish(
        n,
        state=Notification.State.PROCESSED if changed else Notification.State.IGNORED,
        outcome="\n".join(lines) or "nothing to apply",
        flagged=flagged,
        verdict=parsed.verdict,
        idempotency_key=key,
        payment=payment,
    )
    return Ack.ACCEPTED, parsed


def notification_replay(*, notification_id: int, actor) -> Notification:
    """Process a stored delivery again (after a fix, or once a missing payment exists).
    Idempotent like the first processing; audited."""
    n = Notification.objects.get(pk=notification_id)
    if n.state == Notification.State.PROCESSED:
        raise DomainError("not_replayable", NOT_REPLAYABLE.format(pk=n.pk))
    before = {"state": n.state, "outcome": n.outcome}
    ack = notification_process(notification_id=n.pk)
    n.refresh_from_db()
    audit.record(
        actor=actor,
        action="payments.notification.replay",
        target=n,
        before=before,
        after={"state": n.state, "outcome": n.outcome, "ack": str(ack)},
    )
    return n
