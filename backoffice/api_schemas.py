"""Schemas every platform API router shares: the one error shape (see backoffice/api.py)."""

from ninja import Schema


class ErrorBody(Schema):
    code: str
    field: str | None
    message: str


class ErrorOut(Schema):
    error: ErrorBody


ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
}
