"""Tabs of the player page. Each app adds its own tab (KYC, limits, payments, rounds...)
from its admin.py, without editing players/:

    from players.tabs import PlayerTab, register_tab
    register_tab(PlayerTab(key="statement", title="Statement", template="wallet/tabs/statement.html",
                           permission="wallet.view_posting", context=statement_context, order=30))

`context(request, player)` returns the template's context; it must run a fixed number
of queries whatever the player's history (paginate, aggregate in SQL)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlayerTab:
    key: str
    title: str
    template: str
    permission: str | None  # None: every operator who may open the player page
    context: Callable[[Any, Any], dict]
    order: int = 100


_tabs: dict[str, PlayerTab] = {}


def register_tab(tab: PlayerTab) -> None:
    _tabs[tab.key] = tab


def tabs_for(user) -> list[PlayerTab]:
    return [
        t
        for t in sorted(_tabs.values(), key=lambda t: (t.order, t.key))
        if t.permission is None or user.has_perm(t.permission)
    ]
