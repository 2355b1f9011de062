"""KYC, AML, responsible gambling and complaint statistics: how many of each were raised in
the range, per status or outcome as they stand now (the current status of items raised in
the range, not a history of transitions)."""

from django.db.models import Count

from compliance.aml.case_models import AmlCase
from compliance.aml.models import AmlAlert
from compliance.models import KycDocument, RgAlert, RgInteraction
from disputes.models import Complaint
from reports import registry
from reports.registry import ChartSpec, Column, DateRangeForm, Report, Table

from .common import cutoff_as_of, range_bounds

# (area, model, time field, the field counted by, its choices' labels)
SOURCES = [
    ("KYC documents", KycDocument, "uploaded_at", "status"),
    ("AML alerts", AmlAlert, "created_at", "status"),
    ("AML cases", AmlCase, "created_at", "status"),
    ("AML case decisions", AmlCase, "created_at", "decision"),
    ("RG alerts", RgAlert, "created_at", "status"),
    ("RG interactions", RgInteraction, "created_at", "outcome"),
    ("Complaints", Complaint, "created_at", "status"),
]


def rows(p: dict):
    start, end = range_bounds(p["date_from"], p["date_to"])
    for area, model, when, field in SOURCES:
        labels = dict(model._meta.get_field(field).choices or [])
        qs = model.objects.filter(**{f"{when}__gte": start, f"{when}__lt": end})
        if field == "decision":
            qs = qs.exclude(decision="")
        for r in qs.values(field).annotate(n=Count("id")).order_by(field):
            yield {"area": area, "status": str(labels.get(r[field], r[field])), "count": r["n"]}


def build(p: dict) -> Table:
    data = list(rows(p))
    per_area: dict[str, int] = {}
    for r in data:
        per_area[r["area"]] = per_area.get(r["area"], 0) + r["count"]
    return Table(
        columns=[
            Column("area", "Area"),
            Column("status", "Status or outcome"),
            Column("count", "Count", "int"),
        ],
        rows=data,
        as_of=cutoff_as_of(range_bounds(p["date_from"], p["date_to"])[1]),
        chart=ChartSpec("bar", "area", ("count",), "Items raised per area"),
        notes=["Items raised in the range, counted by the status or outcome they have now."],
    )


registry.register(
    Report(
        key="compliance-stats",
        title="KYC, AML, RG and complaint statistics",
        description="Counts per status and outcome of KYC documents, AML alerts and cases, RG, complaints.",
        permission=registry.COMPLIANCE,
        form_class=DateRangeForm,
        build=build,
        order=70,
    )
)
