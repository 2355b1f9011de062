"""KYC console: the queue (oldest first, document beside the player's data, decision on
the same page) and the audited document view."""

from django import forms
from django.contrib import admin, messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import audit, console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.views import ReadOnlyAdminMixin, admin_context

from . import kyc
from .models import KycDocument, KycProfile

DONE = {"approve": "approved", "reject": "rejected", "request_replacement": "another document requested"}


class DecisionForm(ConsoleForm):
    decision = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("reject", "Reject"),
            ("request_replacement", "Request another document"),
        ],
        widget=forms.RadioSelect,
    )
    reason_code = forms.ChoiceField(choices=[("", "—"), *KycDocument.Reason.choices], required=False)
    expires_on = forms.DateField(
        required=False, help_text="Identity documents: the expiry printed on it (YYYY-MM-DD)"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


def kyc_queue_view(request, document_id: int | None = None):
    pending = KycDocument.objects.filter(status=KycDocument.Status.PENDING).select_related("player")
    doc = (
        get_object_or_404(KycDocument.objects.select_related("player", "decided_by"), pk=document_id)
        if document_id
        else pending.order_by("uploaded_at", "id").first()
    )
    form = DecisionForm(request.POST or None)
    if doc is not None and request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            kyc.document_decide(
                document_id=doc.pk,
                decision=d["decision"],
                reason_code=d["reason_code"],
                note=d["note"],
                expires_on=d["expires_on"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                f"{doc.get_document_type_display()} of {doc.player}: {DONE[d['decision']]}.",
            )
            return redirect("admin:compliance_kyc_queue")
    context = {
        "doc": doc,
        "form": form,
        "waiting": pending.count(),
        "may_open_file": request.user.has_perm("compliance.view_kyc_document_file"),
    }
    if doc is not None:
        context["profile"] = kyc.profile(doc.player)
        context["meter"] = kyc.cdd_meter(doc.player)
        context["others"] = (
            KycDocument.objects.filter(player=doc.player).exclude(pk=doc.pk).order_by("-uploaded_at")
        )
    return TemplateResponse(
        request, "compliance/kyc_queue.html", admin_context(request, title="KYC queue", **context)
    )


@xframe_options_sameorigin  # previewed inline in the queue, never framed by another site
def kyc_document_file_view(request, document_id: int):
    doc = get_object_or_404(KycDocument.objects.select_related("player"), pk=document_id)
    path = kyc.document_path(doc)
    if not path.exists():
        raise Http404("The stored file is missing.")
    audit.record(
        actor=request.user,
        action="compliance.kyc_document.view",
        target=doc.player,
        after={"document_id": doc.pk},
    )
    response = FileResponse(path.open("rb"), content_type=doc.content_type)
    response["Content-Disposition"] = f'inline; filename="document-{doc.pk}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


console.register_view(
    "compliance/kyc/queue/", kyc_queue_view, "compliance_kyc_queue", "compliance.decide_kyc_document"
)
console.register_view(
    "compliance/kyc/<int:document_id>/review/",
    kyc_queue_view,
    "compliance_kyc_review",
    "compliance.decide_kyc_document",
    document_id="kyc_document",
)
console.register_view(
    "compliance/kyc/<int:document_id>/file/",
    kyc_document_file_view,
    "compliance_kyc_file",
    "compliance.view_kyc_document_file",
    document_id="kyc_document",
)
console.register_nav(
    console.NavItem(
        "Compliance", "KYC queue", "admin:compliance_kyc_queue", "compliance.decide_kyc_document", "badge", 10
    )
)


@admin.register(KycDocument)
class KycDocumentAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "player", "document_type", "status", "uploaded_at", "decided_by", "expires_on"]
    list_filter = ["status", "document_type"]
    list_select_related = ["player", "decided_by"]
    search_fields = ["=player__public_id", "=id"]
    date_hierarchy = "uploaded_at"
    show_full_result_count = False


@admin.register(KycProfile)
class KycProfileAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["player", "level", "required_level", "required_due", "requirement"]
    list_filter = ["level", "required_level"]
    list_select_related = ["player"]
    search_fields = ["=player__public_id"]
    show_full_result_count = False

    @display(description="Open requirement", boolean=True)
    def requirement(self, obj):
        return obj.requirement_open
