"""The player page's own tabs (profile, notes, sessions and devices, audit trail).
Other apps add theirs the same way from their admin.py (players.tabs)."""

from backoffice import audit

from . import selectors
from .forms import NoteForm
from .models import PlayerConsent
from .tabs import PlayerTab, register_tab


def profile_context(request, player) -> dict:
    consents = {c.channel: c for c in player.consents.all()}  # prefetched by player_for_page
    return {
        "may_see_pii": request.user.has_perm("players.view_player_pii"),
        "may_reveal": request.user.has_perm("players.reveal_national_id") and bool(player.national_id_last4),
        "consents": [(label, consents.get(value)) for value, label in PlayerConsent.Channel.choices],
    }


def notes_context(request, player) -> dict:
    return {
        "notes": selectors.player_notes(player),
        "may_add": request.user.has_perm("players.add_playernote"),
        "form": NoteForm(),
    }


def sessions_context(request, player) -> dict:
    return {"sessions": selectors.player_sessions(player), "devices": selectors.player_devices(player)}


def audit_context(request, player) -> dict:
    rows = []
    for e in audit.events_for(player)[:50]:
        keys = list(dict.fromkeys([*e.before, *e.after]))
        rows.append((e, [(k, e.before.get(k), e.after.get(k)) for k in keys]))
    return {"rows": rows}


register_tab(PlayerTab("profile", "Profile", "players/tabs/profile.html", None, profile_context, order=10))
register_tab(
    PlayerTab("notes", "Notes", "players/tabs/notes.html", "players.view_playernote", notes_context, order=20)
)
register_tab(
    PlayerTab(
        "sessions",
        "Sessions and devices",
        "players/tabs/sessions.html",
        "players.view_playersession",
        sessions_context,
        order=70,
    )
)
# The player's own trail; it holds personal data, so it follows the PII permission
# rather than the audit log's (support agents need it, marketing does not).
register_tab(
    PlayerTab(
        "audit", "Audit trail", "players/tabs/audit.html", "players.view_player_pii", audit_context, order=90
    )
)
