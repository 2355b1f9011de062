"""The console's registries: custom admin views with the permission each one needs,
sidebar navigation grouped by domain, and dashboard tiles. Apps register theirs from
their `admin.py`, so the console grows without editing this module, and the permission
matrix test reads the same registry the site serves."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import NoReverseMatch, reverse

SECTIONS = ["Players", "Money", "Compliance", "Games", "Payments", "Reports", "Administration"]


@dataclass(frozen=True)
class ConsoleView:
    route: str  # relative to /admin/, e.g. "approvals/queue/"
    view: Callable
    name: str  # URL name inside the admin namespace
    permission: str | None  # a Django permission, or None: any operator
    sample_kwargs: dict = field(default_factory=dict)  # for the permission matrix test


@dataclass(frozen=True)
class NavItem:
    section: str
    title: str
    url_name: str  # "admin:..." URL name
    permission: str | tuple[str, ...] | None
    icon: str = "chevron_right"
    order: int = 100


@dataclass(frozen=True)
class Tile:
    key: str
    template: str
    permission: str | None
    context: Callable[[Any], dict]
    order: int = 100


_views: list[ConsoleView] = []
_nav: list[NavItem] = []
_tiles: list[Tile] = []


def register_view(route: str, view: Callable, name: str, permission: str | None, **sample_kwargs) -> None:
    if not any(v.name == name for v in _views):
        _views.append(ConsoleView(route, view, name, permission, sample_kwargs))


def register_nav(item: NavItem) -> None:
    if item not in _nav:
        _nav.append(item)


def register_tile(tile: Tile) -> None:
    if not any(t.key == tile.key for t in _tiles):
        _tiles.append(tile)


def views() -> list[ConsoleView]:
    return list(_views)


def user_may(user, permission: str | tuple[str, ...] | None) -> bool:
    if permission is None:
        return user.is_active and user.is_staff
    if isinstance(permission, tuple):
        return any(user.has_perm(p) for p in permission)
    return user.has_perm(permission)


def require(permission: str | None):
    """Wrap a console view so it answers 403 to an operator without the permission."""

    def deco(view):
        def wrapped(request, *args, **kwargs):
            if not user_may(request.user, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.__name__ = getattr(view, "__name__", "view")
        wrapped.required_permission = permission
        return wrapped

    return deco


# --- unfold callbacks -----------------------------------------------------------------


def sidebar_navigation(request) -> list[dict]:
    groups = []
    for section in SECTIONS:
        items = []
        for item in sorted((i for i in _nav if i.section == section), key=lambda i: (i.order, i.title)):
            if not user_may(request.user, item.permission):
                continue
            try:
                link = reverse(item.url_name)
            except NoReverseMatch:
                continue
            items.append({"title": item.title, "icon": item.icon, "link": link})
        if items:
            groups.append({"title": section, "separator": True, "collapsible": False, "items": items})
    return groups


def environment_label(request) -> list[str] | None:
    env = settings.PITBOSS_ENVIRONMENT
    if env == "production":
        return None
    return [env.upper(), "warning" if env != "demo" else "info"]


def dashboard_callback(request, context: dict) -> dict:
    tiles = []
    for tile in sorted(_tiles, key=lambda t: (t.order, t.key)):
        if user_may(request.user, tile.permission):
            tiles.append({"template": tile.template, **tile.context(request)})
    context["tiles"] = tiles
    return context
