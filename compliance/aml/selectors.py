"""AML reads shared by the console and the command."""

from django.db.models import QuerySet

from .models import AmlAlert


def aml_alert_queue() -> QuerySet[AmlAlert]:
    """Open alerts, most severe first, then oldest."""
    return (
        AmlAlert.objects.filter(status=AmlAlert.Status.OPEN)
        .select_related("player")
        .order_by("-severity", "created_at", "id")
    )
