from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from backoffice.api_schemas import ERRORS
from backoffice.apiclients import actor_label
from players.selectors import player_get

from . import services

router = Router(tags=["complaints"])


class ComplaintIn(Schema):
    model_config = ConfigDict(extra="forbid")
    category: Literal["payment", "game", "bonus", "bonus_request", "account", "responsible_gambling", "other"]
    subject: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=10000)


class ComplaintOut(Schema):
    id: int
    category: str
    subject: str
    status: str
    created_at: datetime


@router.post(
    "/{public_id}/complaints", response={201: ComplaintOut, **ERRORS}, summary="Log a player's complaint"
)
def complaint_post(request, public_id: str, payload: ComplaintIn):
    player = player_get(public_id=public_id)
    c = services.complaint_log(
        player_id=player.pk,
        category=payload.category,
        subject=payload.subject,
        body=payload.body,
        channel=actor_label(request),
        actor_label=actor_label(request),
    )
    return 201, {
        "id": c.pk,
        "category": c.category,
        "subject": c.subject,
        "status": c.status,
        "created_at": c.created_at,
    }
