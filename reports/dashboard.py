"""The live dashboard: the tiles of the console's home (backoffice.console.dashboard_callback).

Each tile is registered here with the permission that shows it, and each has a fragment
URL with the same permission that htmx polls (`DASHBOARD_REFRESH_SECONDS`, default 30), so
a tile refreshes itself without reloading the page. Money figures (today against
yesterday, large events, the 30-day charts) need `reports.view_dailymarket`: finance,
compliance and administrators, not support or marketing (backoffice/roles.py).

Every tile runs a fixed number of queries whatever the data size: money from the rollups
(MarketHour, DailyMarket), queues and events through indexed filters (docs/reports.md,
"Dashboard")."""

from datetime import datetime, timedelta

from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from backoffice import console

from .dashboard_figures import (
    ACTIVE_WINDOW,
    active_players_now,
    large_events,
    queue_list,
    refresh_seconds,
    today_figures,
)
from .render.svg import HEIGHT, WIDTH, bar_chart, line_chart
from .rollups import reporting_tz
from .selectors import market_daily

MONEY = "reports.view_dailymarket"
CHART_DAYS = 30

# --- The last 30 days ----------------------------------------------------------------------------


def _fluid(svg: str) -> str:
    """The chart scaled to its tile's width (the viewBox keeps its proportions)."""
    return mark_safe(svg.replace(f' width="{WIDTH}" height="{HEIGHT}"', ' width="100%"', 1))  # noqa: S308


def last_days_charts(*, now: datetime | None = None, days: int = CHART_DAYS) -> dict:
    """GGR per day, deposits against withdrawals per day and active players per day (EUR,
    from DailyMarket: one query), as server-rendered SVG (they print in a PDF too)."""
    today = timezone.localtime(now or timezone.now(), reporting_tz()).date()
    first = today - timedelta(days=days - 1)
    by_day = {r["day"]: r for r in market_daily(first, today)}
    span = [first + timedelta(days=i) for i in range(days)]
    labels = [d.strftime("%m-%d") for d in span]

    def series(field: str, scale: float = 100.0) -> list[float]:
        return [((by_day.get(d) or {}).get(field) or 0) / scale for d in span]

    return {
        "first": first,
        "last": today,
        "ggr_svg": _fluid(bar_chart(labels, {"GGR": series("ggr")}, title="GGR per day (EUR)")),
        "payments_svg": _fluid(
            bar_chart(
                labels,
                {"Deposits": series("deposits_amount"), "Withdrawals": series("withdrawals_amount")},
                title="Deposits and withdrawals per day (EUR)",
            )
        ),
        "players_svg": _fluid(
            line_chart(
                labels, {"Active players": series("active_players", 1.0)}, title="Active players per day"
            )
        ),
    }


# --- Tiles, their fragments and registration -----------------------------------------------------


def _tile(key: str, **context) -> dict:
    return {
        "key": key,
        "refresh_url": reverse(f"admin:reports_dashboard_{key}"),
        "refresh_seconds": refresh_seconds(),
        **context,
    }


def _today_tile(request) -> dict:
    return _tile("today", **today_figures())


def _active_tile(request) -> dict:
    return _tile(
        "active", count=active_players_now(), window_minutes=int(ACTIVE_WINDOW.total_seconds() // 60)
    )


def _queues_tile(request) -> dict:
    return _tile("queues", queues=queue_list(request.user))


def _events_tile(request) -> dict:
    return _tile("events", **large_events(request.user))


def _charts_tile(request) -> dict:
    return _tile("charts", **last_days_charts())


TILES = [
    # key, template, permission, context, order
    console.Tile("today", "reports/dashboard/today.html", MONEY, _today_tile, 1),
    console.Tile("active", "reports/dashboard/active.html", "players.view_player", _active_tile, 2),
    # Shown to every operator; the tile lists only the queues their role may open (none: empty).
    console.Tile("queues", "reports/dashboard/queues.html", None, _queues_tile, 3),
    console.Tile("events", "reports/dashboard/events.html", MONEY, _events_tile, 4),
    console.Tile("charts", "reports/dashboard/charts.html", MONEY, _charts_tile, 990),
]


def _fragment(tile: console.Tile):
    def view(request):
        return TemplateResponse(
            request, tile.template, {"tile": {"template": tile.template, **tile.context(request)}}
        )

    view.__name__ = f"dashboard_{tile.key}_fragment"
    return view


for _t in TILES:
    console.register_tile(_t)
    console.register_view(
        f"reports/dashboard/{_t.key}/", _fragment(_t), f"reports_dashboard_{_t.key}", _t.permission
    )
