"""AML console: the alerts queue (most severe, then oldest, first), an alert's page with its
evidence and the close form, rule settings (compliance edits them, audited) and scan runs."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.views import ReadOnlyAdminMixin, admin_context

from .aml import services
from .aml.rules import RULES
from .models import AmlAlert, AmlRuleConfig, AmlScanRun

WORK = "compliance.work_aml_alert"


class CloseForm(ConsoleForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": services.REASON_REQUIRED},
        help_text="What you checked and why no further action is needed (or where it went).",
    )


def aml_alert_view(request, alert_id: int):
    alert = get_object_or_404(AmlAlert.objects.select_related("player", "closed_by", "scan_run"), pk=alert_id)
    form = CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.aml_alert_close(
                alert_id=alert.pk, reason=form.cleaned_data["reason"], actor=request.user
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Alert #{alert.pk} closed.")
            return redirect("admin:compliance_amlalert_changelist")
    rule = RULES.get(alert.rule)
    return TemplateResponse(
        request,
        "compliance/aml/alert.html",
        admin_context(
            request,
            title=f"{rule.title if rule else alert.rule}: {alert.player}",
            alert=alert,
            form=form,
        ),
    )


console.register_view(
    "compliance/aml-alerts/<int:alert_id>/",
    aml_alert_view,
    "compliance_aml_alert",
    WORK,
    alert_id="aml_alert",
)
console.register_nav(
    console.NavItem(
        "Compliance",
        "AML alerts",
        "admin:compliance_amlalert_changelist",
        "compliance.view_amlalert",
        "radar",
        16,
    )
)
console.register_nav(
    console.NavItem(
        "Compliance",
        "AML rules",
        "admin:compliance_amlruleconfig_changelist",
        "compliance.view_amlruleconfig",
        "rule",
        17,
    )
)
console.register_nav(
    console.NavItem(
        "Compliance",
        "AML scans",
        "admin:compliance_amlscanrun_changelist",
        "compliance.view_amlscanrun",
        "sync",
        18,
    )
)


@admin.register(AmlAlert)
class AmlAlertAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "severity", "rule_title", "player", "window_key", "created_at", "status", "work"]
    list_filter = ["status", "severity", "rule"]
    list_select_related = ["player"]
    search_fields = ["=player__public_id", "=id"]
    ordering = ["-severity", "created_at", "id"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.has_perm(WORK) else [f for f in shown if f != "work"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.GET.get("status__exact") else qs.filter(status=AmlAlert.Status.OPEN)

    @display(description="Rule")
    def rule_title(self, obj):
        rule = RULES.get(obj.rule)
        return rule.title if rule else obj.rule

    @display(description="")
    def work(self, obj):
        return format_html(
            '<a class="text-primary-600 font-semibold" href="{}">Open</a>',
            reverse("admin:compliance_aml_alert", args=[obj.pk]),
        )


class RuleConfigForm(forms.ModelForm):
    class Meta:
        model = AmlRuleConfig
        fields = ["enabled", "severity", "params"]

    def clean_params(self):
        try:
            return services.params_validate(self.instance.code, self.cleaned_data["params"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(AmlRuleConfig)
class AmlRuleConfigAdmin(ModelAdmin):
    form = RuleConfigForm
    list_display = ["code", "title", "enabled", "severity", "params", "updated_at", "updated_by"]
    list_select_related = ["updated_by"]
    readonly_fields = ["code", "title", "updated_at", "updated_by"]
    fields = ["code", "title", "enabled", "severity", "params", "updated_at", "updated_by"]

    def has_add_permission(self, request):
        return False  # a rule is code: its settings row comes with it (migration 0015)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        services.aml_rule_config_update(
            config_id=obj.pk,
            enabled=d["enabled"],
            severity=d["severity"],
            params=d["params"],
            actor=request.user,
        )


@admin.register(AmlScanRun)
class AmlScanRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "state",
        "full",
        "started_at",
        "finished_at",
        "players_in_scope",
        "created",
        "error",
    ]
    list_filter = ["state", "full"]
    list_select_related = ["requested_by"]
    show_full_result_count = False

    @display(description="Alerts created")
    def created(self, obj):
        return obj.alerts_created
