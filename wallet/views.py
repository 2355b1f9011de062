"""Wallet console views (manual adjustment, statement CSV, "Run now" for ledger verify)
and the player page's Balances and Statement tabs. Every write calls a service and
shows its DomainError as a message."""

import csv
import uuid

from django import forms
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.models import ApprovalRequest
from backoffice.money import Money, MoneyField
from backoffice.views import admin_context
from players.models import Player

from . import selectors, services
from .models import Transaction
from .verify import ledger_verify_request

STATEMENT_PAGE_SIZE = 50


class AdjustmentForm(ConsoleForm):
    player = forms.CharField(label="Player id", help_text="The public id, e.g. P7K3M9Q2X4.")
    direction = forms.ChoiceField(choices=[("credit", "Credit the player"), ("debit", "Debit the player")])
    amount = MoneyField(help_text="In the player's currency, e.g. 12.50.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    reference = forms.CharField(max_length=200, help_text="Ticket, case or complaint number.")
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def clean_player(self) -> Player:
        # Cleaned before `amount`, which then parses in the player's currency.
        public_id = self.cleaned_data["player"].strip().upper()
        player = Player.objects.filter(public_id=public_id).first()
        if player is None:
            raise forms.ValidationError("No player with this id.")
        self.fields["amount"].currency = player.currency
        return player


def adjustment_create_view(request):
    initial = {"player": request.GET.get("player", ""), "idempotency_key": f"adjustment:{uuid.uuid4()}"}
    form = AdjustmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            result = services.adjustment_request(
                player_id=d["player"].pk,
                amount=d["amount"],
                direction=d["direction"],
                reason=d["reason"],
                reference=d["reference"],
                actor=request.user,
                idempotency_key=d["idempotency_key"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if isinstance(result, ApprovalRequest):
                messages.warning(
                    request,
                    f"{d['amount']} needs a second operator's approval: request #{result.pk} created.",
                )
            else:
                messages.success(
                    request, f"{d['amount']} posted to {d['player'].public_id} (transaction #{result.pk})."
                )
            return redirect("admin:wallet_adjustment_create")
    threshold = services.adjustment_threshold_minor()
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title="Manual adjustment",
            form=form,
            submit_label="Post adjustment",
            intro=(
                f"Credits or debits the player's cash against the house adjustments account. Amounts of "
                f"{threshold} minor units or more (e.g. {Money(threshold, 'EUR')}) need a second operator's approval."
            ),
        ),
    )


def _csv_rows(player: Player, filters: dict):
    yield ["posted_at", "transaction", "kind", "account", "amount", "balance_after", "currency", "reference"]
    qs = selectors.statement(
        player, date_from=filters.get("st_from"), date_to=filters.get("st_to"), kind=filters.get("st_kind")
    )
    for p in qs.iterator(chunk_size=2000):
        cur = p.account.currency
        yield [
            p.created_at.isoformat(),
            p.transaction_id,
            p.transaction.kind,
            p.account.kind,
            Money(p.amount, cur).to_decimal_string(),
            Money(p.balance_after, cur).to_decimal_string() if p.balance_after is not None else "",
            cur,
            p.transaction.reference,
        ]


class _Echo:
    def write(self, value):
        return value


def statement_export_view(request, player_id: int):
    """The statement as CSV with the screen's filters (date, kind), streamed (constant
    memory, whatever its length)."""
    player = get_object_or_404(Player, pk=player_id)
    f = StatementFilter(request.GET)
    filters = f.cleaned_data if f.is_valid() else {}
    audit.record(
        actor=request.user,
        action="wallet.statement.export",
        target=player,
        after={k: str(v) for k, v in filters.items() if v},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(r) for r in _csv_rows(player, filters)), content_type="text/csv"
    )
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="statement-{player.public_id}-{stamp}.csv"'
    return response


def ledger_verify_run_view(request):
    form = ConsoleForm(request.POST or None)
    if request.method == "POST":
        run = ledger_verify_request(actor=request.user)
        messages.success(request, f"Ledger verification #{run.pk} queued; it appears below when done.")
        return redirect("admin:wallet_ledgerverifyrun_changelist")
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title="Verify the ledger now",
            form=form,
            submit_label="Run now",
            intro="Checks every ledger invariant in the background; the nightly run does the same at 03:00 UTC.",
        ),
    )


# --- player page tabs ----------------------------------------------------------------------


def balances_context(request, player) -> dict:
    may_adjust = request.user.has_perm("wallet.post_adjustment")
    return {
        "balances": selectors.player_balances(player),
        "adjust_url": f"{reverse('admin:wallet_adjustment_create')}?player={player.public_id}"
        if may_adjust
        else "",
    }


class StatementFilter(forms.Form):
    st_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    st_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    st_kind = forms.ChoiceField(
        required=False, label="Kind", choices=[("", "All"), *Transaction.Kind.choices]
    )


def _filter_query(request) -> str:
    keep = request.GET.copy()
    for k in list(keep):
        if k not in ("st_from", "st_to", "st_kind"):
            del keep[k]
    return keep.urlencode()


def statement_context(request, player) -> dict:
    """One page of postings, newest first, with the running balance. Two queries whatever
    the history: no COUNT, one row more than the page tells whether an older page exists."""
    f = StatementFilter(request.GET)
    d = f.cleaned_data if f.is_valid() else {}
    try:
        page = max(1, int(request.GET.get("st_page", 1)))
    except ValueError:
        page = 1
    qs = selectors.statement(
        player, date_from=d.get("st_from"), date_to=d.get("st_to"), kind=d.get("st_kind")
    )
    start = (page - 1) * STATEMENT_PAGE_SIZE
    rows = list(qs[start : start + STATEMENT_PAGE_SIZE + 1])
    query = request.GET.copy()
    query["tab"] = "statement"

    def page_url(n: int) -> str:
        query["st_page"] = n
        return f"?{query.urlencode()}"

    may_export = request.user.has_perm("wallet.export_statement")
    return {
        "filter": f,
        "postings": rows[:STATEMENT_PAGE_SIZE],
        "page": page,
        "newer_url": page_url(page - 1) if page > 1 else "",
        "older_url": page_url(page + 1) if len(rows) > STATEMENT_PAGE_SIZE else "",
        "export_url": (
            f"{reverse('admin:wallet_statement_export', args=[player.pk])}?{_filter_query(request)}"
            if may_export
            else ""
        ),
    }
