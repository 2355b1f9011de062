import pytest

from backoffice.models import Heartbeat
from backoffice.tasks import heartbeat_task


@pytest.mark.postgres
def test_heartbeat_runs_on_a_real_worker_and_shows_on_the_dashboard(celery_worker_process, client, operators):
    result = heartbeat_task.delay()
    result.get(timeout=60)
    hb = Heartbeat.objects.get(name="celery")
    assert hb.runs == 1 and hb.hostname
    heartbeat_task.delay().get(timeout=60)
    hb.refresh_from_db()
    assert hb.runs == 2

    client.force_login(operators["admin"])
    r = client.get("/admin/")
    assert b"Alive" in r.content and b"tile-heartbeat" in r.content


def test_beat_schedule_for_the_heartbeat_is_in_the_database(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Heartbeat")
    assert task.task == "backoffice.heartbeat" and task.enabled and task.interval.every == 1
