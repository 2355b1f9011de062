"""AML console: the alerts queue (most severe, then oldest, first), an alert's page with its
evidence and the close form, rule settings (compliance edits them, audited) and scan runs
(Scan now / Full rescan, each run's page with a live progress bar)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.views import ReadOnlyAdminMixin, admin_context

from .aml import services
from .aml.rules import RULES
from .models import AmlAlert, AmlRuleConfig, AmlScanRun

WORK = "compliance.work_aml_alert"
SCANS = "compliance.view_amlscanrun"
START = "compliance.run_aml_scan"


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
    actions = ["open_case"]

    def has_open_case_permission(self, request):
        return request.user.has_perm("compliance.add_amlcase")

    @action(description="Open a case with the selected alerts", permissions=["open_case"], icon="folder_open")
    def open_case(self, request, queryset):
        from .admin_cases import open_case_from_alerts  # AML cases (compliance/admin_cases.py)

        return open_case_from_alerts(request, queryset)

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


# --- scans ---------------------------------------------------------------------------------


def _enabled_rules() -> list[str]:
    return list(
        AmlRuleConfig.objects.filter(enabled=True, code__in=list(RULES)).values_list("code", flat=True)
    )


def scan_progress(run: AmlScanRun, enabled: list[str]) -> dict:
    """Rules done out of rules planned. A rule's count is written in its own transaction as it
    finishes, so the counts are the rules done; the plan is those plus the rules enabled now
    that have not run (a done run ran its whole plan)."""
    done = list(run.counts)
    planned = (
        done if run.state == AmlScanRun.State.DONE else done + [c for c in enabled if c not in run.counts]
    )
    total = len(planned)
    pct = 100 if run.state == AmlScanRun.State.DONE else (100 * len(done) // total if total else 0)
    # In run order (the scan takes the rules by code); jsonb does not keep the keys' order.
    return {"done": len(done), "total": total, "pct": pct, "planned": sorted(planned)}


def _rule_rows(run: AmlScanRun, planned: list[str]) -> list[dict]:
    return [
        {
            "code": code,
            "title": RULES[code].title if code in RULES else code,
            "count": run.counts.get(code),
        }
        for code in planned
    ]


def _duration(run: AmlScanRun) -> str:
    if run.started_at is None:
        return ""
    seconds = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _scan_context(run: AmlScanRun) -> dict:
    progress = scan_progress(run, _enabled_rules())
    active = run.state in (AmlScanRun.State.QUEUED, AmlScanRun.State.RUNNING)
    return {
        "run": run,
        "progress": progress,
        "rules": _rule_rows(run, progress["planned"]),
        "duration": _duration(run),
        "active": active,
        "poll_url": reverse("admin:compliance_aml_scan_progress", args=[run.pk]) if active else "",
    }


def aml_scan_view(request, run_id: int):
    run = get_object_or_404(AmlScanRun.objects.select_related("requested_by"), pk=run_id)
    kind = "full rescan" if run.full else "incremental scan"
    return TemplateResponse(
        request,
        "compliance/aml/scan.html",
        admin_context(request, title=f"AML scan #{run.pk} ({kind})", **_scan_context(run)),
    )


def aml_scan_progress_view(request, run_id: int):
    """The run's live fragment; htmx polls it while the run is queued or running, and the
    fragment drops its polling attributes once the run is done or failed."""
    run = get_object_or_404(AmlScanRun.objects.select_related("requested_by"), pk=run_id)
    return TemplateResponse(request, "compliance/aml/scan_progress.html", _scan_context(run))


def aml_scan_start_view(request):
    """POST starts a scan (full=1: a full rescan) and opens its page; GET explains the two."""
    if request.method == "POST":
        full = request.POST.get("full") == "1"
        try:
            run = services.aml_scan_request(full=full, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("admin:compliance_amlscanrun_changelist")
        kind = "Full rescan" if full else "Scan"
        messages.success(request, f"{kind} #{run.pk} queued; this page follows its progress.")
        return redirect("admin:compliance_aml_scan", run_id=run.pk)
    busy = AmlScanRun.objects.filter(state__in=[AmlScanRun.State.QUEUED, AmlScanRun.State.RUNNING]).first()
    return TemplateResponse(
        request,
        "compliance/aml/scan_start.html",
        admin_context(request, title="Start an AML scan", busy=busy),
    )


console.register_view("compliance/aml-scans/start/", aml_scan_start_view, "compliance_aml_scan_start", START)
console.register_view(
    "compliance/aml-scans/<int:run_id>/", aml_scan_view, "compliance_aml_scan", SCANS, run_id="aml_scan_run"
)
console.register_view(
    "compliance/aml-scans/<int:run_id>/progress/",
    aml_scan_progress_view,
    "compliance_aml_scan_progress",
    SCANS,
    run_id="aml_scan_run",
)


def progress_bar(progress: dict, state: str) -> str:
    colour = {"failed": "bg-red-600", "done": "bg-green-600"}.get(state, "bg-primary-600")
    return format_html(
        '<div class="flex items-center gap-2 min-w-32" title="{} of {} rules">'
        '<div class="bg-base-100 dark:bg-base-800 grow h-1.5 overflow-hidden rounded-default" '
        'role="progressbar" aria-valuemin="0" aria-valuemax="{}" aria-valuenow="{}">'
        '<div class="h-1.5 {}" style="width: {}%"></div></div>'
        '<span class="text-xs whitespace-nowrap">{}/{}</span></div>',
        progress["done"],
        progress["total"],
        progress["total"],
        progress["done"],
        colour,
        progress["pct"],
        progress["done"],
        progress["total"],
    )


@admin.register(AmlScanRun)
class AmlScanRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "run_link",
        "state",
        "progress",
        "full",
        "requested_by",
        "started_at",
        "finished_at",
        "players_in_scope",
        "created",
        "error",
    ]
    list_display_links = None
    list_filter = ["state", "full"]
    list_select_related = ["requested_by"]
    show_full_result_count = False
    list_before_template = "compliance/aml/scan_buttons.html"

    def get_list_display(self, request):
        # The rules enabled now complete a running scan's plan: read once per page (the
        # admin asks for the columns more than once).
        if not hasattr(request, "_aml_enabled_rules"):
            request._aml_enabled_rules = _enabled_rules()
        enabled = request._aml_enabled_rules

        @display(description="Progress")
        def progress(obj):
            return progress_bar(scan_progress(obj, enabled), obj.state)

        return [progress if f == "progress" else f for f in super().get_list_display(request)]

    @display(description="Progress")
    def progress(self, obj):  # the list swaps in the per-request column above
        return progress_bar(scan_progress(obj, _enabled_rules()), obj.state)

    @display(description="Run")
    def run_link(self, obj):
        return format_html(
            '<a class="text-primary-600 font-semibold" href="{}">#{}</a>',
            reverse("admin:compliance_aml_scan", args=[obj.pk]),
            obj.pk,
        )

    @display(description="Alerts created")
    def created(self, obj):
        return obj.alerts_created
