"""Finance's other payments screens: provider settings (enabled per market, limits, fees;
saved through a service, audited), reconciliation runs with their lines and the report
upload, and the chargebacks to review (a queue, a dashboard tile, a review form)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminTextInputWidget

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.money import Money, format_minor
from backoffice.views import ReadOnlyAdminMixin, admin_context

from .alerts import chargeback_alert_review
from .models import ChargebackAlert, Provider, ProviderSetting, ReconciliationLine, ReconciliationRun
from .provider_settings import provider_setting_save
from .reconciliation import reconciliation_run

# --- provider settings ------------------------------------------------------------------------------

_MONEY_FIELDS = [
    "min_deposit",
    "max_deposit",
    "min_withdrawal",
    "max_withdrawal",
    "deposit_fee_fixed",
    "withdrawal_fee_fixed",
]


class ProviderSettingForm(forms.ModelForm):
    """Amounts typed in major units ("10.00") of the row's currency, never minor units."""

    class Meta:
        model = ProviderSetting
        fields = [
            "provider",
            "market",
            "currency",
            "enabled",
            *_MONEY_FIELDS,
            "deposit_fee_bp",
            "withdrawal_fee_bp",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inst = self.instance
        for name in _MONEY_FIELDS:
            if name not in self.fields:  # read-only for this operator
                continue
            required = name.endswith("_fixed")
            self.fields[name] = forms.CharField(
                required=False,
                label=self.fields[name].label,
                help_text="In the currency above, e.g. 10.00" + ("" if required else "; empty: no limit"),
                widget=UnfoldAdminTextInputWidget(attrs={"inputmode": "decimal", "placeholder": "10.00"}),
            )
            value = getattr(inst, name) if inst.pk else None
            if value is not None:
                self.initial[name] = Money(value, inst.currency).to_decimal_string()

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").upper()

    def clean_market(self):
        return (self.cleaned_data.get("market") or "").upper()

    def clean(self):
        data = super().clean()
        currency = data.get("currency")
        for name in [n for n in _MONEY_FIELDS if n in self.fields]:
            text = (self.data.get(self.add_prefix(name)) or "").strip()
            if not text:
                data[name] = 0 if name.endswith("_fixed") else None
                continue
            try:
                value = Money.parse(text, currency or "EUR").amount
            except (ValueError, TypeError) as exc:
                self.add_error(name, str(exc))
                continue
            if value < 0:
                self.add_error(name, "Zero or more.")
            data[name] = value
        return data

    def _post_clean(self):
        # The money fields are CharFields on the form: put the parsed ints on the instance.
        super()._post_clean()
        for name in _MONEY_FIELDS:
            if name in self.cleaned_data:
                setattr(self.instance, name, self.cleaned_data[name])


@admin.register(ProviderSetting)
class ProviderSettingAdmin(ModelAdmin):
    form = ProviderSettingForm
    list_display = [
        "provider",
        "market_col",
        "currency",
        "enabled",
        "deposit_limits",
        "withdrawal_limits",
        "fees",
        "updated_at",
        "updated_by",
    ]
    list_filter = ["provider", "enabled", "market"]
    list_select_related = ["updated_by"]

    def has_delete_permission(self, request, obj=None):
        return False  # switch a provider off instead: the row is its history's anchor

    @display(description="Market")
    def market_col(self, obj):
        return obj.market or "all"

    @staticmethod
    def _range(low, high, currency):
        if low is None and high is None:
            return "no limits"
        return f"{format_minor(low, currency) if low is not None else '…'} – " + (
            format_minor(high, currency) if high is not None else "…"
        )

    @display(description="Deposits")
    def deposit_limits(self, obj):
        return self._range(obj.min_deposit, obj.max_deposit, obj.currency)

    @display(description="Withdrawals")
    def withdrawal_limits(self, obj):
        return self._range(obj.min_withdrawal, obj.max_withdrawal, obj.currency)

    @display(description="Fees (deposit / withdrawal)")
    def fees(self, obj):
        c = obj.currency
        return (
            f"{format_minor(obj.deposit_fee_fixed, c)} + {obj.deposit_fee_bp / 100:g}% / "
            f"{format_minor(obj.withdrawal_fee_fixed, c)} + {obj.withdrawal_fee_bp / 100:g}%"
        )

    def save_model(self, request, obj, form, change):
        provider_setting_save(setting=obj, actor=request.user)

    def save_form(self, request, form, change):
        return form.save(commit=False)

    def _changeform_view(self, request, object_id, form_url, extra_context):
        try:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(request.path)


# --- reconciliation ---------------------------------------------------------------------------------


class ReportForm(ConsoleForm):
    provider = forms.ChoiceField(choices=Provider.choices)
    report = forms.FileField(
        help_text="The provider's settlement report, CSV (column mapping: docs/payments.md)"
    )
    period_from = forms.DateField(required=False, help_text="Empty: the report's first date")
    period_to = forms.DateField(required=False, help_text="Empty: the report's last date")

    MAX_BYTES = 20 * 1024 * 1024


def reconciliation_upload_view(request):
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["report"]
        if f.size > ReportForm.MAX_BYTES:
            form.add_error("report", "The report is larger than 20 MB: split it by period.")
        else:
            try:
                run = reconciliation_run(
                    provider=form.cleaned_data["provider"],
                    file_name=f.name,
                    content=f.read(),
                    actor=request.user,
                    period_from=form.cleaned_data["period_from"],
                    period_to=form.cleaned_data["period_to"],
                )
            except DomainError as exc:
                form.add_error("report" if exc.field == "report" else None, exc.message)
            else:
                messages.success(request, f"Reconciled: {_summary_text(run.summary)}.")
                return redirect("admin:payments_reconciliationrun_change", run.pk)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title="Import a settlement report",
            form=form,
            submit_label="Reconcile",
            multipart=True,
            intro="Rows are matched on the provider's reference (then ours), then currency and amount.",
        ),
    )


def _summary_text(summary: dict) -> str:
    labels = dict(ReconciliationLine.Result.choices)
    parts = [f"{labels[k].lower()} {summary.get(k, 0)}" for k in labels]
    return ", ".join(parts) + f", rows skipped {summary.get('skipped_rows', 0)}"


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "provider",
        "period_from",
        "period_to",
        "rows",
        "summary_col",
        "created_by",
    ]
    list_filter = ["provider", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "provider",
        "file_name",
        "period_from",
        "period_to",
        "rows",
        "created_at",
        "created_by",
        "results",
    ]
    readonly_fields = fields
    actions_list = ["import_report"]

    def has_import_report_permission(self, request):
        return request.user.has_perm("payments.reconcile")

    @action(description="Import a settlement report", permissions=["import_report"], icon="upload_file")
    def import_report(self, request):
        return redirect("admin:payments_reconciliation_upload")

    @display(description="Results")
    def summary_col(self, obj):
        s = obj.summary or {}
        off = sum(s.get(k, 0) for k in ReconciliationLine.Result.values if k != "matched")
        return format_html("{} matched, <b>{}</b> to look at", s.get("matched", 0), off)

    @display(description="Results")
    def results(self, obj):
        base = reverse("admin:payments_reconciliationline_changelist")
        rows = format_html_join(
            "",
            '<li><a class="text-primary-600" href="{}?run__id__exact={}&result__exact={}">{}: {}</a></li>',
            (
                (base, obj.pk, value, label, (obj.summary or {}).get(value, 0))
                for value, label in ReconciliationLine.Result.choices
            ),
        )
        return format_html(
            '<ul data-testid="recon-summary">{}<li>Rows skipped (fees, other types): {}</li></ul>',
            rows,
            (obj.summary or {}).get("skipped_rows", 0),
        )


@admin.register(ReconciliationLine)
class ReconciliationLineAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "run",
        "result",
        "provider_reference",
        "merchant_reference",
        "report_type",
        "theirs",
        "ours",
    ]
    list_filter = ["result", "run__provider"]
    search_fields = ["=provider_reference", "=merchant_reference", "=run__id"]
    list_select_related = ["run"]
    show_full_result_count = False

    @display(description="Report")
    def theirs(self, obj):
        return format_minor(obj.report_amount, obj.report_currency) if obj.report_currency else "-"

    @display(description="Ours")
    def ours(self, obj):
        return format_minor(obj.our_amount, obj.our_currency) if obj.our_currency else "-"


# --- chargebacks to review ------------------------------------------------------------------------


class ChargebackReviewForm(ConsoleForm):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What was decided")


@admin.register(ChargebackAlert)
class ChargebackAlertAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "created_at",
        "payment_ref",
        "player",
        "amount_col",
        "from_player_col",
        "lost_col",
        "reviewed",
    ]
    list_filter = [("reviewed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=payment__reference", "=payment__player__public_id"]
    list_select_related = ["payment__player"]
    show_full_result_count = False
    fields = [
        "payment",
        "amount",
        "from_player",
        "lost",
        "created_at",
        "reviewed_at",
        "reviewed_by",
        "review_note",
    ]
    readonly_fields = fields
    actions_detail = ["review"]

    @display(description="Payment")
    def payment_ref(self, obj):
        return obj.payment.reference

    @display(description="Player")
    def player(self, obj):
        return obj.payment.player.public_id

    @display(description="Charged back")
    def amount_col(self, obj):
        return format_minor(obj.amount, obj.payment.currency)

    @display(description="From the player")
    def from_player_col(self, obj):
        return format_minor(obj.from_player, obj.payment.currency)

    @display(description="Lost")
    def lost_col(self, obj):
        return format_minor(obj.lost, obj.payment.currency)

    @display(description="Reviewed", boolean=True)
    def reviewed(self, obj):
        return obj.reviewed_at is not None

    def has_review_permission(self, request, object_id=None):
        return request.user.has_perm("payments.review_chargeback")

    @action(description="Mark reviewed", permissions=["review"], icon="task_alt")
    def review(self, request, object_id):
        return redirect("admin:payments_chargeback_review", alert_id=object_id)


def chargeback_review_view(request, alert_id: int):
    alert = get_object_or_404(ChargebackAlert.objects.select_related("payment__player"), pk=alert_id)
    form = ChargebackReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            chargeback_alert_review(alert_id=alert.pk, actor=request.user, note=form.cleaned_data["note"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Chargeback on {alert.payment.reference} reviewed.")
            return redirect("admin:payments_chargebackalert_changelist")
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Review the chargeback on {alert.payment.reference}",
            form=form,
            submit_label="Mark reviewed",
            intro=(
                f"Player {alert.payment.player.public_id} ({alert.payment.player.get_status_display().lower()}): "
                f"{format_minor(alert.amount, alert.payment.currency)} charged back, "
                f"{format_minor(alert.lost, alert.payment.currency)} lost. Reactivate or close the player "
                "from the player's page."
            ),
        ),
    )


def _chargeback_tile(request) -> dict:
    open_ = ChargebackAlert.objects.filter(reviewed_at__isnull=True)
    return {
        "count": open_.count(),
        "oldest": open_.order_by("created_at").values_list("created_at", flat=True).first(),
    }


console.register_view(
    "payments/reconciliation/upload/",
    reconciliation_upload_view,
    "payments_reconciliation_upload",
    "payments.reconcile",
)
console.register_view(
    "payments/chargebacks/<int:alert_id>/review/",
    chargeback_review_view,
    "payments_chargeback_review",
    "payments.review_chargeback",
    alert_id="chargeback_alert",
)
console.register_tile(
    console.Tile(
        "chargebacks",
        "payments/tiles/chargebacks.html",
        "payments.view_chargebackalert",
        _chargeback_tile,
        25,
    )
)
N = console.NavItem
for item in [
    N(
        "Payments",
        "Chargebacks to review",
        "admin:payments_chargebackalert_changelist",
        "payments.view_chargebackalert",
        "report",
        40,
    ),
    N(
        "Payments",
        "Reconciliation",
        "admin:payments_reconciliationrun_changelist",
        "payments.view_reconciliationrun",
        "fact_check",
        50,
    ),
    N(
        "Payments",
        "Provider settings",
        "admin:payments_providersetting_changelist",
        "payments.view_providersetting",
        "tune",
        60,
    ),
]:
    console.register_nav(item)
