"""Deposits on the platform API: POST /deposits starts one and answers where to send the
player. The provider's notification (/webhooks/<provider>/) later credits it."""

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from backoffice.api_schemas import ERRORS
from players.selectors import player_get

from .services import deposit_start

router = Router(tags=["payments"])


class DepositIn(Schema):
    model_config = ConfigDict(extra="forbid")
    player_id: str = Field(..., description="The player's public id")
    provider: str = Field(..., examples=["adyen"], description="adyen, trustly, zimpler, nuvei or payz")
    amount: str = Field(..., examples=["25.00"], description="Major units, a decimal string")
    currency: str = Field(..., examples=["EUR"], min_length=3, max_length=3)


class DepositOut(Schema):
    reference: str = Field(..., description="Our merchant reference: the provider echoes it")
    redirect_url: str = Field(..., description="Where to send the player to pay")
    state: str


@router.post(
    "",
    response={201: DepositOut, **ERRORS, 409: ERRORS[400], 502: ERRORS[400]},
    summary="Start a deposit (gates, then the provider's payment page)",
)
def deposit_post(request, payload: DepositIn):
    player = player_get(public_id=payload.player_id)
    payment = deposit_start(
        player=player, provider=payload.provider, amount=payload.amount, currency=payload.currency.upper()
    )
    return 201, {"reference": payment.reference, "redirect_url": payment.redirect_url, "state": payment.state}
