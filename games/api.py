"""Game launch on the platform API: POST /game-sessions answers a token for the
aggregator's wallet calls."""

from datetime import datetime

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from backoffice.api_schemas import ERRORS
from backoffice.apiclients import actor_label
from players.selectors import player_get

from .sessions import game_session_start

router = Router(tags=["games"])


class GameSessionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    player_id: str = Field(..., description="The player's public id")
    game_code: str = Field(..., examples=["northlight:nl-frost-reels"])


class GameSessionOut(Schema):
    token: str
    expires_at: datetime


@router.post("", response={201: GameSessionOut, **ERRORS}, summary="Start a game session (launch token)")
def game_session_post(request, payload: GameSessionIn):
    player = player_get(public_id=payload.player_id)
    s = game_session_start(player_id=player.pk, game_code=payload.game_code, started_via=actor_label(request))
    return 201, {"token": s.token, "expires_at": s.expires_at}
