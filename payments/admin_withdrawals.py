"""Finance's withdrawal queue: the oldest request first, beside the player's deposits,
withdrawals and net position, the automatic checks with their reasons and the payout
method; approve or reject on the same page (four-eyes above the threshold). Compliance
opens it read-only. Every decision goes through payments.withdrawals."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.money import Money
from backoffice.security import sensitive
from backoffice.views import admin_context
from wallet.selectors import player_balances

from . import selectors, withdrawals
from .models import Payment


class DecisionForm(ConsoleForm):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason",
        help_text="Required to reject; recorded with an approval too.",
    )


def _decide(request, payment: Payment, form: DecisionForm) -> str | None:
    """Carry out the button pressed; the message to show, or None when the form has an error."""
    note = form.cleaned_data["note"]
    money = Money(payment.amount, payment.currency)
    if "approve" in request.POST:
        p = withdrawals.withdrawal_approve(payment_id=payment.pk, actor=request.user, note=note)
        if p.state == Payment.State.IN_REVIEW:
            return f"Withdrawal {p.reference} ({money}) awaits a second approver."
        return f"Withdrawal {p.reference} ({money}) approved: payout queued."
    if "reject" in request.POST:
        withdrawals.withdrawal_reject(payment_id=payment.pk, actor=request.user, reason=note)
        return f"Withdrawal {payment.reference} rejected: {money} returned to the player's cash."
    if "recheck" in request.POST:
        p = withdrawals.withdrawal_recheck(payment_id=payment.pk, actor=request.user)
        return f"Checks run again: {p.get_state_display().lower()}."
    if "retry" in request.POST:
        withdrawals.withdrawal_payout_retry(payment_id=payment.pk, actor=request.user)
        return f"Payout of {payment.reference} queued again."
    return None


@sensitive
def withdrawal_queue_view(request, payment_id: int | None = None):
    queue = list(selectors.withdrawal_queue()[:100])
    if payment_id:
        payment = get_object_or_404(
            Payment.objects.select_related("player", "payment_method", "approval_request__requested_by"),
            pk=payment_id,
            kind=Payment.Kind.WITHDRAWAL,
        )
    else:
        payment = next((p for p in queue if p.state == Payment.State.IN_REVIEW), None) or (
            queue[0] if queue else None
        )
    may_decide = request.user.has_perm("payments.approve_withdrawal")
    form = DecisionForm(request.POST or None)
    if payment is not None and request.method == "POST" and may_decide and form.is_valid():
        try:
            done = _decide(request, payment, form)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in ("note",) else None, exc.message)
        else:
            if done:
                messages.success(request, done)
                return redirect("admin:payments_withdrawal_review", payment_id=payment.pk)
    context = {
        "queue": queue,
        "payment": payment,
        "form": form,
        "may_decide": may_decide,
        "threshold": withdrawals.approval_threshold_minor(),
    }
    if payment is not None:
        req = payment.approval_request
        pending_req = req is not None and req.state == "pending"
        context |= {
            "checks": selectors.withdrawal_checks(payment),
            "position": selectors.player_money_position(payment.player),
            "balances": player_balances(payment.player),
            "events": payment.events.select_related("actor").order_by("at", "id"),
            "needs_second": payment.amount >= withdrawals.approval_threshold_minor(),
            "pending_request": req if pending_req else None,
            "is_requester": pending_req and req.requested_by_id == request.user.pk,
        }
    return TemplateResponse(
        request,
        "payments/withdrawal_queue.html",
        admin_context(request, title="Withdrawal queue", **context),
    )


console.register_view(
    "payments/withdrawals/queue/",
    withdrawal_queue_view,
    "payments_withdrawal_queue",
    "payments.review_withdrawal",
)
console.register_view(
    "payments/withdrawals/<int:payment_id>/review/",
    withdrawal_queue_view,
    "payments_withdrawal_review",
    "payments.review_withdrawal",
    payment_id="withdrawal",
)
console.register_nav(
    console.NavItem(
        "Payments",
        "Withdrawal queue",
        "admin:payments_withdrawal_queue",
        "payments.review_withdrawal",
        "account_balance_wallet",
        5,
    )
)


def _queue_tile(request) -> dict:
    qs = Payment.objects.filter(kind=Payment.Kind.WITHDRAWAL, state__in=["requested", "in_review"])
    oldest = qs.order_by("created_at").values_list("created_at", flat=True).first()
    return {"count": qs.count(), "oldest": oldest}


console.register_tile(
    console.Tile(
        "withdrawals", "payments/tiles/withdrawals.html", "payments.review_withdrawal", _queue_tile, 20
    )
)
