"""Test players, registered through the service (so audit events and wallet accounts
exist as in production), with unique emails and sensible defaults per market."""

import itertools
from datetime import date, timedelta

from django.utils import timezone

from players import services
from players.models import Player, PlayerNote, PlayerSession

_seq = itertools.count(1)


def register(**overrides) -> Player:
    n = next(_seq)
    kwargs = {
        "jurisdiction": "SE",
        "email": f"player{n}@example.com",
        "first_name": "Anna",
        "last_name": f"Svensson{n}",
        "phone": f"+4670{n:07d}",
        "date_of_birth": date(1985, 3, 14),
        "national_id": f"19850314{n:04d}",
        "actor": None,
        "actor_label": "test",
    }
    kwargs.update(overrides)
    return services.player_register(**kwargs)


def sessions(player: Player, count: int, *, ip: str = "10.0.0.1", device_id: str = "dev-1") -> None:
    start = timezone.now() - timedelta(days=count)
    PlayerSession.objects.bulk_create(
        [
            PlayerSession(
                player=player,
                started_at=start + timedelta(days=i),
                ended_at=start + timedelta(days=i, minutes=30),
                ip=ip,
                device_id=f"{device_id}-{i % 3}" if i else device_id,
                user_agent="Mozilla/5.0",
            )
            for i in range(count)
        ]
    )


def notes(player: Player, author, count: int) -> None:
    PlayerNote.objects.bulk_create(
        [PlayerNote(player=player, author=author, body=f"note {i}", pinned=i == 0) for i in range(count)]
    )
