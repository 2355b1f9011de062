"""Payments in the console: the payments list and a payment's page (event timeline,
notifications, ledger postings), the notification log with replay, payment methods
(with the instruments shared between players), and the player page's Payments tab.
Everything is read-only: states and money change only through payments.services."""

import json
from xml.dom import minidom

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from backoffice import console
from backoffice.errors import DomainError
from backoffice.money import format_minor
from backoffice.views import ReadOnlyAdminMixin, admin_context
from players.tabs import PlayerTab, register_tab

from . import selectors
from .models import Notification, Payment, PaymentEvent, PaymentMethod, PayNPlaySession
from .notifications import notification_replay

STATE_LABELS = {
    "succeeded": "success",
    "paid": "success",
    "failed": "danger",
    "rejected": "danger",
    "reversed": "danger",
    "cancelled": "warning",
    "processed": "success",
    "ignored": "info",
    "received": "warning",
}


class PaymentEventInline(TabularInline):
    model = PaymentEvent
    fields = ["at", "from_state", "to_state", "source", "notification", "actor", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Timeline"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "notification")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NotificationInline(TabularInline):
    model = Notification
    fields = ["link", "received_at", "verdict", "state", "flagged", "outcome"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Provider notifications"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description="Notification")
    def link(self, obj):
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:payments_notification_change", args=[obj.pk]), obj.pk
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "reference",
        "created_at",
        "player_public_id",
        "kind",
        "provider",
        "method",
        "amount_col",
        "state_col",
        "provider_reference",
    ]
    list_filter = ["provider", "kind", "state", ("created_at", admin.DateFieldListFilter)]
    # Exact matches only, so each search uses an index (reference, provider reference,
    # the player's public id): these are the ids operators paste.
    search_fields = ["=reference", "=provider_reference", "=player__public_id"]
    search_help_text = "Our reference, the provider's reference or the player's public id (exact)."
    list_select_related = ["player"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [PaymentEventInline, NotificationInline]
    fields = [
        "reference",
        "kind",
        "state",
        "state_changed_at",
        "player_link",
        "provider",
        "method",
        "payment_method",
        "amount_col",
        "fee_col",
        "status_note",
        "approval_request",
        "provider_reference",
        "provider_data",
        "redirect_url",
        "created_at",
        "updated_at",
        "ledger_postings",
    ]
    readonly_fields = fields
    actions_detail = ["refund"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("player", "payment_method")

    def has_refund_permission(self, request, object_id=None):
        return request.user.has_perm("payments.approve_withdrawal")

    @action(description="Refund", permissions=["refund"], icon="undo")
    def refund(self, request, object_id):
        return redirect("admin:payments_payment_refund", payment_id=object_id)

    @display(description="Player", ordering="player__public_id")
    def player_public_id(self, obj):
        return obj.player.public_id

    @display(description="Player")
    def player_link(self, obj):
        url = reverse("admin:players_player_change", args=[obj.player_id])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', url, obj.player)

    @display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return format_minor(obj.amount, obj.currency)

    @display(description="Fee")
    def fee_col(self, obj):
        return format_minor(obj.fee, obj.currency)

    @display(description="State", ordering="state", label=STATE_LABELS)
    def state_col(self, obj):
        return obj.state

    @display(description="Ledger postings")
    def ledger_postings(self, obj):
        postings = selectors.payment_postings(obj)
        if not postings:
            return "No money has moved for this payment."
        rows = format_html_join(
            "",
            '<tr><td class="pr-4"><a class="text-primary-600" href="{}">#{}</a> {}</td><td class="pr-4">{}</td>'
            '<td class="pr-4 text-right">{}</td></tr>',
            (
                (
                    reverse("admin:wallet_transaction_change", args=[p.transaction_id]),
                    p.transaction_id,
                    p.transaction.get_kind_display(),
                    p.account,
                    format_minor(p.amount, p.account.currency),
                )
                for p in postings
            ),
        )
        return format_html('<table class="text-sm">{}</table>', rows)


def pretty_body(body: str) -> str:
    """JSON indented, XML indented, anything else as it came."""
    text = body.strip()
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pass
    if text.startswith("<"):
        try:
            return minidom.parseString(text.encode()).toprettyxml(indent="  ")
        except Exception:  # noqa: BLE001 - shown raw when it is not well-formed
            return body
    return body


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "received_at",
        "provider",
        "verdict_col",
        "state_col",
        "flagged",
        "payment_ref",
        "idempotency_key",
        "attempts",
    ]
    list_filter = ["provider", "verdict", "state", "flagged", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "=idempotency_key", "=payment__reference"]
    search_help_text = "Notification id, idempotency key or our payment reference (exact)."
    list_select_related = ["payment"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = [
        "provider",
        "received_at",
        "remote_addr",
        "verdict",
        "state",
        "flagged",
        "outcome",
        "payment",
        "idempotency_key",
        "attempts",
        "processed_at",
        "headers",
        "body_pretty",
    ]
    readonly_fields = fields
    actions_detail = ["replay"]

    @display(description="Verdict", label={"valid": "success", "invalid": "danger", "unsigned": "warning"})
    def verdict_col(self, obj):
        return obj.verdict

    @display(description="State", label=STATE_LABELS | {"rejected": "danger"})
    def state_col(self, obj):
        return obj.state

    @display(description="Payment")
    def payment_ref(self, obj):
        return obj.payment.reference if obj.payment_id else "-"

    @display(description="Body")
    def body_pretty(self, obj):
        return format_html(
            '<pre class="text-xs whitespace-pre-wrap break-all">{}</pre>', pretty_body(obj.body)
        )

    def has_replay_permission(self, request, object_id=None):
        return request.user.has_perm("payments.replay_notification")

    @action(description="Replay processing", permissions=["replay"], icon="replay")
    def replay(self, request, object_id):
        return redirect("admin:payments_notification_replay", notification_id=object_id)


def notification_replay_view(request, notification_id: int):
    """Confirm, then process a stored notification again (idempotent; audited)."""
    n = get_object_or_404(Notification, pk=notification_id)
    if request.method == "POST":
        try:
            n = notification_replay(notification_id=n.pk, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Replayed: {n.get_state_display().lower()}. {n.outcome}")
        return redirect("admin:payments_notification_change", n.pk)
    return TemplateResponse(
        request,
        "payments/replay_confirm.html",
        admin_context(request, title=f"Replay {n}", notification=n),
    )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "player_public_id",
        "provider",
        "type",
        "brand",
        "last_four",
        "bank",
        "holder_name",
        "shared_col",
        "first_used_at",
        "last_used_at",
    ]
    list_filter = ["provider", "type"]
    search_fields = ["=fingerprint", "=player__public_id", "=last_four"]
    search_help_text = "Fingerprint, the player's public id or the last four digits (exact)."
    list_select_related = ["player"]
    show_full_result_count = False
    fields = [
        "player",
        "provider",
        "type",
        "brand",
        "last_four",
        "bank",
        "holder_name",
        "fingerprint",
        "first_used_at",
        "last_used_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.with_shared_count(super().get_queryset(request))

    @display(description="Player", ordering="player__public_id")
    def player_public_id(self, obj):
        return obj.player.public_id

    @display(description="Other players", label={"0": "info"})
    def shared_col(self, obj):
        if not obj.shared_with:
            return "0"
        url = reverse("admin:payments_paymentmethod_changelist") + f"?q={obj.fingerprint}"
        return format_html('<a class="font-semibold text-red-600" href="{}">{}</a>', url, obj.shared_with)


@admin.register(PayNPlaySession)
class PayNPlaySessionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Anonymous Pay N Play deposits and what became of them (read-only: the bank identity,
    the expiry task and the provider's answer are what move them)."""

    list_display = [
        "reference",
        "provider",
        "jurisdiction",
        "amount_col",
        "state_col",
        "code",
        "created_at",
        "expires_at",
        "player_public_id",
        "payment_reference",
    ]
    list_filter = ["state", "provider", "jurisdiction"]
    search_fields = ["=reference", "=provider_reference", "=player__public_id"]
    search_help_text = "Our reference, the provider's reference or the player's public id (exact)."
    list_select_related = ["player", "payment"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "reference",
        "provider",
        "provider_reference",
        "jurisdiction",
        "amount",
        "currency",
        "limits",
        "state",
        "code",
        "created_at",
        "expires_at",
        "identified_at",
        "player",
        "payment",
    ]
    readonly_fields = fields

    @display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return format_minor(obj.amount, obj.currency)

    @display(
        description="State",
        ordering="state",
        label={"identified": "success", "refused": "danger", "failed": "danger", "expired": "warning"},
    )
    def state_col(self, obj):
        return obj.state

    @display(description="Player", ordering="player__public_id")
    def player_public_id(self, obj):
        return obj.player.public_id if obj.player_id else "-"

    @display(description="Payment")
    def payment_reference(self, obj):
        return obj.payment.reference if obj.payment_id else "-"


# --- console views, navigation, the player tab ----------------------------------------------------

console.register_view(
    "payments/notifications/<int:notification_id>/replay/",
    notification_replay_view,
    "payments_notification_replay",
    "payments.replay_notification",
    notification_id="notification",
)

N = console.NavItem
for item in [
    N("Payments", "Payments", "admin:payments_payment_changelist", "payments.view_payment", "payments", 10),
    N(
        "Payments",
        "Notification log",
        "admin:payments_notification_changelist",
        "payments.view_notification",
        "webhook",
        20,
    ),
    N(
        "Payments",
        "Payment methods",
        "admin:payments_paymentmethod_changelist",
        "payments.view_paymentmethod",
        "credit_card",
        30,
    ),
    N(
        "Payments",
        "Pay N Play sessions",
        "admin:payments_paynplaysession_changelist",
        "payments.view_paynplaysession",
        "login",
        35,
    ),
]:
    console.register_nav(item)


def payments_tab_context(request, player) -> dict:
    may_see_methods = request.user.has_perm("payments.view_paymentmethod")
    return {
        "payments": selectors.player_payments(player),
        "methods": selectors.player_payment_methods(player) if may_see_methods else None,
        "search_url": reverse("admin:payments_payment_changelist") + f"?q={player.public_id}",
    }


register_tab(
    PlayerTab(
        "payments",
        "Payments",
        "payments/tabs/payments.html",
        "payments.view_payment",
        payments_tab_context,
        order=25,
    )
)

# The workflow screens live beside this module (imported here: admin autodiscovery loads it).
from . import admin_finance, admin_refunds, admin_withdrawals  # noqa: E402, F401
