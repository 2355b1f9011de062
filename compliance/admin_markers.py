"""The RG alert queue: oldest open first, evidence beside the interaction form."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.views import ReadOnlyAdminMixin, admin_context

from . import markers
from .models import RgAlert, RgInteraction


class InteractionForm(ConsoleForm):
    channel = forms.ChoiceField(choices=RgInteraction.Channel.choices)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="What was said")
    outcome = forms.ChoiceField(choices=RgInteraction.Outcome.choices)
    follow_up_on = forms.DateField(required=False, help_text="YYYY-MM-DD, when to check again")
    close_alert = forms.BooleanField(required=False, label="Close the alert")


def rg_alert_view(request, alert_id: int):
    alert = get_object_or_404(RgAlert.objects.select_related("player"), pk=alert_id)
    form = InteractionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            markers.interaction_record(
                player_id=alert.player_id,
                alert_id=alert.pk,
                channel=d["channel"],
                summary=d["summary"],
                outcome=d["outcome"],
                follow_up_on=d["follow_up_on"],
                actor=request.user,
                close_alert=d["close_alert"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Interaction recorded.")
            return redirect("admin:compliance_rgalert_changelist")
    return TemplateResponse(
        request,
        "compliance/rg_alert.html",
        admin_context(
            request,
            title=f"{alert.get_marker_display()}: {alert.player}",
            alert=alert,
            form=form,
            interactions=alert.interactions.select_related("operator"),
        ),
    )


console.register_view(
    "compliance/rg-alerts/<int:alert_id>/",
    rg_alert_view,
    "compliance_rg_alert",
    "compliance.work_rg_alert",
    alert_id="rg_alert",
)
console.register_nav(
    console.NavItem(
        "Compliance",
        "RG alerts",
        "admin:compliance_rgalert_changelist",
        "compliance.view_rgalert",
        "health_and_safety",
        15,
    )
)


@admin.register(RgAlert)
class RgAlertAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "player", "marker", "window_start", "created_at", "status", "work"]
    list_filter = ["status", "marker"]
    list_select_related = ["player"]
    search_fields = ["=player__public_id"]
    ordering = ["created_at", "id"]
    show_full_result_count = False

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return (
            shown if request.user.has_perm("compliance.work_rg_alert") else [f for f in shown if f != "work"]
        )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.GET.get("status__exact") else qs.exclude(status=RgAlert.Status.CLOSED)

    @display(description="")
    def work(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        return format_html(
            '<a class="text-primary-600 font-semibold" href="{}">Work</a>',
            reverse("admin:compliance_rg_alert", args=[obj.pk]),
        )


@admin.register(RgInteraction)
class RgInteractionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["player", "channel", "outcome", "operator", "created_at", "follow_up_on"]
    list_filter = ["outcome", "channel"]
    list_select_related = ["player", "operator"]
    search_fields = ["=player__public_id"]


def evidence_timeline_view(request, player_id: int):
    from django.http import HttpResponse
    from django.template.loader import render_to_string
    from django.utils import timezone

    from backoffice import audit
    from players.models import Player

    from .timeline import evidence_timeline

    player = get_object_or_404(Player, pk=player_id)
    entries = evidence_timeline(player)
    if request.GET.get("format") == "pdf":
        from weasyprint import HTML

        html = render_to_string(
            "compliance/timeline_pdf.html",
            {
                "player": player,
                "entries": entries,
                "generated_at": timezone.now(),
                "generated_by": request.user.email,
            },
        )
        pdf = HTML(string=html).write_pdf()
        audit.record(
            actor=request.user,
            action="compliance.evidence_timeline.export",
            target=player,
            after={"entries": len(entries)},
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="rg-evidence-{player.public_id}.pdf"'
        return response
    return TemplateResponse(
        request,
        "compliance/timeline.html",
        admin_context(request, title=f"Evidence timeline: {player}", player=player, entries=entries),
    )


console.register_view(
    "compliance/players/<int:player_id>/evidence/",
    evidence_timeline_view,
    "compliance_evidence_timeline",
    "compliance.view_rgalert",
    player_id="player",
)
