import json

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.security import sensitive
from backoffice.views import ReadOnlyAdminMixin, admin_context

from . import services
from .catalog import KEY_CHOICES, SPEC_BY_KEY
from .models import Jurisdiction, JurisdictionRule
from .selectors import rules_in_force


class RuleVersionInline(ReadOnlyAdminMixin, TabularInline):
    model = JurisdictionRule
    fields = ["key", "value", "effective_from", "source", "created_by", "note"]
    readonly_fields = fields
    extra = 0
    ordering = ["key", "-effective_from"]
    verbose_name_plural = "All rule versions (newest first per rule)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


@admin.register(Jurisdiction)
class JurisdictionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["code", "name", "regulator", "currency", "enabled", "rules_count"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "regulator", "currency", "enabled", "in_force"]
    readonly_fields = fields
    inlines = [RuleVersionInline]
    actions_detail = ["change_rule"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_rules=Count("rules"))

    @display(description="Rule versions")
    def rules_count(self, obj):
        return obj.n_rules

    @display(description="Rules in force now")
    def in_force(self, obj):
        from django.utils.html import format_html_join

        rows = [
            (SPEC_BY_KEY[k].label if k in SPEC_BY_KEY else k, json.dumps(r.value), r.source)
            for k, r in sorted(rules_in_force(jurisdiction=obj.code).items())
        ]
        return format_html_join(
            "", "<div class='mb-2'><b>{}</b>: <code>{}</code><br><small>{}</small></div>", rows
        )

    def has_change_rules_permission(self, request, object_id=None):
        return request.user.has_perm("compliance.change_jurisdiction_rules")

    @action(description="Change a rule", permissions=["change_rules"], icon="edit_note")
    def change_rule(self, request, object_id):
        return redirect("admin:compliance_rule_change", jurisdiction_id=object_id)


@admin.register(JurisdictionRule)
class JurisdictionRuleAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["jurisdiction", "key", "value_display", "effective_from", "created_by", "source_short"]
    list_filter = ["jurisdiction", "key"]
    list_select_related = ["jurisdiction", "created_by"]
    search_fields = ["key", "source"]
    date_hierarchy = "effective_from"

    @display(description="Value")
    def value_display(self, obj):
        return json.dumps(obj.value)

    @display(description="Source")
    def source_short(self, obj):
        return obj.source[:80]


class RuleChangeForm(ConsoleForm):
    key = forms.ChoiceField(choices=KEY_CHOICES)
    value = forms.CharField(
        help_text='JSON: 72, true, "spelpaus", ["deposit"], {"amount": 200000, "currency": "EUR"}'
    )
    source = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    effective_from = forms.DateTimeField(required=False, help_text="Empty: now. Format 2026-12-01 00:00")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_value(self):
        try:
            return json.loads(self.cleaned_data["value"])
        except json.JSONDecodeError:
            raise forms.ValidationError('Not valid JSON: write 72, true, "text" or ["a", "b"].') from None


@sensitive
def rule_change_view(request, jurisdiction_id: int):
    j = get_object_or_404(Jurisdiction, pk=jurisdiction_id)
    form = RuleChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.rule_change(
                jurisdiction=j.code,
                key=d["key"],
                value=d["value"],
                source=d["source"],
                effective_from=d["effective_from"],
                actor=request.user,
                note=d["note"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"New version of {d['key']} for {j.code} saved.")
            return redirect("admin:compliance_jurisdiction_change", j.pk)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Change a rule of {j}",
            form=form,
            submit_label="Save new version",
            intro="A change is a new version with the date it takes effect; earlier versions stay on record.",
        ),
    )


console.register_view(
    "compliance/jurisdictions/<int:jurisdiction_id>/change-rule/",
    rule_change_view,
    "compliance_rule_change",
    "compliance.change_jurisdiction_rules",
    jurisdiction_id="jurisdiction",
)
console.register_nav(
    console.NavItem(
        "Compliance",
        "Jurisdictions",
        "admin:compliance_jurisdiction_changelist",
        "compliance.view_jurisdiction",
        "gavel",
        90,
    )
)


# The KYC queue and the responsible-gambling screens register themselves on import.
from . import (  # noqa: E402,F401
    admin_aml,
    admin_cases,
    admin_fatf,
    admin_kyc,
    admin_markers,
    admin_operator,
    admin_rg,
    admin_risk,
    admin_screening,
)
