"""Game performance: per game, actual RTP (wins over bets) beside the theoretical RTP the
catalogue states, hold (GGR over bets), rounds and player-days, from the per-game rollups."""

from django.db.models import Sum

from reports import registry
from reports.fx import EUR
from reports.models import DailyGame
from reports.registry import ChartSpec, Column, DateRangeForm, Report, Table

from .common import ratio, reporting_currency_field, rollup_as_of


class GamePerformanceForm(DateRangeForm):
    currency = reporting_currency_field()


def rows(p: dict):
    currency = p.get("currency") or EUR
    qs = DailyGame.objects.filter(day__gte=p["date_from"], day__lte=p["date_to"])
    if currency != EUR:
        qs = qs.filter(currency=currency)
    sfx = "_eur" if currency == EUR else ""
    for r in (
        qs.values("game_id", "game__title", "game__rtp", "provider__name")
        .annotate(
            bets=Sum(f"bets{sfx}"),
            wins=Sum(f"wins{sfx}"),
            ggr=Sum(f"ggr{sfx}"),
            rounds=Sum("rounds"),
            players=Sum("players"),
        )
        .order_by("-ggr", "game__title")
        .iterator()
    ):
        bets, wins = r["bets"] or 0, r["wins"] or 0
        yield {
            "game": r["game__title"],
            "provider": r["provider__name"],
            "currency": currency,
            "theoretical_rtp": r["game__rtp"] / 100 if r["game__rtp"] is not None else None,
            "actual_rtp": ratio(wins, bets),
            "hold": ratio(bets - wins, bets),
            "bets": bets,
            "wins": wins,
            "ggr": r["ggr"] or 0,
            "rounds": r["rounds"],
            "players": r["players"],
        }


COLUMNS = [
    Column("game", "Game"),
    Column("provider", "Provider"),
    Column("theoretical_rtp", "Theoretical RTP", "percent"),
    Column("actual_rtp", "Actual RTP", "percent"),
    Column("hold", "Hold", "percent"),
    Column("bets", "Bets", "money"),
    Column("wins", "Wins", "money"),
    Column("ggr", "GGR", "money"),
    Column("rounds", "Rounds", "int"),
    Column("players", "Player-days", "int"),
]


def build(p: dict) -> Table:
    data = list(rows(p))
    bets, wins = sum(r["bets"] for r in data), sum(r["wins"] for r in data)
    totals = {
        "game": "Total",
        "currency": p.get("currency") or EUR,
        "actual_rtp": ratio(wins, bets),
        "hold": ratio(bets - wins, bets),
        "bets": bets,
        "wins": wins,
        "ggr": bets - wins,
        "rounds": sum(r["rounds"] for r in data),
        "players": sum(r["players"] for r in data),
    }
    return Table(
        columns=COLUMNS,
        rows=data,
        totals=totals,
        as_of=rollup_as_of(DailyGame, p["date_from"], p["date_to"]),
        chart=ChartSpec("bar", "game", ("ggr",), "GGR per game"),
        notes=[
            "Actual RTP = wins / bets over the range; hold = (bets - wins) / bets. Short ranges vary widely.",
            "Player-days: players with a bet, counted once per day (not distinct over the range).",
        ],
    )


registry.register(
    Report(
        key="game-performance",
        title="Game performance",
        description="Actual RTP beside theoretical, hold, rounds and players per game.",
        permission=registry.MONEY,
        form_class=GamePerformanceForm,
        build=build,
        order=20,
    )
)
