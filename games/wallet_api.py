"""The seamless wallet API (/api/wallet/v1/): the HTTP door for game aggregators.

Order of work on every call: the provider (X-Provider) and its signature (X-Signature,
hex HMAC-SHA256 of the raw body bytes) are checked before the body is parsed; then the
body; then games.wallet does the money. Every business outcome is HTTP 200 with a
status; 5xx only for a fault after which nothing moved and the provider should retry."""

import ipaddress
import json
import logging
import time

from django.db import DatabaseError, OperationalError
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from ninja import Field, NinjaAPI, Schema

from . import wallet
from .models import GameProvider
from .services import signature_valid

logger = logging.getLogger("pitboss.wallet")

wallet_api = NinjaAPI(
    title="Pitboss seamless wallet API",
    version="1",
    description=(
        "Called by game aggregators for every spin. Sign each request: `X-Provider: <code>` and "
        "`X-Signature: <hex HMAC-SHA256 of the raw request body with the provider's secret>` "
        "(`manage.py create_game_provider CODE --name NAME` prints the secret once). Amounts are "
        "integers in minor units. Every business outcome answers HTTP 200 with a `status`; a 5xx "
        "means nothing moved and the call may be retried with the same transaction_id."
    ),
    urls_namespace="wallet_api",
    docs_url=None,
)


# --- documentation schemas (the view parses the raw body itself, after the signature) ---


class AuthenticateIn(Schema):
    token: str = Field(..., max_length=200, description="The game session token from the launch")


class BalanceIn(Schema):
    player_id: str = Field(..., max_length=200)
    token: str | None = Field(None, max_length=200)
    currency: str | None = Field(None, min_length=3, max_length=3)


class BetIn(Schema):
    token: str = Field(..., max_length=200)
    player_id: str = Field(..., max_length=200)
    transaction_id: str = Field(
        ..., max_length=200, description="The provider's id; with the provider, unique"
    )
    round_id: str = Field(..., max_length=200)
    game_code: str = Field(..., max_length=200, examples=["northlight:nl-frost-reels"])
    amount: int = Field(..., ge=0, le=wallet.MAX_AMOUNT, description="Minor units")
    currency: str = Field(..., min_length=3, max_length=3, examples=["EUR"])
    round_closed: bool = False


class WinIn(Schema):
    player_id: str = Field(..., max_length=200)
    transaction_id: str = Field(..., max_length=200)
    round_id: str = Field(..., max_length=200)
    game_code: str = Field(..., max_length=200)
    amount: int = Field(..., ge=0, le=wallet.MAX_AMOUNT, description="Minor units; 0 closes a lost round")
    currency: str = Field(..., min_length=3, max_length=3)
    reference_transaction_id: str = Field(..., max_length=200, description="The bet this win pays")
    round_closed: bool = False
    token: str | None = Field(None, max_length=200, description="Ignored: a win needs no live session")


class RollbackIn(Schema):
    player_id: str = Field(..., max_length=200)
    transaction_id: str = Field(..., max_length=200)
    reference_transaction_id: str = Field(..., max_length=200, description="The bet to refund")
    round_id: str | None = Field(None, max_length=200)
    game_code: str | None = Field(None, max_length=200)
    amount: int | None = Field(None, ge=0, le=wallet.MAX_AMOUNT, description="When sent, must be the bet's")
    currency: str | None = Field(None, min_length=3, max_length=3)


class WalletAnswer(Schema):
    status: str = Field(..., description=" | ".join(wallet.STATUSES))
    balance: int | None = Field(None, description="Cash plus bonus, minor units")
    currency: str | None = None
    transaction_id: str | None = Field(None, description="The request's transaction_id, echoed")
    message: str | None = Field(None, description="Why, for a status other than OK")
    field: str | None = Field(None, description="The request field at fault (BAD_REQUEST and others)")
    replayed: bool | None = Field(None, description="True when this is the stored answer of an earlier call")


class RetryAnswer(Schema):
    status: str = Field(..., description="RETRY or INTERNAL_ERROR: nothing moved; retry the same call")
    message: str


SIGNATURE_HEADERS = [
    {
        "in": "header",
        "name": "X-Provider",
        "required": True,
        "schema": {"type": "string"},
        "description": "The provider code",
    },
    {
        "in": "header",
        "name": "X-Signature",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "description": "Hex HMAC-SHA256 of the raw body with the provider's secret",
    },
]


def _doc(schema) -> dict:
    return {
        "parameters": SIGNATURE_HEADERS,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        },
    }


# --- the door -------------------------------------------------------------------------------


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, separators=(",", ":")), status=status, content_type="application/json"
    )


def _ip_allowed(provider: GameProvider, ip: str) -> bool:
    spec = provider.allowed_ips.replace(",", "\n").split()
    if not spec:
        return True
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for item in spec:
        try:
            if addr in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            logger.error("provider %s: unreadable allowed_ips entry %r", provider.code, item)
    return False


def _refuse_signature(request, code: str, why: str) -> HttpResponse:
    logger.warning(
        "wallet call refused: %s (provider %r, %s, from %s)",
        why,
        code,
        request.path,
        request.META.get("REMOTE_ADDR"),
    )
    return _json({"status": wallet.INVALID_SIGNATURE, "balance": None, "currency": None, "message": why})


# Providers by code, kept for a few seconds: one query less on every spin. A change saved
# in this process (rotation, suspension, allowed IPs) clears it at once; other processes
# see it within PROVIDER_CACHE_SECONDS.
PROVIDER_CACHE_SECONDS = 5.0
_providers: dict[str, tuple[float, GameProvider | None]] = {}


def _provider(code: str) -> GameProvider | None:
    now = time.monotonic()
    hit = _providers.get(code)
    if hit is not None and now - hit[0] < PROVIDER_CACHE_SECONDS:
        return hit[1]
    provider = GameProvider.objects.filter(code=code).order_by()[:1]
    provider = provider[0] if provider else None
    if len(_providers) > 1000:  # unknown codes must not grow it without bound
        _providers.clear()
    _providers[code] = (now, provider)
    return provider


def clear_provider_cache(**_kwargs) -> None:
    _providers.clear()


post_save.connect(clear_provider_cache, sender=GameProvider, dispatch_uid="wallet_api_provider_cache")
post_delete.connect(clear_provider_cache, sender=GameProvider, dispatch_uid="wallet_api_provider_cache_del")


def handle(request, endpoint: str) -> HttpResponse:
    t0 = time.perf_counter()
    code = request.headers.get("X-Provider", "")
    try:
        provider = _provider(code) if code else None
        if provider is None or provider.status != GameProvider.Status.ACTIVE:
            return _refuse_signature(request, code, "Unknown or suspended provider.")
        if not _ip_allowed(provider, request.META.get("REMOTE_ADDR", "")):
            return _refuse_signature(request, code, "This address may not call for this provider.")
        raw = request.body
        if not signature_valid(provider, raw, request.headers.get("X-Signature", "")):
            return _refuse_signature(request, code, "Bad or missing signature.")
        try:
            data = wallet.parse(endpoint, raw)
        except wallet.Refusal as r:
            return _json(wallet._refusal_answer(r))
        answer = wallet.HANDLERS[endpoint](provider, data)
    except OperationalError:
        logger.exception("wallet %s: database fault, provider should retry", endpoint)
        return _json({"status": "RETRY", "message": "Temporary fault: nothing moved; retry the call."}, 503)
    except DatabaseError:
        logger.exception("wallet %s: database error", endpoint)
        return _json({"status": "INTERNAL_ERROR", "message": "Nothing moved; retry the call."}, 500)
    except Exception:
        logger.exception("wallet %s: unexpected error", endpoint)
        return _json({"status": "INTERNAL_ERROR", "message": "Nothing moved; retry the call."}, 500)
    logger.debug("wallet %s %s %.1f ms", endpoint, answer.get("status"), (time.perf_counter() - t0) * 1000)
    return _json(answer)


RESPONSES = {200: WalletAnswer, 500: RetryAnswer, 503: RetryAnswer}


@wallet_api.post(
    "/authenticate", response=RESPONSES, openapi_extra=_doc(AuthenticateIn), summary="Authenticate"
)
def authenticate(request):
    """The token's player: id, currency, country and balance."""
    return handle(request, "authenticate")


@wallet_api.post("/balance", response=RESPONSES, openapi_extra=_doc(BalanceIn), summary="Balance")
def balance(request):
    """The player's cash plus bonus balance."""
    return handle(request, "balance")


@wallet_api.post("/bet", response=RESPONSES, openapi_extra=_doc(BetIn), summary="Bet (debit)")
def bet(request):
    """Debit a bet: gates, cash first then bonus, idempotent by transaction_id."""
    return handle(request, "bet")


@wallet_api.post("/win", response=RESPONSES, openapi_extra=_doc(WinIn), summary="Win (credit)")
def win(request):
    """Credit a win on a bet (no live session needed); amount 0 with round_closed closes a lost round."""
    return handle(request, "win")


@wallet_api.post("/rollback", response=RESPONSES, openapi_extra=_doc(RollbackIn), summary="Rollback a bet")
def rollback(request):
    """Refund a bet exactly once; a rollback of an unknown bet succeeds and refuses the late bet."""
    return handle(request, "rollback")
