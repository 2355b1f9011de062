"""Reads on players shared by the console, the API and other apps.

Player search decides from the input what it is (a public id, an email, an IP, a phone
or national id, a device id, or a name) and runs only the lookups that kind needs, each
one served by an index, so a pasted id answers in milliseconds over a million players:

| input            | lookup                                         | index                        |
|------------------|------------------------------------------------|------------------------------|
| P + 9 characters | public_id =                                    | unique btree                 |
| full email       | email =                                        | partial unique btree         |
| IP address       | sessions.ip =, then players by id              | session_ip_idx, primary key  |
| digits (+ - ( )) | phone = ; national_id_hash =                   | btree ; btree                |
| one token        | national_id_hash = ; sessions.device_id =      | btree ; session_device_idx   |
| words            | search_text LIKE %w% for every word            | pg_trgm GIN (PostgreSQL)     |

No COUNT(*): each lookup is limited, results are merged in the order above."""

import ipaddress
import re
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, QuerySet

from backoffice.errors import DomainError

from . import national_id
from .models import Player, PlayerNote, PlayerSession
from .services import PLAYER_NOT_FOUND
from .validation import normalize_phone

_PUBLIC_ID = re.compile(r"^P[2-9A-HJ-NP-Z]{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9\s\-().]{5,}$")
_TOKEN = re.compile(r"^[\w\-.:+/]{6,128}$")
MIN_WORD = 3  # a trigram index needs three characters to narrow anything down


@dataclass(frozen=True)
class SearchPlan:
    kind: str  # public_id, email, ip, phone, token, name, none
    lookups: list[str] = field(default_factory=list)  # what will run, in order


def search_plan(q: str) -> SearchPlan:
    q = (q or "").strip()
    if not q:
        return SearchPlan("none")
    if _PUBLIC_ID.match(q.upper()):
        return SearchPlan("public_id", ["public_id"])
    if _EMAIL.match(q):
        return SearchPlan("email", ["email"])
    try:
        ipaddress.ip_address(q)
    except ValueError:
        pass
    else:
        return SearchPlan("ip", ["session_ip"])
    if _PHONE_LIKE.match(q) and sum(c.isdigit() for c in q) >= 6:
        return SearchPlan("phone", ["phone", "national_id"])
    if _TOKEN.match(q) and any(c.isdigit() for c in q):
        return SearchPlan("token", ["national_id", "session_device"])
    words = [w for w in q.lower().split() if len(w) >= MIN_WORD]
    if words:
        return SearchPlan("name", ["search_text"])
    return SearchPlan("none")


def _by_session(**lookup) -> QuerySet:
    # Distinct players of the most recent matching sessions; the session index does the work.
    ids = list(
        PlayerSession.objects.filter(**lookup)
        .values("player_id")
        .annotate(last=Max("started_at"))
        .order_by("-last")
        .values_list("player_id", flat=True)[:200]
    )
    return Player.objects.filter(pk__in=ids)


def _lookup(name: str, q: str) -> QuerySet:
    if name == "public_id":
        return Player.objects.filter(public_id=q.upper())
    if name == "email":
        return Player.objects.filter(email=q.lower())
    if name == "session_ip":
        return _by_session(ip=q)
    if name == "phone":
        phone = normalize_phone(q)
        return Player.objects.filter(phone__in={phone, phone if phone.startswith("+") else "+" + phone})
    if name == "national_id":
        return Player.objects.filter(national_id_hash=national_id.search_hash(q))
    if name == "session_device":
        return _by_session(device_id=q)
    if name == "search_text":
        qs = Player.objects.all()
        for word in {w for w in q.lower().split() if len(w) >= MIN_WORD}:
            qs = qs.filter(search_text__contains=word)
        return qs
    raise ValueError(name)


# Searching by these finds a player through personal data the operator may not see
# (sessions' IPs and devices, phone, national id): only for roles with view_player_pii.
_PII_LOOKUPS = {"session_ip", "session_device", "phone", "national_id"}


def player_search(q: str, limit: int = 50, user=None) -> list[Player]:
    """Players matching `q`, at most `limit`, newest first within each lookup. With a
    `user`, lookups through personal data they may not see are skipped."""
    plan = search_plan(q)
    q = (q or "").strip()
    found: dict[int, Player] = {}
    lookups = plan.lookups
    if user is not None and not user.has_perm("players.view_player_pii"):
        lookups = [name for name in lookups if name not in _PII_LOOKUPS]
    for name in lookups:
        remaining = limit - len(found)
        if remaining <= 0:
            break
        for p in _lookup(name, q).exclude(pk__in=list(found)).order_by("-created_at", "-id")[:remaining]:
            found[p.pk] = p
    return list(found.values())


def player_search_ids(q: str, limit: int = 200) -> list[int]:
    return [p.pk for p in player_search(q, limit=limit)]


def player_get(*, public_id: str) -> Player:
    """A player by public id, or DomainError player_not_found (404)."""
    player = Player.objects.filter(public_id=(public_id or "").upper()).first()
    if player is None:
        raise DomainError("player_not_found", PLAYER_NOT_FOUND, status=404)
    return player


def player_for_page(player_id: int) -> Player | None:
    return (
        Player.objects.select_related("status_changed_by")
        .prefetch_related("consents")
        .filter(pk=player_id)
        .first()
    )


def player_sessions(player: Player, limit: int = 50) -> list[PlayerSession]:
    return list(PlayerSession.objects.filter(player=player).order_by("-started_at", "-id")[:limit])


def player_devices(player: Player, limit: int = 20) -> list[dict]:
    """Devices the player used, aggregated in SQL: device id, sessions, first and last seen."""
    return list(
        PlayerSession.objects.filter(player=player)
        .exclude(device_id="")
        .values("device_id")
        .annotate(sessions=Count("id"), first_seen=Min("started_at"), last_seen=Max("started_at"))
        .order_by("-last_seen")[:limit]
    )


def player_notes(player: Player, limit: int = 50) -> list[PlayerNote]:
    """Pinned first, then newest."""
    return list(
        PlayerNote.objects.filter(player=player)
        .select_related("author")
        .order_by("-pinned", "-created_at", "-id")[:limit]
    )
