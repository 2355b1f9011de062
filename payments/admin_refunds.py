"""Finance refunds a succeeded deposit (full or partial) from the payment's page: a small
form (amount in major units, a reason), a fresh sign-in, one call to
payments.refunds.deposit_refund. The provider's confirmation reverses the credit."""

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

from .models import Payment
from .refunds import deposit_refund

PERMISSION = "payments.approve_withdrawal"


class RefundForm(ConsoleForm):
    amount = forms.CharField(max_length=20, help_text="In the deposit's currency, e.g. 12.50.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason")


@sensitive
def payment_refund_view(request, payment_id: int):
    payment = get_object_or_404(Payment.objects.select_related("player"), pk=payment_id)
    refundable = payment.kind == Payment.Kind.DEPOSIT and payment.state == Payment.State.SUCCEEDED
    initial = {"amount": Money(payment.amount, payment.currency).to_decimal_string()}
    form = RefundForm(request.POST or None, initial=initial)
    if request.method == "POST" and refundable and form.is_valid():
        try:
            p = deposit_refund(
                payment_id=payment.pk,
                actor=request.user,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in ("amount", "reason") else None, exc.message)
        else:
            messages.success(request, p.status_note)
            return redirect("admin:payments_payment_change", payment.pk)
    return TemplateResponse(
        request,
        "payments/refund_form.html",
        admin_context(
            request,
            title=f"Refund {payment}",
            payment=payment,
            form=form,
            refundable=refundable,
            refund=(payment.provider_data or {}).get("refund"),
        ),
    )


console.register_view(
    "payments/payments/<int:payment_id>/refund/",
    payment_refund_view,
    "payments_payment_refund",
    PERMISSION,
    payment_id="withdrawal",
)
