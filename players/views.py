"""Console screens of a player: the player page with its tabs, search, the status
actions, notes, and the audited reveal of a national id. Each write calls one service."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from unfold.dataclasses import SearchResult

from backoffice.errors import DomainError
from backoffice.views import admin_context

from . import selectors, services
from .forms import NoteForm, PlayerSearchForm, ReasonForm
from .models import Player
from .tabs import tabs_for


def player_url(player: Player, tab: str = "") -> str:
    url = reverse("admin:players_player_change", args=[player.pk])
    return f"{url}?tab={tab}" if tab else url


def _player_or_404(player_id: int) -> Player:
    player = selectors.player_for_page(player_id)
    if player is None:
        raise Http404("No such player.")
    return player


# What each status action needs, and from which statuses it is offered.
STATUS_ACTIONS = {
    "suspend": ("Suspend", "players.change_player_status", {Player.Status.ACTIVE}, services.player_suspend),
    "reactivate": (
        "Reactivate",
        "players.change_player_status",
        {Player.Status.SUSPENDED},
        services.player_reactivate,
    ),
    "close": (
        "Close account",
        "players.close_player",
        {Player.Status.ACTIVE, Player.Status.SUSPENDED},
        services.player_close,
    ),
}


def player_page(request, player_id: int):
    """The whole player on one screen: a header, the actions the operator may take, and
    the tabs their role opens. Only the chosen tab is rendered (its queries are fixed)."""
    player = _player_or_404(player_id)
    tabs = tabs_for(request.user)
    active = next((t for t in tabs if t.key == request.GET.get("tab")), tabs[0] if tabs else None)
    tab_html = ""
    if active is not None:
        ctx = {**active.context(request, player), "player": player, "tab": active}
        tab_html = mark_safe(render_to_string(active.template, ctx, request=request))
    actions = [
        {"key": key, "label": label, "url": reverse(f"admin:players_player_{key}", args=[player.pk])}
        for key, (label, perm, allowed_from, _service) in STATUS_ACTIONS.items()
        if player.status in allowed_from and request.user.has_perm(perm)
    ]
    return TemplateResponse(
        request,
        "players/player_page.html",
        admin_context(
            request,
            title=player.full_name or player.public_id,
            player=player,
            tabs=tabs,
            active=active,
            tab_html=tab_html,
            actions=actions,
            may_see_pii=request.user.has_perm("players.view_player_pii"),
        ),
    )


def _status_view(key: str):
    label, _perm, _allowed, service = STATUS_ACTIONS[key]

    def view(request, player_id: int):
        player = _player_or_404(player_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                service(player_id=player.pk, reason=form.cleaned_data["reason"], actor=request.user)
            except DomainError as exc:
                form.add_error("reason" if exc.field == "reason" else None, exc.message)
            else:
                messages.success(request, f"{label}: done for {player.public_id}.")
                return redirect(player_url(player))
        return TemplateResponse(
            request,
            "backoffice/form_page.html",
            admin_context(
                request,
                title=f"{label} {player}",
                form=form,
                submit_label=label,
                intro=f"Current status: {player.get_status_display()}. The reason is kept in the audit log.",
            ),
        )

    view.__name__ = f"player_{key}_view"
    return view


player_suspend_view = _status_view("suspend")
player_reactivate_view = _status_view("reactivate")
player_close_view = _status_view("close")


def note_add_view(request, player_id: int):
    player = _player_or_404(player_id)
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_add(
                player_id=player.pk,
                body=form.cleaned_data["body"],
                pinned=form.cleaned_data["pinned"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error("body" if exc.field == "body" else None, exc.message)
        else:
            messages.success(request, "Note added.")
            return redirect(player_url(player, "notes"))
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(request, title=f"Note on {player}", form=form, submit_label="Add note"),
    )


@reauthentication_required(allow_get=True)
def national_id_reveal_view(request, player_id: int):
    """GET asks for confirmation; POST (after a fresh sign-in, allauth's
    reauthentication) shows the number once and writes the audit event."""
    player = _player_or_404(player_id)
    value, error = None, None
    if request.method == "POST":
        try:
            value = services.player_national_id_reveal(player_id=player.pk, actor=request.user)
        except DomainError as exc:
            error = exc.message
    response = TemplateResponse(
        request,
        "players/national_id_reveal.html",
        admin_context(
            request,
            title=f"National identity number of {player}",
            player=player,
            value=value,
            error=error,
            back_url=player_url(player),
        ),
    )
    response["Cache-Control"] = "no-store"
    return response


def player_search_view(request):
    """Search from anywhere: a single match opens the player page at once."""
    form = PlayerSearchForm(request.GET or None)
    q = request.GET.get("q", "").strip()
    plan = selectors.search_plan(q)
    results = selectors.player_search(q, limit=51, user=request.user) if q else []
    if len(results) == 1:
        return redirect(player_url(results[0]))
    return TemplateResponse(
        request,
        "players/search.html",
        admin_context(
            request,
            title="Find a player",
            form=form,
            q=q,
            plan=plan,
            results=results[:50],
            more=len(results) > 50,
        ),
    )


def command_search(request, search_term: str) -> list[SearchResult]:
    """unfold's command palette (UNFOLD["COMMAND"]["search_callback"]): players matching
    what was typed, for operators who may open the player page."""
    if not request.user.has_perm("players.view_player"):
        return []
    return [
        SearchResult(
            title=str(p),
            description=f"Player \u00b7 {p.jurisdiction} \u00b7 {p.get_status_display()}",
            link=player_url(p),
            icon="person",
        )
        for p in selectors.player_search(search_term, limit=10, user=request.user)
    ]
