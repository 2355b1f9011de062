"""Players on the platform API: register, read, update, report sessions, read balances.
A player is addressed by public id. Writes go through players.services, audited with
actor None and actor_label "api:<client name>"."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Router, Schema
from pydantic import ConfigDict, IPvAnyAddress, field_validator

from backoffice.api_schemas import ERRORS
from backoffice.apiclients import actor_label
from backoffice.errors import DomainError
from backoffice.money import Money
from compliance import gates

from . import selectors, services
from .models import Player

router = Router(tags=["players"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 422 naming it

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL refuses NUL in text: answer 422 here rather than fail in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("Text may not contain NUL characters.")
        return value


class ConsentsIn(_Strict):
    email: bool | None = None
    sms: bool | None = None
    phone: bool | None = None


class ProfileFields(_Strict):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    date_of_birth: date | None = None
    address_line: str | None = Field(None, max_length=200)
    postcode: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, min_length=2, max_length=2)
    nationality: str | None = Field(None, min_length=2, max_length=2)
    language: str | None = Field(None, max_length=8)
    national_id: str | None = Field(None, max_length=32, description="Stored encrypted; answered masked.")
    consents: ConsentsIn | None = None


class PlayerRegisterIn(ProfileFields):
    jurisdiction: str = Field(..., min_length=2, max_length=2, description="Market: MT, SE, FI, GB or DE")
    currency: str | None = Field(None, min_length=3, max_length=3, description="Defaults to the market's")
    registration_channel: Literal["standard", "pay_n_play"] = "standard"


class PlayerPatchIn(ProfileFields):
    pass


class ConsentOut(Schema):
    granted: bool
    at: datetime
    source: str


class PlayerOut(Schema):
    id: str = Field(..., description="The public id")
    status: str
    jurisdiction: str
    currency: str
    email: str
    phone: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    address_line: str
    postcode: str
    city: str
    country: str
    nationality: str
    language: str
    national_id_masked: str
    registration_channel: str
    created_at: datetime
    last_seen_at: datetime | None
    consents: dict[str, ConsentOut]


class SessionIn(_Strict):
    event: Literal["login", "logout"]
    session_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="For logout: the id the login answered"
    )
    ip: IPvAnyAddress | None = None
    user_agent: str = Field("", max_length=500)
    device_id: str = Field("", max_length=128)
    at: datetime | None = Field(None, description="When it happened; now if omitted")


class SessionOut(Schema):
    session_id: int
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None


class BalanceOut(Schema):
    currency: str
    cash: str = Field(..., examples=["25.00"])
    bonus: str
    withdrawal_pending: str
    withdrawable: str


def _out(player: Player) -> dict:
    fields = [f for f in PlayerOut.model_fields if f not in ("id", "consents", "national_id_masked")]
    return {
        **{f: getattr(player, f) for f in fields},
        "id": player.public_id,
        "national_id_masked": player.national_id_masked,
        "consents": {
            c.channel: {"granted": c.granted, "at": c.at, "source": c.source} for c in player.consents.all()
        },
    }


def _reload(player_id: int) -> Player:
    return Player.objects.prefetch_related("consents").get(pk=player_id)


def _profile(payload: ProfileFields) -> tuple[dict, dict]:
    data = payload.dict(exclude_unset=True)
    consents = {k: v for k, v in (data.pop("consents", None) or {}).items() if v is not None}
    return {k: ("" if v is None and k != "date_of_birth" else v) for k, v in data.items()}, consents


_GATE_FIELDS = {
    "underage": "date_of_birth",
    "date_of_birth_required": "date_of_birth",
    "national_register_excluded": "national_id",
    "unknown_market": "jurisdiction",
}


@router.post("", response={201: PlayerOut, **ERRORS}, summary="Register a player")
def register(request, payload: PlayerRegisterIn):
    gate = gates.can_register(
        jurisdiction=(payload.jurisdiction or "").upper(),
        date_of_birth=payload.date_of_birth,
        national_id=payload.national_id or None,
    )
    if not gate:
        raise DomainError(gate.code, gate.message, field=_GATE_FIELDS.get(gate.code))
    profile, consents = _profile(payload)
    for key in ("jurisdiction", "currency", "registration_channel"):
        profile.pop(key, None)
    player = services.player_register(
        jurisdiction=payload.jurisdiction,
        currency=payload.currency or "",
        registration_channel=payload.registration_channel,
        consents=consents,
        actor=None,
        actor_label=actor_label(request),
        **profile,
    )
    return 201, _out(_reload(player.pk))


@router.get("/{public_id}", response={200: PlayerOut, **ERRORS}, summary="A player")
def get_player(request, public_id: str):
    return _out(_reload(selectors.player_get(public_id=public_id).pk))


@router.patch(
    "/{public_id}", response={200: PlayerOut, **ERRORS}, summary="Change a player's profile or consents"
)
def patch_player(request, public_id: str, payload: PlayerPatchIn):
    player = selectors.player_get(public_id=public_id)
    changes, consents = _profile(payload)
    services.player_update(
        player_id=player.pk, changes=changes, consents=consents, actor=None, actor_label=actor_label(request)
    )
    return _out(_reload(player.pk))


@router.post(
    "/{public_id}/sessions",
    response={200: SessionOut, 201: SessionOut, **ERRORS},
    summary="Report a login (201, answers the session id) or a logout (200)",
)
def report_session(request, public_id: str, payload: SessionIn):
    player = selectors.player_get(public_id=public_id)
    if payload.event == "login":
        # The compliance gate: suspended, blocked, excluded or nationally registered
        # players are refused, with the reason the front end shows them.
        gate = gates.can_login_to_play(player)
        if not gate:
            raise DomainError(gate.code, gate.message, status=403)
        s = services.session_start(
            player_id=player.pk,
            ip=str(payload.ip) if payload.ip else None,
            user_agent=payload.user_agent,
            device_id=payload.device_id,
            started_at=payload.at,
            reported_by=actor_label(request),
        )
        status = 201
    else:
        if payload.session_id is None:
            raise DomainError(
                "validation_error",
                "A logout names the session_id its login answered.",
                field="session_id",
                status=422,
            )
        s = services.session_end(player_id=player.pk, session_id=payload.session_id, ended_at=payload.at)
        status = 200
    return status, {
        "session_id": s.pk,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
        "duration_seconds": int(s.duration.total_seconds()) if s.duration is not None else None,
    }


@router.get("/{public_id}/balance", response={200: BalanceOut, **ERRORS}, summary="A player's balances")
def balance(request, public_id: str):
    from wallet.selectors import player_balances

    b = player_balances(selectors.player_get(public_id=public_id))
    cur = b["currency"]
    return {
        "currency": cur,
        **{
            k: Money(b[k], cur).to_decimal_string()
            for k in ("cash", "bonus", "withdrawal_pending", "withdrawable")
        },
    }
