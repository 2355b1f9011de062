import socket

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from .models import Heartbeat


@shared_task(name="backoffice.heartbeat")
def heartbeat_task() -> str:
    """Scheduled every minute by beat: the dashboard shows when it last ran."""
    now = timezone.now()
    updated = Heartbeat.objects.filter(name="celery").update(
        last_seen=now, hostname=socket.gethostname(), runs=F("runs") + 1
    )
    if not updated:
        Heartbeat.objects.get_or_create(
            name="celery", defaults={"last_seen": now, "hostname": socket.gethostname(), "runs": 1}
        )
    return now.isoformat()
