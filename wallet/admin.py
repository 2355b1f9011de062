"""The ledger in the console: read-only lists (accounts, transactions with their postings,
ledger verify runs), the manual adjustment form, the statement export, and the player
page's Balances and Statement tabs. Money moves only through wallet.services."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.urls import reverse
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from backoffice import console
from backoffice.money import format_minor
from backoffice.views import ReadOnlyAdminMixin
from players.tabs import PlayerTab, register_tab

from . import views
from .models import Account, LedgerVerifyRun, Posting, Transaction


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "kind", "code", "currency", "player_link", "balance_display"]
    list_filter = ["kind", "currency"]
    search_fields = ["=id", "=player__public_id", "=code"]
    list_select_related = ["player"]
    show_full_result_count = False
    fields = ["kind", "code", "currency", "player", "balance", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        # House balances are derived (no stored row): a correlated sum, evaluated only
        # for the page's rows, so the list runs a fixed number of queries.
        derived = (
            Posting.objects.filter(account_id=OuterRef("pk"))
            .values("account_id")
            .annotate(s=Sum("amount"))
            .values("s")
        )
        return super().get_queryset(request).annotate(derived=Coalesce(Subquery(derived), 0))

    @display(description="Player")
    def player_link(self, obj):
        return obj.player.public_id if obj.player_id else "-"

    @display(description="Balance")
    def balance_display(self, obj):
        if obj.balance is not None:
            return format_minor(obj.balance, obj.currency)
        return format_minor(obj.derived, obj.currency) + " (sum of postings)"


class PostingInline(TabularInline):
    model = Posting
    fields = ["account", "amount_display", "balance_after_display", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "account__player")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description="Amount")
    def amount_display(self, obj):
        return obj.amount_display()

    @display(description="Balance after")
    def balance_after_display(self, obj):
        return format_minor(obj.balance_after, obj.account.currency) if obj.balance_after is not None else "-"


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "created_at", "kind", "reference", "idempotency_key", "initiated_by", "reverses"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "=idempotency_key", "=reference"]
    list_select_related = ["initiated_by"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [PostingInline]
    fields = [
        "kind",
        "created_at",
        "idempotency_key",
        "request_hash",
        "reference",
        "metadata",
        "initiated_by",
        "reverses",
    ]
    readonly_fields = fields


@admin.register(LedgerVerifyRun)
class LedgerVerifyRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "state",
        "ok_display",
        "violation_count",
        "finished_at",
        "requested_by",
    ]
    list_filter = ["state", "ok"]
    list_select_related = ["requested_by"]
    fields = [
        "state",
        "ok",
        "created_at",
        "started_at",
        "finished_at",
        "requested_by",
        "summary",
        "violations",
        "error",
    ]
    readonly_fields = fields
    actions_list = ["run_now"]

    @display(description="Result", label={"ok": "success", "VIOLATIONS": "danger", "-": "info"})
    def ok_display(self, obj):
        return "-" if obj.ok is None else ("ok" if obj.ok else "VIOLATIONS")

    @display(description="Violations")
    def violation_count(self, obj):
        return len(obj.violations or [])

    def has_run_ledger_verify_permission(self, request, object_id=None):
        return request.user.has_perm("wallet.run_ledger_verify")

    @action(description="Run now", permissions=["run_ledger_verify"], icon="fact_check")
    def run_now(self, request):
        return redirect("admin:wallet_ledger_verify_run")


# --- console views, navigation, tiles --------------------------------------------------------

console.register_view(
    "wallet/adjustments/new/",
    views.adjustment_create_view,
    "wallet_adjustment_create",
    "wallet.post_adjustment",
)
console.register_view(
    "wallet/players/<int:player_id>/statement.csv",
    views.statement_export_view,
    "wallet_statement_export",
    "wallet.export_statement",
    player_id="player",
)
console.register_view(
    "wallet/ledger-verify/run/",
    views.ledger_verify_run_view,
    "wallet_ledger_verify_run",
    "wallet.run_ledger_verify",
)

N = console.NavItem
for item in [
    N("Money", "Accounts", "admin:wallet_account_changelist", "wallet.view_account", "account_balance", 10),
    N(
        "Money",
        "Transactions",
        "admin:wallet_transaction_changelist",
        "wallet.view_transaction",
        "receipt_long",
        20,
    ),
    N(
        "Money",
        "Manual adjustment",
        "admin:wallet_adjustment_create",
        "wallet.post_adjustment",
        "edit_note",
        30,
    ),
    N(
        "Money",
        "Ledger verify runs",
        "admin:wallet_ledgerverifyrun_changelist",
        "wallet.view_ledgerverifyrun",
        "fact_check",
        40,
    ),
]:
    console.register_nav(item)


def _ledger_tile(request) -> dict:
    last = LedgerVerifyRun.objects.filter(state=LedgerVerifyRun.State.DONE).first()
    return {"run": last, "href": reverse("admin:wallet_ledgerverifyrun_changelist")}


console.register_tile(
    console.Tile("ledger", "wallet/tiles/ledger.html", "wallet.view_ledgerverifyrun", _ledger_tile, 50)
)

register_tab(
    PlayerTab(
        "balances",
        "Balances",
        "wallet/tabs/balances.html",
        "wallet.view_player_balances",
        views.balances_context,
        order=15,
    )
)
register_tab(
    PlayerTab(
        "statement",
        "Statement",
        "wallet/tabs/statement.html",
        "wallet.view_player_statement",
        views.statement_context,
        order=30,
    )
)
