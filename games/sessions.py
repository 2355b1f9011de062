"""Starting a game session (the platform API's game launch). No money moves here: the
session's token is what the aggregator's wallet calls present."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from compliance import gates
from players.models import Player

from .models import Game, GameProvider, GameSession

UNKNOWN_GAME = "Unknown game {code!r}."
GAME_NOT_OFFERED = "{title} is not offered in market {market}."
GAME_DISABLED = "{title} is not available at the moment."


def session_ttl() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "GAME_SESSION_TTL_MINUTES", 240)))


@transaction.atomic
def game_session_start(*, player_id: int, game_code: str, started_via: str) -> GameSession:
    """A launch token for a player in a game. Refused with the compliance gate's reason
    when the player may not play (excluded, suspended, identity not verified where the
    market requires it...), or when the game is disabled or not offered in the market."""
    player = Player.objects.get(pk=player_id)
    game = Game.objects.select_related("provider").filter(code=game_code).first()
    if game is None:
        raise DomainError("unknown_game", UNKNOWN_GAME.format(code=game_code), field="game_code", status=404)
    if not game.enabled or game.provider.status != GameProvider.Status.ACTIVE:
        raise DomainError("game_unavailable", GAME_DISABLED.format(title=game.title), field="game_code")
    if player.jurisdiction not in (game.markets or []):
        raise DomainError(
            "game_not_offered",
            GAME_NOT_OFFERED.format(title=game.title, market=player.jurisdiction),
            field="game_code",
        )
    # Launching a real-money game is playing: the login gate, then the wager gate with
    # nothing staked yet (identity before play, mandatory limits, limits already reached).
    gate = gates.can_login_to_play(player)
    if gate:
        gate = gates.can_wager(player, 0)
    if not gate:
        raise DomainError(gate.code, gate.message, status=403)
    now = timezone.now()
    session = GameSession.objects.create(
        token=secrets.token_urlsafe(32),
        player=player,
        game=game,
        created_at=now,
        expires_at=now + session_ttl(),
        started_via=started_via,
    )
    audit.record(
        actor=None,
        actor_label=started_via,
        action="games.session.start",
        target=player,
        after={"game": game.code, "expires_at": session.expires_at.isoformat()},
    )
    return session
