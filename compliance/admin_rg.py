"""Responsible gambling and register screens, and the compliance tabs of the player page."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.security import sensitive
from backoffice.views import ReadOnlyAdminMixin, admin_context
from players.tabs import PlayerTab, register_tab

from . import gates, kyc, registers, rg
from .models import Exclusion, KycDocument, NationalRegisterImport, PlayerLimit, RiskScore


@admin.register(PlayerLimit)
class PlayerLimitAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["player", "kind", "period", "amount", "status", "effective_at", "requested_at", "source"]
    list_filter = ["status", "kind", "period"]
    list_select_related = ["player"]
    search_fields = ["=player__public_id"]
    date_hierarchy = "requested_at"
    show_full_result_count = False


@admin.register(Exclusion)
class ExclusionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "player",
        "kind",
        "starts_at",
        "ends_at",
        "in_force_now",
        "lift_requested_at",
        "lifted_at",
        "source",
    ]
    list_filter = ["kind"]
    list_select_related = ["player"]
    search_fields = ["=player__public_id"]
    date_hierarchy = "starts_at"
    show_full_result_count = False

    @display(description="In force", boolean=True)
    def in_force_now(self, obj):
        return obj.in_force()


class LiftForm(ConsoleForm):
    request_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="The player's written request (paste it, with its date and channel)",
    )


@sensitive
def exclusion_lift_view(request, exclusion_id: int):
    ex = get_object_or_404(Exclusion.objects.select_related("player"), pk=exclusion_id)
    form = LiftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            req = rg.exclusion_lift_request(
                exclusion_id=ex.pk, request_text=form.cleaned_data["request_text"], actor=request.user
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Request #{req.pk} waits for a second compliance officer's approval.")
            return redirect("admin:compliance_exclusion_changelist")
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Lift the {ex.get_kind_display().lower()} of {ex.player}",
            form=form,
            submit_label="Ask for approval",
            intro="A lift needs the player's written request and a second operator's approval; once approved it takes "
            "effect only after the market's waiting period.",
        ),
    )


class RegisterImportForm(ConsoleForm):
    register = forms.ChoiceField(choices=list(registers.REGISTERS.items()))
    file = forms.FileField(help_text="One national id per line (a CSV's first column).")


@admin.register(NationalRegisterImport)
class NationalRegisterImportAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["register", "imported_at", "entries", "file_name", "imported_by", "current"]
    list_filter = ["register", "current"]
    list_select_related = ["imported_by"]


@sensitive
def register_import_view(request):
    form = RegisterImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        try:
            imp = registers.register_import(
                register=form.cleaned_data["register"], file_name=f.name, content=f.read(), actor=request.user
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{imp.entries} entries imported into {imp.register}.")
            return redirect("admin:compliance_nationalregisterimport_changelist")
    return TemplateResponse(
        request,
        "compliance/upload_page.html",
        admin_context(
            request, title="Import a national exclusion register", form=form, submit_label="Import"
        ),
    )


console.register_view(
    "compliance/exclusions/<int:exclusion_id>/lift/",
    exclusion_lift_view,
    "compliance_exclusion_lift",
    "compliance.lift_exclusion",
    exclusion_id="exclusion",
)
console.register_view(
    "compliance/registers/import/",
    register_import_view,
    "compliance_register_import",
    "compliance.add_nationalregisterimport",
)
N = console.NavItem
for item in [
    N(
        "Compliance",
        "Exclusions",
        "admin:compliance_exclusion_changelist",
        "compliance.view_exclusion",
        "block",
        20,
    ),
    N(
        "Compliance",
        "Limit history",
        "admin:compliance_playerlimit_changelist",
        "compliance.view_playerlimit",
        "speed",
        30,
    ),
    N(
        "Compliance",
        "Import a register file",
        "admin:compliance_register_import",
        "compliance.add_nationalregisterimport",
        "upload",
        85,
    ),
    N(
        "Compliance",
        "Register imports",
        "admin:compliance_nationalregisterimport_changelist",
        "compliance.view_nationalregisterimport",
        "upload_file",
        80,
    ),
]:
    console.register_nav(item)


# --- Player page tabs -------------------------------------------------------------------


def kyc_tab_context(request, player) -> dict:
    return {
        "profile": kyc.profile(player),
        "meter": kyc.cdd_meter(player),
        "documents": list(
            KycDocument.objects.filter(player=player)
            .select_related("decided_by")
            .order_by("-uploaded_at")[:50]
        ),
        "may_open_file": request.user.has_perm("compliance.view_kyc_document_file"),
        "withdraw": gates.can_withdraw(player),
    }


def rg_tab_context(request, player) -> dict:
    return {
        "in_force": rg.limits_in_force(player),
        "pending": rg.limits_pending(player),
        "history": list(PlayerLimit.objects.filter(player=player).order_by("-requested_at")[:50]),
        "exclusions": list(Exclusion.objects.filter(player=player).order_by("-starts_at")[:20]),
        "play": gates.can_login_to_play(player),
        "deposit": gates.can_deposit(player, 0),
        "may_lift": request.user.has_perm("compliance.lift_exclusion"),
        "currency": player.currency,
        "player_id": player.pk,
        "may_see_timeline": request.user.has_perm("compliance.view_rgalert"),
        "may_set": request.user.has_perm("compliance.add_playerlimit"),
    }


register_tab(
    PlayerTab("kyc", "KYC", "compliance/tabs/kyc.html", "compliance.view_kycprofile", kyc_tab_context, 40)
)
register_tab(
    PlayerTab(
        "rg",
        "Limits and exclusions",
        "compliance/tabs/rg.html",
        "compliance.view_playerlimit",
        rg_tab_context,
        45,
    )
)


def risk_tab_context(request, player) -> dict:
    history = list(RiskScore.objects.filter(player=player).order_by("-computed_at", "-id")[:50])
    score = history[0] if history else None
    factors = [(k, v) for k, v in (score.factors if score else {}).items() if isinstance(v, dict)]
    return {"score": score, "factors": factors, "history": history}


register_tab(
    PlayerTab("risk", "Risk", "compliance/tabs/risk.html", "compliance.view_riskscore", risk_tab_context, 42)
)
