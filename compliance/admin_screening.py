"""Screening console: the review queue (strongest, then oldest, first; decision on the
same page), the ad-hoc screen, the watch-list upload and each version's page (counts,
changes, the re-screen it queued), the player page's Screening tab, and read-only lists
of versions, entries and matches."""

import re
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin

from backoffice import audit, console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.models import ApprovalRequest, AuditEvent
from backoffice.views import ReadOnlyAdminMixin, admin_context
from players.models import Player
from players.tabs import PlayerTab, register_tab

from .models import ScreeningMatch, WatchList, WatchlistEntry, WatchlistVersion
from .screening import selectors, services
from .screening.matching import Subject
from .screening.parsers import OFAC_WIDTHS, country_code, ofac_first_row

DECIDE = "compliance.decide_screening_match"
SCREEN = "compliance.screen_name"
IMPORT = "compliance.add_watchlistversion"


class MatchDecisionForm(ConsoleForm):
    decision = forms.ChoiceField(
        choices=[("confirm", "Confirm: the same person or organisation"), ("dismiss", "Dismiss: not them")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose confirm or dismiss."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": services.REASON_REQUIRED},
        help_text="What you compared: date of birth, nationality, documents, sources.",
    )


class ScreenForm(ConsoleForm):
    name = forms.CharField(max_length=200, error_messages={"required": services.NAME_REQUIRED})
    date_of_birth = forms.DateField(
        required=False,
        error_messages={"invalid": "Write the date of birth as YYYY-MM-DD, e.g. 1980-04-23."},
    )
    country = forms.CharField(
        max_length=60, required=False, help_text="Nationality or residence: a two-letter code or a name"
    )

    def clean_country(self):
        value = self.cleaned_data["country"].strip()
        if value and not country_code(value):
            raise forms.ValidationError(
                f"{value!r} is not a country we know: use a two-letter code such as MT or SE, or the English name."
            )
        return country_code(value) if value else ""


def screening_queue_view(request, match_id: int | None = None):
    queue = selectors.screening_queue()
    match = (
        get_object_or_404(ScreeningMatch.objects.select_related("player", "entry", "decided_by"), pk=match_id)
        if match_id
        else queue.first()
    )
    form = MatchDecisionForm(request.POST or None)
    if match is not None and request.method == "POST" and form.is_valid():
        try:
            services.screening_match_decide(
                match_id=match.pk,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            done = "confirmed" if form.cleaned_data["decision"] == "confirm" else "dismissed"
            messages.success(request, f"Match of {match.player} with {match.matched_name}: {done}.")
            return redirect("admin:compliance_screening_queue")
    context = {"match": match, "form": form, "waiting": queue.count()}
    return TemplateResponse(
        request,
        "compliance/screening/queue.html",
        admin_context(request, title="Screening matches", **context),
    )


def screening_check_view(request):
    form = ScreenForm(request.POST or None)
    hits = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        subject = Subject(d["name"], d["date_of_birth"], (d["country"],) if d["country"] else ())
        hits = [h.as_dict() for h in services.screen(subject)]
        # Who screened whom (a prospective customer's name) is itself on the record.
        audit.record(
            actor=request.user,
            action="compliance.screening.adhoc",
            after={
                "name": d["name"],
                "date_of_birth": d["date_of_birth"],
                "country": d["country"],
                "hits": len(hits),
            },
        )
    return TemplateResponse(
        request,
        "compliance/screening/check.html",
        admin_context(request, title="Screen a name", form=form, hits=hits),
    )


# --- watch-list upload -------------------------------------------------------------------

FORMAT_CHOICES = [
    ("ofac-csv", "OFAC SDN legacy CSV (sdn.csv, with alt.csv and add.csv)"),
    ("un-xml", "UN Security Council consolidated list (XML)"),
    ("eu-xml", "EU consolidated financial sanctions list (XML)"),
    ("pep-csv", "PEP list (CSV: id, name, aliases, dob, country, position)"),
]
OFAC_ONLY = "Only the OFAC format takes alt.csv and add.csv: leave this empty for {format}."
OFAC_WRONG_FILE = (
    "This file has {width} column{plural} per row, so it is not {slot}.csv ({expected} columns). "
    "OFAC's files have no header: sdn.csv has 12 columns, alt.csv 5, add.csv 6."
)
EMPTY_FILE = "The file is empty: choose the list file again."


class WatchlistUploadForm(ConsoleForm):
    format = forms.ChoiceField(
        choices=FORMAT_CHOICES, error_messages={"required": "Choose the list's format."}
    )
    file = forms.FileField(
        label="List file",
        help_text="OFAC: sdn.csv. UN or EU: the consolidated XML file. PEP: the CSV with a header row.",
        error_messages={"required": "Choose the list file.", "empty": EMPTY_FILE},
    )
    alt_file = forms.FileField(
        label="alt.csv (OFAC only)",
        required=False,
        help_text="OFAC's aliases. Without it only the aliases written in sdn.csv's remarks are known.",
        error_messages={"empty": EMPTY_FILE},
    )
    add_file = forms.FileField(
        label="add.csv (OFAC only)",
        required=False,
        help_text="OFAC's addresses (their countries help tell people with the same name apart).",
        error_messages={"empty": EMPTY_FILE},
    )

    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this version removes entries (shown to the second officer who approves it).",
    )

    SLOTS = {"file": "sdn", "alt_file": "alt", "add_file": "add"}

    def clean(self):
        d = super().clean()
        fmt = d.get("format")
        if not fmt:
            return d
        for name, slot in self.SLOTS.items():
            f = d.get(name)
            if f is None:
                continue
            if fmt != "ofac-csv":
                if name != "file":
                    self.add_error(name, OFAC_ONLY.format(format=dict(FORMAT_CHOICES)[fmt].split(" (")[0]))
                continue
            f.seek(0)
            width = len(ofac_first_row(f.read(4096)))
            f.seek(0)
            if width != OFAC_WIDTHS[slot]:
                self.add_error(
                    name,
                    OFAC_WRONG_FILE.format(
                        width=width, plural="" if width == 1 else "s", slot=slot, expected=OFAC_WIDTHS[slot]
                    ),
                )
        return d

    def files_to_import(self) -> list[tuple[str, object]]:
        """(file name on disk, upload): OFAC's files under the names the reader expects."""
        d = self.cleaned_data
        if d["format"] == "ofac-csv":
            return [(f"{slot}.csv", d[name]) for name, slot in self.SLOTS.items() if d.get(name)]
        # The upload's own name (shown on the version), reduced to safe characters.
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(d["file"].name).name).strip("._") or "list"
        return [(name, d["file"])]


def watchlist_upload_view(request):
    """The console's `import_watchlist`, run inline (the full OFAC list imports in about 5-7
    s), then the new version's page; a version that removes entries waits for a second
    officer's approval instead (its request's page)."""
    form = WatchlistUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with tempfile.TemporaryDirectory(prefix="watchlist-") as tmp:
            paths = []
            for name, upload in form.files_to_import():
                path = Path(tmp) / name
                with path.open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                paths.append(path)
            try:
                version = services.watchlist_upload(
                    fmt=form.cleaned_data["format"],
                    paths=paths,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else "file", exc.message)
            else:
                if isinstance(version, ApprovalRequest):
                    messages.warning(
                        request,
                        services.REMOVALS_NEED_APPROVAL.format(count=version.payload["removed"])
                        + f" Request #{version.pk}: {version.summary}.",
                    )
                    return redirect("admin:backoffice_approval_decide", version.pk)
                messages.success(
                    request,
                    f"{version.get_watchlist_display()}: version {version.pk} imported, {version.entries} "
                    f"entries ({version.added} added, {version.removed} removed). Every player is being "
                    "re-screened against it.",
                )
                return redirect("admin:compliance_watchlistversion_change", version.pk)
    return TemplateResponse(
        request,
        "compliance/screening/upload.html",
        admin_context(request, title="Import a watch list", form=form),
    )


def version_context(version: WatchlistVersion) -> dict:
    changes = version.changes or {}
    previous_id = changes.get("previous_version")
    # Queried even for a first version, so the page's query count never varies.
    previous = WatchlistVersion.objects.filter(pk=previous_id).first()
    rescreen = (
        AuditEvent.objects.filter(action=services.RESCREEN_ACTION, after__version_id=version.pk)
        .order_by("-created_at", "-id")
        .values("created_at", "after")
        .first()
    )
    added, removed = changes.get("added", []), changes.get("removed", [])
    return {
        "version": version,
        "previous": previous,
        "added": added,
        "removed": removed,
        "added_more": max(version.added - len(added), 0),
        "removed_more": max(version.removed - len(removed), 0),
        "rescreen": rescreen,
        "open_matches": ScreeningMatch.objects.filter(
            watchlist=version.watchlist, status=ScreeningMatch.Status.OPEN
        ).count(),
    }


# --- the player page's Screening tab -------------------------------------------------------


def screening_tab_context(request, player) -> dict:
    return {
        "matches": list(selectors.player_screening_matches(player.pk)[:50]),
        "status": selectors.player_screening_status(player),
        "may_screen": request.user.has_perm(DECIDE),
        "may_decide": request.user.has_perm(DECIDE),
    }


register_tab(
    PlayerTab(
        "screening",
        "Screening",
        "compliance/tabs/screening.html",
        "compliance.view_screeningmatch",
        screening_tab_context,
        43,
    )
)


def player_screen_again_view(request, player_id: int):
    """Re-screen one player now against every current list (audited with the versions)."""
    player = get_object_or_404(Player, pk=player_id)
    back = reverse("admin:players_player_change", args=[player.pk]) + "?tab=screening"
    if request.method == "POST":
        try:
            hits = services.player_screen(player_id=player.pk, actor=request.user, trigger="operator")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if hits:
                best = hits[0]
                messages.warning(
                    request,
                    f"Screened {player} again: {len(hits)} match{'es' if len(hits) != 1 else ''} at or above "
                    f"the review threshold (best: {best.matched_name}, {WatchList(best.watchlist).label} {best.external_id}, "
                    f"score {best.score}).",
                )
            else:
                messages.success(
                    request, f"Screened {player} again: no match at or above the review threshold."
                )
        return redirect(back)
    return TemplateResponse(
        request,
        "compliance/screening/screen_again.html",
        admin_context(request, title=f"Screen {player} again", player=player, back=back),
    )


console.register_view(
    "compliance/screening/import/", watchlist_upload_view, "compliance_watchlist_upload", IMPORT
)
console.register_view(
    "compliance/screening/players/<int:player_id>/screen/",
    player_screen_again_view,
    "compliance_player_screen_again",
    DECIDE,
    player_id="player",
)
console.register_nav(
    console.NavItem(
        "Compliance", "Import a watch list", "admin:compliance_watchlist_upload", IMPORT, "upload", 22
    )
)
console.register_nav(
    console.NavItem(
        "Compliance",
        "Watch-list versions",
        "admin:compliance_watchlistversion_changelist",
        "compliance.view_watchlistversion",
        "list_alt",
        23,
    )
)
console.register_view(
    "compliance/screening/queue/", screening_queue_view, "compliance_screening_queue", DECIDE
)
console.register_view(
    "compliance/screening/<int:match_id>/review/",
    screening_queue_view,
    "compliance_screening_review",
    DECIDE,
    match_id="screening_match",
)
console.register_view(
    "compliance/screening/check/", screening_check_view, "compliance_screening_check", SCREEN
)
console.register_nav(
    console.NavItem(
        "Compliance", "Screening matches", "admin:compliance_screening_queue", DECIDE, "policy", 20
    )
)
console.register_nav(
    console.NavItem(
        "Compliance", "Screen a name", "admin:compliance_screening_check", SCREEN, "person_search", 21
    )
)


@admin.register(WatchlistVersion)
class WatchlistVersionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "watchlist",
        "imported_at",
        "current",
        "entries",
        "names",
        "added",
        "removed",
        "file_names",
    ]
    list_filter = ["watchlist", "current"]
    list_select_related = ["imported_by"]
    list_display_links = ["id", "watchlist"]
    show_full_result_count = False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A version's page: its counts, what it added and removed since the previous
        version, and the re-screen of every player it queued."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not str(object_id).isdigit():
            raise Http404("No such version.")
        version = get_object_or_404(WatchlistVersion.objects.select_related("imported_by"), pk=object_id)
        return TemplateResponse(
            request,
            "compliance/screening/version.html",
            admin_context(
                request,
                title=f"{version.get_watchlist_display()}: version {version.pk}",
                may_import=request.user.has_perm(IMPORT),
                **version_context(version),
            ),
        )


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["external_id", "watchlist", "kind", "name", "programs", "version"]
    list_filter = ["watchlist", "kind"]
    list_select_related = ["version"]
    # Exact ids only: a name search goes through the screening form (the token index).
    search_fields = ["=external_id"]
    show_full_result_count = False


@admin.register(ScreeningMatch)
class ScreeningMatchAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "player", "watchlist", "external_id", "matched_name", "score", "band", "status"]
    list_filter = ["status", "band", "watchlist"]
    list_select_related = ["player", "entry", "decided_by"]
    search_fields = ["=player__public_id", "=external_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
