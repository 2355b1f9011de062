"""Reads on rounds shared by the console screens (rounds search, the round's page, the
per-game figures, the player page's Game rounds tab). Each runs a fixed number of
queries whatever the history, on the Round indexes:

| read                  | lookup                                     | index                          |
|-----------------------|--------------------------------------------|--------------------------------|
| search by round id    | external_id =                              | games_round_external_idx       |
| search by player      | public_id = / email =, then player_id IN   | unique btrees, games_round_player_idx |
| a player's rounds     | player_id =, newest first                  | games_round_player_idx         |
| a round's calls       | round_id =                                 | the round foreign key's index  |
| figures for a period  | opened_at range (and game)                 | games_round_opened_idx / _game_idx |
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from backoffice.money import format_minor
from players.models import Player
from wallet.models import Posting

from .models import Round, WalletTransaction

PLAYER_ROUNDS_LIMIT = 50
# Request fields never shown to an operator: a game session token is a credential.
REDACTED_FIELDS = frozenset({"token"})

_PUBLIC_ID = re.compile(r"^P[2-9A-HJ-NP-Z]{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- rounds search ----------------------------------------------------------------------------


def round_search_q(term: str) -> Q:
    """What the rounds search box matches: the provider's round id exactly, or every round
    of the player whose public id or email it is (exact, so each lookup is an index seek).
    The player is looked up first (one query, only when the term looks like a public id or
    an email), so the rounds query is two index scans joined by OR, never a join."""
    term = term.strip()
    q = Q(external_id=term)
    lookup = None
    if _PUBLIC_ID.match(term.upper()):
        lookup = Q(public_id=term.upper())
    elif _EMAIL.match(term):
        lookup = Q(email=term.lower()) & ~Q(email="")  # the partial unique index's condition
    if lookup is not None:
        ids = list(Player.objects.filter(lookup).order_by().values_list("pk", flat=True)[:2])
        if ids:
            q |= Q(player_id__in=ids)
    return q


def player_rounds(player: Player, *, limit: int = PLAYER_ROUNDS_LIMIT) -> list[Round]:
    """The player's latest rounds with their game, newest first: one query."""
    return list(
        Round.objects.filter(player_id=player.pk).select_related("game").order_by("-opened_at", "-id")[:limit]
    )


# --- the round's page ------------------------------------------------------------------------


def _pretty(data: dict) -> str:
    shown = {k: ("(hidden)" if k in REDACTED_FIELDS else v) for k, v in (data or {}).items()}
    return json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False)


def _amount(amount: int, currency: str) -> str:
    try:
        return format_minor(amount, currency)
    except ValueError:  # a currency we do not know: the raw minor units, never a crash
        return f"{amount} (minor units{', ' + currency if currency else ''})"


def round_calls(round_id: int) -> list[WalletTransaction]:
    """The wallet calls (bets, wins, rollbacks) recorded on a round, oldest first, each
    with `request_pretty` and `response_pretty` (indented JSON, the session token hidden).
    One query."""
    calls = list(
        WalletTransaction.objects.filter(round_id=round_id)
        .select_related("ledger_transaction")
        .order_by("created_at", "id")
    )
    for c in calls:
        c.request_pretty = _pretty(c.request)
        c.response_pretty = _pretty(c.response)
        # A rollback may come without a currency: the answer names the player's.
        c.amount_display = _amount(c.amount, c.currency or (c.response or {}).get("currency") or "")
        c.bonus_display = _amount(c.bonus_amount, c.currency) if c.bonus_amount else ""
    return calls


def round_postings(calls: list[WalletTransaction]) -> list[Posting]:
    """The ledger postings of the calls' ledger transactions, in ledger order, with their
    transaction and account. One query (none when no call moved money)."""
    ids = [c.ledger_transaction_id for c in calls if c.ledger_transaction_id is not None]
    if not ids:
        return []
    return list(
        Posting.objects.filter(transaction_id__in=ids)
        .select_related("transaction", "account")
        .order_by("transaction_id", "id")
    )


# --- per-game figures ------------------------------------------------------------------------


def day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min), timezone.get_default_timezone())


@dataclass(frozen=True)
class GameFigures:
    game_id: int
    game_title: str
    game_code: str
    provider_name: str
    currency: str
    theoretical_rtp: Decimal
    bets: int  # minor units
    wins: int
    rounds: int
    players: int

    @property
    def ggr(self) -> int:
        """Gross gaming revenue: bets minus wins."""
        return self.bets - self.wins

    @property
    def actual_rtp(self) -> Decimal | None:
        """Wins as a percentage of bets (2 decimals); None when nothing was staked."""
        if not self.bets:
            return None
        return (Decimal(self.wins) * 100 / Decimal(self.bets)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def rtp_gap(self) -> Decimal | None:
        """Actual minus theoretical RTP, in percentage points."""
        actual = self.actual_rtp
        return None if actual is None else actual - self.theoretical_rtp


def game_figures(*, date_from: date, date_to: date, provider_id: int | None = None) -> list[GameFigures]:
    """Bets, wins, rounds and distinct players per game and currency for the rounds opened
    from `date_from` to `date_to` (both days included, in the console's time zone), in one
    grouped query. Totals are net of rollbacks (as the rounds hold them); rounds with no
    money staked or won (every bet rolled back) are not counted."""
    qs = Round.objects.filter(
        opened_at__gte=day_start(date_from), opened_at__lt=day_start(date_to + timedelta(1))
    )
    if provider_id:
        qs = qs.filter(provider_id=provider_id)
    rows = (
        qs.exclude(total_bet=0, total_win=0)
        .values("game_id", "game__title", "game__code", "game__rtp", "game__provider__name", "currency")
        .annotate(
            bets=Sum("total_bet"),
            wins=Sum("total_win"),
            rounds=Count("id"),
            players=Count("player_id", distinct=True),
        )
        .order_by("game__provider__name", "game__title", "currency")
    )
    return [
        GameFigures(
            game_id=r["game_id"],
            game_title=r["game__title"],
            game_code=r["game__code"],
            provider_name=r["game__provider__name"],
            currency=r["currency"],
            theoretical_rtp=r["game__rtp"],
            bets=r["bets"] or 0,
            wins=r["wins"] or 0,
            rounds=r["rounds"],
            players=r["players"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    bets: int
    wins: int
    rounds: int

    @property
    def ggr(self) -> int:
        return self.bets - self.wins

    @property
    def actual_rtp(self) -> Decimal | None:
        if not self.bets:
            return None
        return (Decimal(self.wins) * 100 / Decimal(self.bets)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def figures_totals(rows: list[GameFigures]) -> list[CurrencyTotal]:
    """The figures summed per currency (amounts in different currencies never add up).
    Distinct players cannot be summed across games, so totals leave them out."""
    acc: dict[str, list[int]] = {}
    for r in rows:
        t = acc.setdefault(r.currency, [0, 0, 0])
        t[0] += r.bets
        t[1] += r.wins
        t[2] += r.rounds
    return [CurrencyTotal(cur, *acc[cur]) for cur in sorted(acc)]
