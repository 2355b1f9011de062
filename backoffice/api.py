"""The platform API (/api/platform/v1/): what the casino front end calls. One NinjaAPI
instance; each app adds its Router. Every error answers one JSON shape:

    {"error": {"code": "validation_error", "field": "email", "message": "..."}}

with 422 for a malformed request, 400 (or the DomainError's status) for a refused one,
401 for a missing or bad key, 404 for an unknown player."""

import logging

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from .apiclients import ApiKeyAuth
from .errors import DomainError

logger = logging.getLogger(__name__)

platform_api = NinjaAPI(
    title="Pitboss platform API",
    version="1",
    description="For the casino front end: players, sessions, balances. "
    "Authenticate with `Authorization: Bearer <key>` (`manage.py create_api_client NAME`). "
    "Money is a decimal string in major units beside its ISO 4217 currency.",
    urls_namespace="platform_api",
    auth=ApiKeyAuth(),
)


def error_response(request, status: int, code: str, message: str, field: str | None = None, **extra):
    body = {"code": code, "field": field, "message": message, **extra}
    return platform_api.create_response(request, {"error": body}, status=status)


def _field(loc) -> str | None:
    # ("body", "payload", "email") -> "email"; ("path", "public_id") -> "public_id"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts) or None


@platform_api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    errors = [
        {
            "field": _field(e.get("loc", ())),
            "message": e.get("msg", "Invalid value."),
            "type": e.get("type", ""),
        }
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": None, "message": "Invalid request."}
    return error_response(request, 422, "validation_error", first["message"], first["field"], details=errors)


@platform_api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return error_response(request, exc.status, exc.code, exc.message, exc.field)


@platform_api.exception_handler(AuthenticationError)
def _unauthorized(request, exc: AuthenticationError):
    return error_response(
        request, 401, "unauthorized", "A valid API key is required: Authorization: Bearer <key>."
    )


@platform_api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(request, exc.status_code, "http_error", str(exc))


@platform_api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", "Not found.")


@platform_api.exception_handler(Exception)
def _unexpected(request, exc):
    # A bug, not an expected refusal: logged with its traceback, answered in the same shape.
    logger.exception("platform API: unexpected error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal_error", "Something went wrong on our side.")


platform_api.add_router("/players", "players.api.router")
platform_api.add_router("/players", "compliance.api.router")
platform_api.add_router("/players", "disputes.api.router")
platform_api.add_router("/game-sessions", "games.api.router")
platform_api.add_router("/deposits", "payments.api.router")
platform_api.add_router("/withdrawals", "payments.api.withdrawals_router")
