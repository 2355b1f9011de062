"""AML cases console: the cases list (most severe, then the nearest SLA, first), a case's page
(alerts with their evidence, players, transactions, notes, attachments, assignment, SLA,
decision, the goAML STR: generate, download when valid, mark filed for the MLRO) and the
audited downloads."""

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import audit, console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.models import User
from backoffice.views import ReadOnlyAdminMixin, admin_context

from .aml import cases, goaml
from .aml.rules import RULES
from .models import AmlCase, StrReport

VIEW = "compliance.view_amlcase"
VIEW_STR = "compliance.view_strreport"


def _case_workers():
    return (
        User.objects.filter(is_active=True, groups__permissions__codename="change_amlcase")
        .distinct()
        .order_by("full_name", "email")
    )


class AssignForm(ConsoleForm):
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), label="Assign to")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _case_workers()


CONTROL_CHARACTERS = (
    "The text contains a control character (often pasted from another program): remove it and try again."
)


def _printable(value: str) -> str:
    # The reason becomes the STR's narrative: XML 1.0 cannot carry control characters.
    if goaml.has_non_xml(value):
        raise forms.ValidationError(CONTROL_CHARACTERS)
    return value


class NoteForm(ConsoleForm):
    body = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": cases.NOTE_REQUIRED},
    )

    def clean_body(self):
        return _printable(self.cleaned_data["body"])


class AttachmentForm(ConsoleForm):
    file = forms.FileField(help_text="PDF, JPEG, PNG, CSV or plain text.")

    def clean_file(self):
        # Before anything reads the upload into memory: its size is known from the request.
        f = self.cleaned_data["file"]
        limit = cases.max_attachment_bytes()
        if f.size > limit:
            raise forms.ValidationError(cases.FILE_TOO_LARGE.format(mb=max(limit // (1024 * 1024), 1)))
        return f


class LinkTransactionForm(ConsoleForm):
    transaction_id = forms.IntegerField(min_value=1, label="Ledger transaction id")


class DecideForm(ConsoleForm):
    decision = forms.ChoiceField(
        choices=AmlCase.Decision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": cases.DECISION_UNKNOWN},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": cases.DECISION_REASON_REQUIRED},
        help_text="What you found and why this decision (it becomes the STR's reason when one is filed).",
    )

    def clean_reason(self):
        return _printable(self.cleaned_data["reason"])


class FileForm(ConsoleForm):
    fiu_reference = forms.CharField(
        max_length=100,
        label="FIU reference",
        error_messages={"required": cases.FIU_REFERENCE_REQUIRED},
    )


# op -> (form, permission the op needs)
_OPS = {
    "assign": (AssignForm, cases.WORK_PERM),
    "note": (NoteForm, cases.WORK_PERM),
    "attach": (AttachmentForm, cases.WORK_PERM),
    "link": (LinkTransactionForm, cases.WORK_PERM),
    "decide": (DecideForm, cases.DECIDE_PERM),
    "generate": (None, cases.WORK_PERM),
    "file": (FileForm, cases.FILE_PERM),
}


def _run(op: str, case: AmlCase, data: dict, request) -> str:
    """Call the op's service; the success message."""
    user = request.user
    if op == "assign":
        cases.case_assign(case_id=case.pk, assignee_id=data["assignee"].pk, actor=user)
        return f"Assigned to {data['assignee']}."
    if op == "note":
        cases.case_note_add(case_id=case.pk, body=data["body"], actor=user)
        return "Note added."
    if op == "attach":
        f = data["file"]
        cases.case_attachment_add(case_id=case.pk, file_name=f.name, content=f.read(), actor=user)
        return f"{f.name} attached."
    if op == "link":
        cases.case_link_transaction(case_id=case.pk, transaction_id=data["transaction_id"], actor=user)
        return f"Transaction #{data['transaction_id']} linked."
    if op == "decide":
        cases.case_decide(case_id=case.pk, decision=data["decision"], reason=data["reason"], actor=user)
        return f"Case {case.reference} decided: {AmlCase.Decision(data['decision']).label}."
    if op == "generate":
        report = cases.str_generate(case_id=case.pk, actor=user)
        if report.valid:
            return f"STR #{report.pk} generated and valid against the goAML schema."
        return f"STR #{report.pk} generated but invalid: {len(report.schema_errors)} error(s) listed below."
    if op == "file":
        latest = case.str_reports.order_by("-generated_at", "-id").first()
        if latest is None:
            raise DomainError("str_not_valid", cases.STR_NOT_VALID)
        cases.str_mark_filed(str_id=latest.pk, fiu_reference=data["fiu_reference"], actor=user)
        return f"STR #{latest.pk} marked filed ({data['fiu_reference'].strip()})."
    raise Http404


def aml_case_view(request, case_id: int):
    case = get_object_or_404(
        AmlCase.objects.select_related("assignee", "created_by", "decided_by"), pk=case_id
    )
    forms_ = {op: (cls(prefix=op) if cls else None) for op, (cls, _perm) in _OPS.items()}
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op not in _OPS:
            raise Http404
        cls, perm = _OPS[op]
        if not request.user.has_perm(perm):
            raise PermissionDenied
        form = cls(request.POST, request.FILES, prefix=op) if cls else None
        if form is None or form.is_valid():
            try:
                done = _run(op, case, form.cleaned_data if form else {}, request)
            except DomainError as exc:
                if form is not None:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                else:
                    messages.error(request, exc.message)
            else:
                messages.success(request, done)
                return redirect("admin:compliance_aml_case", case_id=case.pk)
        forms_[op] = form
    return TemplateResponse(
        request, "compliance/aml/case.html", admin_context(request, **_context(request, case, forms_))
    )


def _context(request, case: AmlCase, forms_: dict) -> dict:
    from wallet.models import Posting

    links = list(case.alert_links.select_related("alert__player").order_by("alert__created_at", "alert_id"))
    alerts = [
        {
            "alert": link.alert,
            "title": RULES[link.alert.rule].title if link.alert.rule in RULES else link.alert.rule,
        }
        for link in links
    ]
    players = list(case.players.order_by("pk"))
    txns = list(case.transactions.order_by("created_at", "id"))
    postings = Posting.objects.filter(transaction__in=txns, account__player__in=players).select_related(
        "account"
    )
    by_txn: dict[int, list] = {}
    for p in postings:
        by_txn.setdefault(p.transaction_id, []).append(p)
    reports = list(
        case.str_reports.select_related("generated_by", "filed_by").order_by("-generated_at", "-id")
    )
    user = request.user
    return {
        "title": f"{case.reference}: {case.title}",
        "case": case,
        "alerts": alerts,
        "players": players,
        "transactions": [{"txn": t, "postings": by_txn.get(t.pk, [])} for t in txns],
        "notes": list(case.notes.select_related("author")),
        "attachments": list(case.attachments.select_related("uploaded_by")),
        "reports": reports,
        "latest": reports[0] if reports else None,
        "forms": forms_,
        "overdue": case.overdue,
        "now": timezone.now(),
        "may_work": user.has_perm(cases.WORK_PERM),
        "may_decide": user.has_perm(cases.DECIDE_PERM),
        "may_file": user.has_perm(cases.FILE_PERM),
        "may_download": user.has_perm(VIEW_STR),
    }


def aml_case_attachment_view(request, attachment_id: int):
    from .models import AmlCaseAttachment

    att = get_object_or_404(AmlCaseAttachment.objects.select_related("case"), pk=attachment_id)
    path = cases.attachment_path(att)
    if not path.exists():
        raise Http404("The stored file is missing.")
    audit.record(
        actor=request.user,
        action="compliance.aml_case.attachment_download",
        target=att.case,
        after={"attachment_id": att.pk, "sha256": att.sha256},
    )
    response = FileResponse(path.open("rb"), content_type=att.content_type)
    response["Content-Disposition"] = f'attachment; filename="case-{att.case_id}-attachment-{att.pk}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@reauthentication_required(allow_get=True)
def aml_str_download_view(request, str_id: int):
    """The XML, only when it passed the schema. It carries national ids: GET asks for
    confirmation, the POST (after a fresh sign-in) downloads and is audited."""
    report = get_object_or_404(StrReport.objects.select_related("case"), pk=str_id)
    if not report.valid:
        raise Http404("This report failed the schema and cannot be downloaded.")
    if request.method != "POST":
        return TemplateResponse(
            request,
            "compliance/aml/str_download.html",
            admin_context(
                request,
                title=f"Download STR #{report.pk} of {report.case.reference}",
                report=report,
                back_url=reverse("admin:compliance_aml_case", args=[report.case_id]),
            ),
        )
    audit.record(
        actor=request.user,
        action="compliance.str_report.download",
        target=report.case,
        after={"str_id": report.pk, "status": report.status},
    )
    response = HttpResponse(goaml.unseal(report.xml).encode(), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report.case.reference}-STR-{report.pk}.xml"'
    response["Cache-Control"] = "private, no-store"
    return response


def open_case_from_alerts(request, queryset):
    """The alerts list's action: one case from the selected alerts, then its page."""
    try:
        case = cases.case_open(alert_ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, f"Case {case.reference} opened.")
    return redirect("admin:compliance_aml_case", case_id=case.pk)


console.register_view(
    "compliance/aml-cases/<int:case_id>/", aml_case_view, "compliance_aml_case", VIEW, case_id="aml_case"
)
console.register_view(
    "compliance/aml-cases/attachments/<int:attachment_id>/",
    aml_case_attachment_view,
    "compliance_aml_case_attachment",
    VIEW,
    attachment_id="aml_case_attachment",
)
console.register_view(
    "compliance/aml-cases/str/<int:str_id>/xml/",
    aml_str_download_view,
    "compliance_str_download",
    VIEW_STR,
    str_id="str_report",
)
console.register_nav(
    console.NavItem("Compliance", "AML cases", "admin:compliance_amlcase_changelist", VIEW, "folder_open", 16)
)


class OverdueFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Within SLA")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(status=AmlCase.Status.OPEN, sla_due_at__lt=now)
        if self.value() == "no":
            return queryset.exclude(status=AmlCase.Status.OPEN, sla_due_at__lt=now)
        return queryset


@admin.register(AmlCase)
class AmlCaseAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["case_link", "title", "severity", "status", "assignee", "player_ids", "sla", "decision"]
    list_display_links = None
    list_filter = ["status", OverdueFilter, ("assignee", admin.RelatedOnlyFieldListFilter), "severity"]
    list_select_related = ["assignee"]
    search_fields = ["=reference", "=players__public_id"]
    search_help_text = "A case reference (AML-2026-000123) or a player's public id"
    ordering = ["-severity", "sla_due_at", "id"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("players")

    @display(description="Case")
    def case_link(self, obj):
        return format_html(
            '<a class="text-primary-600 font-semibold" href="{}">{}</a>',
            reverse("admin:compliance_aml_case", args=[obj.pk]),
            obj.reference,
        )

    @display(description="Players")
    def player_ids(self, obj):
        return ", ".join(p.public_id for p in obj.players.all())

    @display(description="SLA due")
    def sla(self, obj):
        when = timezone.localtime(obj.sla_due_at).strftime("%Y-%m-%d %H:%M")
        if obj.overdue:
            return format_html('<span class="text-red-600 font-semibold">{} (overdue)</span>', when)
        return when
