"""Payments by provider and method, from the payment rollups: attempts and success rate per
provider and direction (attempts are counted per provider: the method is only learnt on
success, docs/reports.md), then each method's successful count, amount and fees; for
withdrawals the average time from request to paid out (from the payments themselves)."""

from django.db.models import Avg, DurationField, ExpressionWrapper, F, Sum

from payments.models import Payment
from reports import registry
from reports.models import DailyPayment
from reports.registry import ChartSpec, Column, DateRangeForm, Report, Table

from .common import currency_field, range_bounds, ratio, rollup_as_of


class PaymentsForm(DateRangeForm):
    currency = currency_field()


def _payout_hours(p: dict) -> dict[tuple, float]:
    start, end = range_bounds(p["date_from"], p["date_to"])
    qs = Payment.objects.filter(
        kind=Payment.Kind.WITHDRAWAL,
        state=Payment.State.PAID,
        state_changed_at__gte=start,
        state_changed_at__lt=end,
    )
    if p.get("currency"):
        qs = qs.filter(currency=p["currency"])
    took = ExpressionWrapper(F("state_changed_at") - F("created_at"), output_field=DurationField())
    return {
        (r["provider"], r["currency"]): r["avg"].total_seconds() / 3600
        for r in qs.values("provider", "currency").annotate(avg=Avg(took)).order_by()
        if r["avg"] is not None
    }


def rows(p: dict) -> list[dict]:
    qs = DailyPayment.objects.filter(day__gte=p["date_from"], day__lte=p["date_to"])
    if p.get("currency"):
        qs = qs.filter(currency=p["currency"])
    methods = list(
        qs.values("provider", "direction", "currency", "method")
        .annotate(
            attempts=Sum("attempts"), successes=Sum("successes"), amount=Sum("amount"), fees=Sum("fees")
        )
        .order_by("provider", "direction", "currency", "method")
    )
    hours = _payout_hours(p)
    out, groups = [], {}
    for m in methods:
        groups.setdefault((m["provider"], m["direction"], m["currency"]), []).append(m)
    for (provider, direction, currency), ms in groups.items():
        attempts, successes = sum(m["attempts"] for m in ms), sum(m["successes"] for m in ms)
        out.append(
            {
                "provider": provider,
                "method": "all methods",
                "direction": direction,
                "currency": currency,
                "attempts": attempts,
                "successes": successes,
                "success_rate": ratio(successes, attempts),
                "amount": sum(m["amount"] for m in ms),
                "fees": sum(m["fees"] for m in ms),
                "payout_hours": round(hours[(provider, currency)], 1)
                if direction == "withdrawal" and (provider, currency) in hours
                else None,
            }
        )
        for m in ms:
            if m["method"] and m["successes"]:
                out.append(
                    {
                        "provider": provider,
                        "method": m["method"],
                        "direction": direction,
                        "currency": currency,
                        "successes": m["successes"],
                        "amount": m["amount"],
                        "fees": m["fees"],
                    }
                )
    return out


COLUMNS = [
    Column("provider", "Provider"),
    Column("method", "Method"),
    Column("direction", "Direction"),
    Column("currency", "Currency"),
    Column("attempts", "Attempts", "int"),
    Column("successes", "Successful", "int"),
    Column("success_rate", "Success rate", "percent"),
    Column("amount", "Amount", "money"),
    Column("fees", "Fees", "money"),
    Column("payout_hours", "Avg. time to pay out (h)", "decimal"),
]


def build(p: dict) -> Table:
    return Table(
        columns=COLUMNS,
        rows=rows(p),
        as_of=rollup_as_of(DailyPayment, p["date_from"], p["date_to"]),
        chart=ChartSpec(
            "bar",
            "provider",
            ("successes",),
            "Successful payments per provider",
            where=(("method", "all methods"),),
        ),
        notes=[
            "Success rate: successful payments over the attempts started in the range, per provider.",
            "Time to pay out: from the withdrawal request to the provider's confirmation, paid in the range.",
        ],
    )


registry.register(
    Report(
        key="payments",
        title="Payments by provider and method",
        description="Success rates, amounts, fees and average time to pay out, per provider and method.",
        permission=registry.MONEY,
        form_class=PaymentsForm,
        build=build,
        order=30,
    )
)
