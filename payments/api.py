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


class PayNPlayLimitIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(..., examples=["deposit"], description="deposit, loss, wager or session")
    period: str = Field(..., examples=["week"], description="day, week or month")
    amount: str = Field(..., examples=["500.00"], description="Major units; minutes for session")


class PayNPlayIn(Schema):
    model_config = ConfigDict(extra="forbid")
    provider: str = Field(..., examples=["trustly"], description="trustly or zimpler")
    jurisdiction: str = Field(..., examples=["SE"], description="The market the player is in")
    amount: str = Field(..., examples=["250.00"], description="Major units, a decimal string")
    currency: str = Field(..., examples=["SEK"], min_length=3, max_length=3)
    limits: list[PayNPlayLimitIn] = Field(
        default_factory=list,
        description="The player's limits, set when the bank identifies them, before the deposit "
        "gate. Required where the market requires a limit before play (SE: a deposit limit): "
        "without them the start answers 400 limits_required",
    )


class PayNPlayOut(Schema):
    reference: str = Field(..., description="Our merchant reference: the provider echoes it")
    redirect_url: str = Field(..., description="Where to send the player: bank login, then payment")


@router.post(
    "/paynplay",
    response={201: PayNPlayOut, **ERRORS, 502: ERRORS[400]},
    summary="Start a Pay N Play deposit (no account yet: the bank identifies the player)",
)
def paynplay_post(request, payload: PayNPlayIn):
    from .paynplay import paynplay_deposit_start

    start = paynplay_deposit_start(
        provider=payload.provider,
        jurisdiction=payload.jurisdiction,
        amount=payload.amount,
        currency=payload.currency.upper(),
        limits=[lim.model_dump() for lim in payload.limits],
    )
    return 201, {"reference": start.reference, "redirect_url": start.redirect_url}


# --- withdrawals ---------------------------------------------------------------------------------

withdrawals_router = Router(tags=["payments"])


class WithdrawalIn(Schema):
    model_config = ConfigDict(extra="forbid")
    player_id: str = Field(..., description="The player's public id")
    provider: str = Field(..., examples=["adyen"], description="adyen, trustly, zimpler, nuvei or payz")
    amount: str = Field(..., examples=["50.00"], description="Major units, a decimal string")
    currency: str = Field(..., examples=["EUR"], min_length=3, max_length=3)


class WithdrawalCheckOut(Schema):
    code: str = Field(..., description="kyc_level, cdd, same_method, complaints")
    result: str = Field(..., description="pass, hold, or note (shown to finance, holds nothing)")
    reason: str


class WithdrawalOut(Schema):
    reference: str = Field(..., description="Our reference for the withdrawal")
    state: str = Field(..., description="requested (held), in_review, approved, sent, paid, ...")
    amount: str
    currency: str
    held: str = Field(..., description="Why it is held, empty when it is not")
    checks: list[WithdrawalCheckOut]


class WithdrawalCancelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    player_id: str = Field(..., description="The player's public id: only their own withdrawal")


def _withdrawal_out(payment) -> dict:
    from backoffice.money import Money

    last = max((c.run for c in payment.checks.all()), default=0)
    return {
        "reference": payment.reference,
        "state": payment.state,
        "amount": Money(payment.amount, payment.currency).to_decimal_string(),
        "currency": payment.currency,
        "held": payment.status_note if payment.state == "requested" else "",
        "checks": [
            {"code": c.code, "result": c.result, "reason": c.reason}
            for c in payment.checks.all()
            if c.run == last
        ],
    }


@withdrawals_router.post(
    "",
    response={201: WithdrawalOut, **ERRORS, 409: ERRORS[400]},
    summary="Request a withdrawal (gate, funds to pending, automatic checks, finance's queue)",
)
def withdrawal_post(request, payload: WithdrawalIn):
    from .withdrawals import withdrawal_request

    player = player_get(public_id=payload.player_id)
    payment = withdrawal_request(
        player=player, provider=payload.provider, amount=payload.amount, currency=payload.currency.upper()
    )
    return 201, _withdrawal_out(payment)


@withdrawals_router.post(
    "/{reference}/cancel",
    response={200: WithdrawalOut, **ERRORS, 409: ERRORS[400]},
    summary="The player cancels a withdrawal still pending: the money returns to their cash",
)
def withdrawal_cancel_post(request, reference: str, payload: WithdrawalCancelIn):
    from .withdrawals import withdrawal_cancel

    player = player_get(public_id=payload.player_id)
    return 200, _withdrawal_out(withdrawal_cancel(reference=reference, player=player))
