"""Zimpler (v4 API): deposits, notifications as triggers, and the Pay N Play KYC callback.

Zimpler signs nothing (no scheme in its public documentation), so a notification is never
believed: it only names a deposit, and the adapter re-fetches that deposit
(`GET /v4/deposits/:id`, with our API key) and uses the fetched state, amount and
reference. The posted body moves no money. Every delivery has the verdict `unsigned`.

- start: `POST /v4/deposits` -> {id, state: pending, user_form_url};
- the fetched state: pending -> pending; authorized (the player paid) -> we approve it
  (`POST /v4/deposits/:id/approve`) and use the approved deposit; approved -> succeeded;
  rejected/failed -> failed; cancelled/expired -> cancelled;
- the KYC callback (`kyc_callback_url` = our webhook with `?callback=kyc`): the fetched
  deposit's `kyc_info` goes to Pay N Play, and we answer `{"amount": "..."}`, the amount
  the player may deposit (reduced by deposit limits, "0.00" when refused).

Payouts: `POST /v4/withdrawals` {ref (our reference), amount, currency, country_code,
user_id, notification_url = our webhook with `?resource=withdrawal`}. The player's Zimpler
`user_id` is not stored by us: it is re-fetched from Zimpler's copy of the player's last
succeeded Zimpler deposit. Zimpler then posts the withdrawal object; like a deposit it is
only a trigger: `GET /v4/withdrawals/:id`, and a fetched `authorized` withdrawal that is
ours (an approved or sent withdrawal, same amount and currency) is approved
(`POST /v4/withdrawals/:id/approve {"amount"}`). Fetched approved -> PAYOUT_PAID;
rejected/failed/cancelled/expired -> PAYOUT_FAILED. Which state means "paid" is our
reading of the reference [I]: confirm with Zimpler."""

from __future__ import annotations

import json
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from .. import http
from .base import (
    Ack,
    BankIdentity,
    DepositStart,
    EventType,
    MalformedNotification,
    Parsed,
    PayoutRefused,
    ProviderAdapter,
    ProviderError,
    ProviderEvent,
    RefundNotSupported,
    Verdict,
)
from .common import decimal, to_minor, webhook_url

KYC_QUERY = "callback=kyc"
WITHDRAWAL_QUERY = "resource=withdrawal"
_PAYOUT_STATES = {
    "approved": EventType.PAYOUT_PAID,
    "rejected": EventType.PAYOUT_FAILED,
    "failed": EventType.PAYOUT_FAILED,
    "cancelled": EventType.PAYOUT_FAILED,
    "canceled": EventType.PAYOUT_FAILED,
    "expired": EventType.PAYOUT_FAILED,
}
_STATES = {
    "pending": EventType.PENDING,
    "approved": EventType.SUCCEEDED,
    "rejected": EventType.FAILED,
    "failed": EventType.FAILED,
    "cancelled": EventType.CANCELLED,
    "canceled": EventType.CANCELLED,
    "expired": EventType.CANCELLED,
}


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.ZIMPLER_API_KEY}"}


def _base() -> str:
    return settings.ZIMPLER_API_BASE_URL.rstrip("/")


def _answer(r: http.Response, what: str) -> dict:
    if r.status not in (200, 201):
        raise ProviderError(f"Zimpler {what} answered HTTP {r.status}")
    try:
        data = r.json()
    except ValueError:
        raise ProviderError(f"Zimpler {what} answered something other than JSON") from None
    if not isinstance(data, dict) or not data.get("id") or not data.get("state"):
        raise ProviderError(f"Zimpler {what} answered without an id and state")
    return data


def fetch_deposit(deposit_id: str) -> dict:
    return _answer(
        http.get_json(f"{_base()}/deposits/{quote(deposit_id, safe='')}", headers=_headers()), "GET"
    )


def approve_deposit(deposit_id: str, amount: str) -> dict:
    url = f"{_base()}/deposits/{quote(deposit_id, safe='')}/approve"
    return _answer(http.post_json(url, {"amount": amount}, headers=_headers()), "approve")


def fetch_withdrawal(withdrawal_id: str) -> dict:
    url = f"{_base()}/withdrawals/{quote(withdrawal_id, safe='')}"
    return _answer(http.get_json(url, headers=_headers()), "GET /withdrawals")


def approve_withdrawal(withdrawal_id: str, amount: str) -> dict:
    url = f"{_base()}/withdrawals/{quote(withdrawal_id, safe='')}/approve"
    return _answer(http.post_json(url, {"amount": amount}, headers=_headers()), "withdrawal approve")


def payout_user(payment) -> dict:
    """Who Zimpler pays: the user_id (or national id) on Zimpler's own copy of the
    player's newest succeeded Zimpler deposit. {} when the player has none."""
    from ..models import Payment

    deposits = Payment.objects.filter(
        player_id=payment.player_id, provider="zimpler", kind="deposit", state="succeeded"
    ).exclude(provider_reference="")
    for reference in deposits.order_by("-created_at").values_list("provider_reference", flat=True)[:3]:
        deposit = fetch_deposit(reference)
        kyc = deposit.get("kyc_info") or {}
        if deposit.get("user_id") or kyc.get("user_id"):
            return {"user_id": str(deposit.get("user_id") or kyc["user_id"])}
        if kyc.get("national_identification_number"):
            return {"national_identification_number": str(kyc["national_identification_number"])}
    return {}


def _ours_to_approve(withdrawal: dict) -> str:
    """Why the fetched withdrawal must not be approved; "" when it is ours to approve."""
    from ..models import Payment

    payment = Payment.objects.filter(reference=str(withdrawal.get("ref") or ""), provider="zimpler").first()
    if payment is None or payment.kind != Payment.Kind.WITHDRAWAL:
        return "no withdrawal of ours has this ref"
    if payment.state not in (Payment.State.APPROVED, Payment.State.SENT):
        return f"our withdrawal is {payment.state}"
    currency = str(withdrawal.get("currency") or "")
    if currency != payment.currency or to_minor(withdrawal.get("amount"), currency) != payment.amount:
        return f"amount {withdrawal.get('amount')} {currency} differs from ours"
    return ""


def _identity(deposit: dict, notification_id: str) -> BankIdentity:
    kyc = deposit.get("kyc_info") or {}
    address = kyc.get("address") or {}
    currency = str(deposit.get("currency") or "")
    return BankIdentity(
        payment_reference=str(deposit.get("ref") or ""),
        provider_reference=str(deposit["id"]),
        notification_id=notification_id,
        national_id=str(kyc.get("national_identification_number") or ""),
        first_name=str(kyc.get("first_name") or ""),
        last_name=str(kyc.get("last_name") or ""),
        date_of_birth=str(kyc.get("date_of_birth") or ""),
        street=" ".join(str(address.get(k) or "") for k in ("line_1", "line_2")).strip(),
        postcode=str(address.get("postcode") or ""),
        city=str(address.get("city") or ""),
        country=str(
            address.get("country") or kyc.get("country_code") or deposit.get("country_code") or ""
        ).upper(),
        amount=to_minor(deposit.get("amount"), currency) if currency else None,
        currency=currency,
    )


class ZimplerAdapter(ProviderAdapter):
    code = "zimpler"
    name = "Zimpler"

    def deposit(self, *, reference: str, amount: int, currency: str, country: str, **extra) -> DepositStart:
        body = {
            "country_code": country,
            "site_display_name": "Pitboss",
            "ref": reference,
            "amount": decimal(amount, currency),
            "currency": currency,
            "success_url": settings.PAYMENTS_RETURN_URL,
            "failure_url": settings.PAYMENTS_RETURN_URL,
            "close_url": settings.PAYMENTS_RETURN_URL,
            "notification_url": webhook_url(self.code),
            **extra,
        }
        data = _answer(http.post_json(f"{_base()}/deposits", body, headers=_headers()), "POST /deposits")
        if not data.get("user_form_url"):
            raise ProviderError("Zimpler POST /deposits answered without a user_form_url")
        return DepositStart(
            redirect_url=str(data["user_form_url"]),
            provider_reference=str(data["id"]),
            data={"id": data["id"]},
        )

    def start_deposit(self, payment) -> DepositStart:
        player = payment.player
        return self.deposit(
            reference=payment.reference,
            amount=payment.amount,
            currency=payment.currency,
            country=player.country or player.jurisdiction,
            account_ref=player.public_id,
        )

    def start_paynplay(self, *, reference: str, amount: int, currency: str, country: str) -> DepositStart:
        return self.deposit(
            reference=reference,
            amount=amount,
            currency=currency,
            country=country,
            kyc_callback_url=f"{webhook_url(self.code)}?{KYC_QUERY}",
        )

    def refund(self, payment, amount: int) -> str:
        """Zimpler's v4 API (deposits, withdrawals, identification) has no refund of a
        deposit: return the money to the player with a withdrawal instead."""
        raise RefundNotSupported(self.name)

    def send_payout(self, payment) -> str:
        """`POST /v4/withdrawals`; Zimpler's withdrawal id. Our reference is `ref`: the
        double answers a ref it has seen with the same withdrawal (Zimpler's own
        behaviour on a repeated ref is not documented [I])."""
        user = payout_user(payment)
        if not user:
            raise PayoutRefused("no Zimpler user is known for this player (no succeeded Zimpler deposit)")
        player = payment.player
        body = {
            "ref": payment.reference,
            "amount": decimal(payment.amount, payment.currency),
            "currency": payment.currency,
            "country_code": player.country or player.jurisdiction,
            "notification_url": f"{webhook_url(self.code)}?{WITHDRAWAL_QUERY}",
            **user,
        }
        r = http.post_json(f"{_base()}/withdrawals", body, headers=_headers())
        if 400 <= r.status < 500 and r.status not in (408, 409, 429):
            raise PayoutRefused(f"Zimpler refused the withdrawal: HTTP {r.status} {r.body[:200]!r}")
        return str(_answer(r, "POST /withdrawals")["id"])

    def _withdrawal_event(self, withdrawal_id: str) -> Parsed:
        withdrawal = fetch_withdrawal(withdrawal_id)
        if withdrawal.get("id") != withdrawal_id or not withdrawal.get("ref"):
            raise ProviderError(f"Zimpler GET /withdrawals/{withdrawal_id} answered another withdrawal")
        state = str(withdrawal["state"])
        if state == "authorized":
            why = _ours_to_approve(withdrawal)
            if why:
                return Parsed(
                    Verdict.UNSIGNED, ignored=[(f"withdrawal {withdrawal_id} not approved: {why}", True)]
                )
            withdrawal = approve_withdrawal(withdrawal_id, str(withdrawal.get("amount")))
            state = str(withdrawal["state"])
        kind = _PAYOUT_STATES.get(state)
        if kind is None:
            return Parsed(Verdict.UNSIGNED, ignored=[(f"withdrawal {withdrawal_id} in state {state}", False)])
        currency = str(withdrawal.get("currency") or "")
        event = ProviderEvent(
            payment_reference=str(withdrawal["ref"]),
            provider_reference=str(withdrawal["id"]),
            type=kind,
            amount=to_minor(withdrawal.get("amount"), currency),
            currency=currency,
            notification_id=f"zimpler:{withdrawal['id']}:{state}",
            method="zimpler",
            reason=str(withdrawal.get("reason") or "")[:300],
        )
        return Parsed(Verdict.UNSIGNED, events=[event])

    def parse_and_verify(self, headers: dict[str, str], body: bytes) -> Parsed:
        try:
            posted = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedNotification(f"not JSON: {exc}") from None
        if not isinstance(posted, dict) or not isinstance(posted.get("id"), str) or not posted["id"]:
            raise MalformedNotification("no deposit id")
        if WITHDRAWAL_QUERY in headers.get("x-pitboss-query", ""):
            return self._withdrawal_event(posted["id"])
        # Only the id is taken from the body: everything else comes from Zimpler's API.
        deposit = fetch_deposit(posted["id"])
        if deposit.get("id") != posted["id"] or not deposit.get("ref"):
            raise ProviderError(f"Zimpler GET /deposits/{posted['id']} answered another deposit")
        if KYC_QUERY in headers.get("x-pitboss-query", ""):
            key = f"zimpler:kyc:{deposit['id']}"
            return Parsed(Verdict.UNSIGNED, kyc=_identity(deposit, key))
        state = str(deposit["state"])
        if state == "authorized":
            deposit = approve_deposit(deposit["id"], str(deposit.get("amount")))
            state = str(deposit["state"])
        kind = _STATES.get(state)
        if kind is None:
            return Parsed(Verdict.UNSIGNED, ignored=[(f"deposit {deposit['id']} in state {state}", True)])
        currency = str(deposit.get("currency") or "")
        return Parsed(
            Verdict.UNSIGNED,
            events=[
                ProviderEvent(
                    payment_reference=str(deposit["ref"]),
                    provider_reference=str(deposit["id"]),
                    type=kind,
                    amount=to_minor(deposit.get("amount"), currency),
                    currency=currency,
                    notification_id=f"zimpler:{deposit['id']}:{state}",
                    method="zimpler",
                )
            ],
        )

    def acknowledge(self, ack: Ack, parsed: Parsed | None = None) -> HttpResponse:
        if ack == Ack.ACCEPTED:
            if parsed is not None and parsed.kyc is not None:
                return JsonResponse({"amount": parsed.reply.get("amount", "0.00")})
            return HttpResponse(status=204)
        if ack == Ack.MALFORMED:
            return HttpResponse("malformed notification", status=400, content_type="text/plain")
        if ack == Ack.REJECTED:
            return HttpResponse("refused", status=401, content_type="text/plain")
        return HttpResponse("processing failed, retry later", status=500, content_type="text/plain")
