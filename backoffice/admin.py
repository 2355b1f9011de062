from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_celery_beat.admin import PeriodicTaskAdmin as BasePeriodicTaskAdmin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from . import apiclients, approvals, console, roles, services
from .errors import DomainError
from .forms import ConsoleForm
from .models import ApiClient, ApprovalRequest, AuditEvent, Heartbeat, User
from .security import sensitive
from .views import ReadOnlyAdminMixin, admin_context

for model in (Group, EmailAddress, Authenticator, SolarSchedule, ClockedSchedule):
    try:
        admin.site.unregister(model)
    except admin.sites.NotRegistered:
        pass


# --- Operators ----------------------------------------------------------------------------


class OperatorCreateForm(ConsoleForm):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False)
    roles = forms.MultipleChoiceField(
        choices=[(r, roles.ROLE_LABELS[r]) for r in roles.ROLES if r != roles.ADMINISTRATOR],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The administrator role is granted afterwards through a four-eyes request.",
    )


class RolesForm(ConsoleForm):
    roles = forms.MultipleChoiceField(
        choices=[(r, roles.ROLE_LABELS[r]) for r in roles.ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason (when asking for the administrator role)",
    )


@admin.register(User)
class OperatorAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["email", "full_name", "roles_display", "mfa_display", "is_active", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    fields = ["email", "full_name", "is_active", "is_demo", "date_joined", "last_login"]
    readonly_fields = fields
    actions_detail = ["change_roles", "reset_second_factor"]
    actions_list = ["create_operator"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("groups")
            .annotate(
                second_factors=Count("authenticator", filter=Q(authenticator__type__in=["totp", "webauthn"]))
            )
        )

    @display(description="Roles")
    def roles_display(self, obj):
        return ", ".join(roles.ROLE_LABELS.get(g.name, g.name) for g in obj.groups.all()) or "-"

    @display(description="Second factor", boolean=True)
    def mfa_display(self, obj):
        return obj.second_factors > 0

    def has_manage_operators_permission(self, request, object_id=None):
        return request.user.has_perm("backoffice.manage_operators")

    @action(description="Change roles", permissions=["manage_operators"], icon="badge")
    def change_roles(self, request, object_id):
        return redirect("admin:backoffice_operator_roles", user_id=object_id)

    @action(description="Reset second factor", permissions=["manage_operators"], icon="phonelink_erase")
    def reset_second_factor(self, request, object_id):
        return redirect("admin:backoffice_operator_reset_mfa", user_id=object_id)

    @action(description="New operator", permissions=["manage_operators"], icon="person_add")
    def create_operator(self, request):
        return redirect("admin:backoffice_operator_create")


@sensitive
def operator_create_view(request):
    form = OperatorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = services.generate_password()
        try:
            user = services.operator_create(
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role_names=form.cleaned_data["roles"],
                password=password,
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                format_html(
                    "Operator {} created. One-time password (shown once, give it to them securely): <code>{}</code>. "
                    "They enrol a second factor at first sign-in.",
                    user.email,
                    password,
                ),
            )
            return redirect("admin:backoffice_user_change", user.pk)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(request, title="New operator", form=form, submit_label="Create operator"),
    )


@sensitive
def operator_roles_view(request, user_id: int):
    user = get_object_or_404(User, pk=user_id)
    current = user.role_names
    form = RolesForm(request.POST or None, initial={"roles": current})
    if request.method == "POST" and form.is_valid():
        wanted = form.cleaned_data["roles"]
        wants_admin = roles.ADMINISTRATOR in wanted and roles.ADMINISTRATOR not in current
        try:
            if wants_admin:
                services.operator_set_roles(
                    user_id=user.pk,
                    role_names=[r for r in wanted if r != roles.ADMINISTRATOR],
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
                req = services.operator_request_administrator(
                    user_id=user.pk, actor=request.user, reason=form.cleaned_data["reason"]
                )
                messages.warning(
                    request,
                    f"Other roles saved. The administrator role awaits a second "
                    f"administrator's approval (request #{req.pk}).",
                )
            else:
                services.operator_set_roles(
                    user_id=user.pk, role_names=wanted, actor=request.user, note=form.cleaned_data["note"]
                )
                messages.success(request, f"Roles of {user.email} updated.")
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("admin:backoffice_user_change", user.pk)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Roles of {user.email}",
            form=form,
            submit_label="Save roles",
            intro="Adding the administrator role creates a four-eyes request; another administrator approves it.",
        ),
    )


class ResetMFAForm(ConsoleForm):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Why (e.g. lost phone, ticket number)"
    )


@sensitive
def operator_reset_mfa_view(request, user_id: int):
    user = get_object_or_404(User, pk=user_id)
    form = ResetMFAForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.operator_reset_second_factor(
                user_id=user.pk, actor=request.user, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{user.email} must enrol a new second factor at next sign-in.")
            return redirect("admin:backoffice_user_change", user.pk)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Reset the second factor of {user.email}",
            form=form,
            submit_label="Reset second factor",
            intro="Removes their authenticator app, security keys and recovery codes and signs them out.",
        ),
    )


console.register_view(
    "operators/new/", operator_create_view, "backoffice_operator_create", "backoffice.manage_operators"
)
console.register_view(
    "operators/<int:user_id>/roles/",
    operator_roles_view,
    "backoffice_operator_roles",
    "backoffice.manage_operators",
    user_id="operator",
)
console.register_view(
    "operators/<int:user_id>/reset-mfa/",
    operator_reset_mfa_view,
    "backoffice_operator_reset_mfa",
    "backoffice.manage_operators",
    user_id="operator",
)


# --- Audit log ----------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "target_link", "note_short", "ip", "request_id"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=actor_label", "=action", "=target_id", "=request_id", "target_repr"]
    date_hierarchy = "created_at"
    list_select_related = ["target_type"]
    show_full_result_count = False
    fields = [
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "before",
        "after",
        "note",
        "ip",
        "request_id",
    ]
    readonly_fields = fields

    # AML case work is confidential (tipping-off): finance, risk and administrators read the
    # audit log but not these events unless they may see the cases themselves.
    CONFIDENTIAL_PREFIXES = ("compliance.aml_case.", "compliance.str_report.")
    CONFIDENTIAL_PERMISSION = "compliance.view_amlcase"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.has_perm(self.CONFIDENTIAL_PERMISSION):
            return qs
        for prefix in self.CONFIDENTIAL_PREFIXES:
            qs = qs.exclude(action__startswith=prefix)
        return qs

    @display(description="Target")
    def target_link(self, obj):
        if not obj.target_type_id:
            return "-"
        return f"{obj.target_type.model} #{obj.target_id} {obj.target_repr}"[:90]

    @display(description="Note")
    def note_short(self, obj):
        return (obj.note or "")[:60]


# --- Approvals ----------------------------------------------------------------------------


class PendingFirstFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*ApprovalRequest.State.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or "pending"
        for key, label in self.lookup_choices:
            yield {
                "selected": value == key,
                "query_string": changelist.get_query_string({self.parameter_name: key}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "pending"
        return queryset if value == "all" else queryset.filter(state=value)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "summary",
        "requested_by",
        "requested_at",
        "age",
        "state",
        "decided_by",
        "decide_link",
    ]
    list_filter = [PendingFirstFilter, "action"]
    list_select_related = ["requested_by", "decided_by"]
    search_fields = ["=id", "summary", "requested_by__email"]
    ordering = ["requested_at", "id"]
    fields = [
        "action",
        "summary",
        "payload",
        "reason",
        "state",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "result",
        "error",
    ]
    readonly_fields = fields

    @display(description="Waiting")
    def age(self, obj):
        from django.utils.timesince import timesince

        return timesince(obj.requested_at) if obj.state == ApprovalRequest.State.PENDING else "-"

    @display(description="")
    def decide_link(self, obj):
        if obj.state != ApprovalRequest.State.PENDING:
            return ""
        return format_html(
            '<a class="text-primary-600 font-semibold" href="{}">Review</a>',
            reverse("admin:backoffice_approval_decide", args=[obj.pk]),
        )


class DecideForm(ConsoleForm):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Note (required to reject)"
    )


@sensitive
def approval_decide_view(request, request_id: int):
    req = get_object_or_404(
        ApprovalRequest.objects.select_related("requested_by", "decided_by"), pk=request_id
    )
    form = DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if "approve" in request.POST:
                req = approvals.approval_approve(request_id=req.pk, actor=request.user, note=note)
                if req.state == ApprovalRequest.State.FAILED:
                    messages.error(request, f"Approved, but it could not be carried out: {req.error}")
                else:
                    messages.success(request, f"Request #{req.pk} approved and carried out.")
            elif "reject" in request.POST:
                approvals.approval_reject(request_id=req.pk, actor=request.user, note=note)
                messages.success(request, f"Request #{req.pk} rejected.")
            elif "cancel" in request.POST:
                approvals.approval_cancel(request_id=req.pk, actor=request.user)
                messages.success(request, f"Request #{req.pk} cancelled.")
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("admin:backoffice_approval_decide", req.pk)
        return redirect(reverse("admin:backoffice_approvalrequest_changelist"))
    action = approvals.registered_actions().get(req.action)
    return TemplateResponse(
        request,
        "backoffice/approval_decide.html",
        admin_context(
            request,
            title=f"Approval request #{req.pk}",
            req=req,
            form=form,
            action_label=action.label if action else req.action,
            may_decide=approvals.can_approve(request.user, req),
            is_requester=req.requested_by_id == request.user.pk,
            pending=req.state == ApprovalRequest.State.PENDING,
        ),
    )


console.register_view(
    "approvals/<int:request_id>/decide/",
    approval_decide_view,
    "backoffice_approval_decide",
    "backoffice.view_approvalrequest",
    request_id="approval",
)


# --- Scheduled work ---------------------------------------------------------------------------


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["name", "last_seen", "hostname", "runs"]


admin.site.unregister(PeriodicTask)
admin.site.unregister(IntervalSchedule)
admin.site.unregister(CrontabSchedule)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(BasePeriodicTaskAdmin, ModelAdmin):
    """Beat schedules (django-celery-beat): administrators change scan times here."""

    def save_model(self, request, obj, form, change):
        from . import audit

        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="backoffice.schedule.change" if change else "backoffice.schedule.create",
            target=obj,
            after={f: form.cleaned_data.get(f) for f in form.changed_data},
        )

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


# --- Navigation and dashboard -------------------------------------------------------------

N = console.NavItem
for item in [
    N("Administration", "Operators", "admin:backoffice_user_changelist", "backoffice.view_user", "group", 10),
    N(
        "Administration",
        "Approvals",
        "admin:backoffice_approvalrequest_changelist",
        "backoffice.view_approvalrequest",
        "how_to_reg",
        20,
    ),
    N(
        "Administration",
        "Audit log",
        "admin:backoffice_auditevent_changelist",
        "backoffice.view_auditevent",
        "history",
        30,
    ),
    N(
        "Administration",
        "Schedules",
        "admin:django_celery_beat_periodictask_changelist",
        "django_celery_beat.view_periodictask",
        "schedule",
        40,
    ),
    N(
        "Administration",
        "Heartbeats",
        "admin:backoffice_heartbeat_changelist",
        "backoffice.view_heartbeat",
        "monitor_heart",
        50,
    ),
]:
    console.register_nav(item)


def _heartbeat_tile(request) -> dict:
    from django.conf import settings

    hb = Heartbeat.objects.filter(name="celery").first()
    stale = hb is None or timezone.now() - hb.last_seen > settings.HEARTBEAT_STALE_AFTER
    return {"heartbeat": hb, "stale": stale}


def _approvals_tile(request) -> dict:
    pending = ApprovalRequest.objects.filter(state=ApprovalRequest.State.PENDING)
    oldest = pending.order_by("requested_at").values_list("requested_at", flat=True).first()
    return {"count": pending.count(), "oldest": oldest}


console.register_tile(
    console.Tile("heartbeat", "backoffice/tiles/heartbeat.html", None, _heartbeat_tile, 900)
)
console.register_tile(
    console.Tile(
        "approvals", "backoffice/tiles/approvals.html", "backoffice.view_approvalrequest", _approvals_tile, 10
    )
)


# --- API clients ----------------------------------------------------------------------------


class ApiClientForm(ConsoleForm):
    name = forms.CharField(max_length=100, help_text="Who calls: e.g. frontend-prod")


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["name", "key_prefix", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    fields = ["name", "key_prefix", "is_active", "created_at", "last_used_at"]
    readonly_fields = fields
    actions_list = ["new_client"]
    actions_detail = ["deactivate"]

    def has_manage_api_clients_permission(self, request, object_id=None):
        return request.user.has_perm("backoffice.add_apiclient")

    @action(description="New API client", permissions=["manage_api_clients"], icon="key")
    def new_client(self, request):
        return redirect("admin:backoffice_apiclient_create")

    @action(description="Deactivate", permissions=["manage_api_clients"], icon="key_off")
    def deactivate(self, request, object_id):
        return redirect("admin:backoffice_apiclient_deactivate", client_id=object_id)


@sensitive
def api_client_create_view(request):
    form = ApiClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client, key = apiclients.api_client_create(name=form.cleaned_data["name"], actor=request.user)
        except DomainError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(
                request,
                format_html(
                    "API client {} created. Its key, shown once (store it in the caller's secrets): <code>{}</code>",
                    client.name,
                    key,
                ),
            )
            return redirect("admin:backoffice_apiclient_changelist")
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request, title="New API client", form=form, submit_label="Create and show the key once"
        ),
    )


class DeactivateForm(ConsoleForm):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why")


@sensitive
def api_client_deactivate_view(request, client_id: int):
    client = get_object_or_404(ApiClient, pk=client_id)
    form = DeactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        apiclients.api_client_deactivate(
            client_id=client.pk, actor=request.user, note=form.cleaned_data["note"]
        )
        messages.success(request, f"{client.name} can no longer call the API.")
        return redirect("admin:backoffice_apiclient_changelist")
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(request, title=f"Deactivate {client.name}", form=form, submit_label="Deactivate"),
    )


console.register_view(
    "api-clients/new/", api_client_create_view, "backoffice_apiclient_create", "backoffice.add_apiclient"
)
console.register_view(
    "api-clients/<int:client_id>/deactivate/",
    api_client_deactivate_view,
    "backoffice_apiclient_deactivate",
    "backoffice.change_apiclient",
    client_id="api_client",
)
console.register_nav(
    console.NavItem(
        "Administration",
        "API clients",
        "admin:backoffice_apiclient_changelist",
        "backoffice.view_apiclient",
        "key",
        60,
    )
)
