"""Compliance on the platform API: responsible-gambling limits, time-outs and
self-exclusions, KYC documents. Mounted beside the players router under /players."""

from datetime import datetime, timedelta
from typing import Literal

from django.utils import timezone
from ninja import Field, File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import ConfigDict

from backoffice.api_schemas import ERRORS
from backoffice.apiclients import actor_label
from backoffice.errors import DomainError
from backoffice.money import Money
from players.selectors import player_get

from . import kyc, rg
from .models import Exclusion, KycDocument, PlayerLimit

router = Router(tags=["responsible gambling and KYC"])


class LimitIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["deposit", "loss", "wager", "session"]
    period: Literal["day", "week", "month"]
    amount: str | None = Field(
        ...,
        examples=["500.00"],
        description="Major units of the player's currency; minutes for session; null removes",
    )


class LimitOut(Schema):
    kind: str
    period: str
    amount: str | None
    currency: str | None
    effective_at: datetime


class LimitsOut(Schema):
    in_force: list[LimitOut]
    pending: list[LimitOut]
    applied_immediately: bool | None = None


def _limit_out(lim: PlayerLimit, currency: str) -> dict:
    if lim.amount is None:
        amount, cur = None, None
    elif lim.kind == PlayerLimit.Kind.SESSION:
        amount, cur = str(lim.amount), None
    else:
        amount, cur = Money(lim.amount, currency).to_decimal_string(), currency
    return {
        "kind": lim.kind,
        "period": lim.period,
        "amount": amount,
        "currency": cur,
        "effective_at": lim.effective_at,
    }


def _limits_out(player, immediate=None) -> dict:
    return {
        "in_force": [_limit_out(lim, player.currency) for lim in rg.limits_in_force(player)],
        "pending": [_limit_out(lim, player.currency) for lim in rg.limits_pending(player)],
        "applied_immediately": immediate,
    }


def _parse_amount(kind: str, raw: str | None, currency: str) -> int | None:
    if raw is None:
        return None
    if kind == "session":
        if not raw.strip().isdigit():
            raise DomainError(
                "invalid_amount", "A session limit is a whole number of minutes.", field="amount"
            )
        return int(raw)
    try:
        return Money.parse(raw, currency).amount
    except (ValueError, TypeError) as exc:
        raise DomainError("invalid_amount", str(exc), field="amount") from None


@router.get("/{public_id}/limits", response={200: LimitsOut, **ERRORS}, summary="Limits in force and pending")
def limits_get(request, public_id: str):
    return _limits_out(player_get(public_id=public_id))


@router.put(
    "/{public_id}/limits",
    response={200: LimitsOut, **ERRORS},
    summary="Set a limit: a decrease applies at once, an increase after the market's cooling-off",
)
def limits_put(request, public_id: str, payload: LimitIn):
    player = player_get(public_id=public_id)
    amount = _parse_amount(payload.kind, payload.amount, player.currency)
    change = rg.limit_set(
        player_id=player.pk,
        kind=payload.kind,
        period=payload.period,
        amount=amount,
        actor=None,
        source=actor_label(request),
    )
    return _limits_out(player, change.immediate)


class ExclusionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["timeout", "self_exclusion"]
    ends_at: datetime | None = Field(None, description="Empty with no duration_days: indefinite")
    duration_days: int | None = Field(None, ge=1, le=36500)
    reason: str = Field("", max_length=1000)


class ExclusionOut(Schema):
    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    all_brands: bool
    in_force: bool


def _exclusion_out(ex: Exclusion) -> dict:
    return {
        "id": ex.pk,
        "kind": ex.kind,
        "starts_at": ex.starts_at,
        "ends_at": ex.ends_at,
        "all_brands": ex.all_brands,
        "in_force": ex.in_force(),
    }


@router.post(
    "/{public_id}/exclusions",
    response={201: ExclusionOut, **ERRORS},
    summary="Start a time-out or self-exclusion now (all brands)",
)
def exclusion_post(request, public_id: str, payload: ExclusionIn):
    player = player_get(public_id=public_id)
    if payload.ends_at is not None and payload.duration_days is not None:
        raise DomainError("ambiguous_end", "Give ends_at or duration_days, not both.", field="duration_days")
    ends_at = payload.ends_at
    if payload.duration_days is not None:
        ends_at = timezone.now() + timedelta(days=payload.duration_days)
    ex = rg.exclusion_start(
        player_id=player.pk,
        kind=payload.kind,
        ends_at=ends_at,
        actor=None,
        source=actor_label(request),
        reason=payload.reason,
    )
    return 201, _exclusion_out(ex)


@router.get("/{public_id}/exclusions", response={200: list[ExclusionOut], **ERRORS}, summary="Exclusions")
def exclusion_list(request, public_id: str):
    player = player_get(public_id=public_id)
    return [_exclusion_out(ex) for ex in Exclusion.objects.filter(player=player).order_by("-starts_at")]


class DocumentOut(Schema):
    id: int
    document_type: str
    status: str
    uploaded_at: datetime


@router.post(
    "/{public_id}/documents",
    response={201: DocumentOut, **ERRORS},
    summary="Upload a KYC document (multipart: document_type, file; PDF, JPEG or PNG)",
)
def document_post(request, public_id: str, document_type: Form[str], file: File[UploadedFile]):
    player = player_get(public_id=public_id)
    limit = kyc.max_upload_bytes()
    if file.size is not None and file.size > limit:  # refuse before reading it all
        raise DomainError(
            "file_too_large", kyc.FILE_TOO_LARGE.format(mb=limit // (1024 * 1024)), field="file", status=413
        )
    doc = kyc.document_upload(
        player_id=player.pk,
        document_type=document_type,
        file_name=file.name or "",
        content=file.read(limit + 1),
        source=actor_label(request),
    )
    return 201, {
        "id": doc.pk,
        "document_type": doc.document_type,
        "status": doc.status,
        "uploaded_at": doc.uploaded_at,
    }


@router.get("/{public_id}/documents", response={200: list[DocumentOut], **ERRORS}, summary="KYC documents")
def document_list(request, public_id: str):
    player = player_get(public_id=public_id)
    return [
        {"id": d.pk, "document_type": d.document_type, "status": d.status, "uploaded_at": d.uploaded_at}
        for d in KycDocument.objects.filter(player=player).order_by("-uploaded_at")
    ]
