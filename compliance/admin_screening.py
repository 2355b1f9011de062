"""Screening console: the review queue (strongest, then oldest, first; decision on the
same page), the ad-hoc screen, and read-only lists of versions, entries and matches."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from unfold.admin import ModelAdmin

from backoffice import audit, console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.views import ReadOnlyAdminMixin, admin_context

from .models import ScreeningMatch, WatchlistEntry, WatchlistVersion
from .screening import selectors, services
from .screening.matching import Subject
from .screening.parsers import country_code

DECIDE = "compliance.decide_screening_match"
SCREEN = "compliance.screen_name"


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
    exclude = ["changes"]
    readonly_fields = ["changes_summary"]
    show_full_result_count = False

    def changes_summary(self, obj):
        from django.utils.html import format_html_join

        rows = [("+", i, n) for i, n in obj.changes.get("added", [])] + [
            ("−", i, n) for i, n in obj.changes.get("removed", [])
        ]
        return format_html_join("\n", "<div>{} {} {}</div>", rows) or "—"

    changes_summary.short_description = "Changes (first 200 each way)"


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
