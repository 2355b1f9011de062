"""Pay N Play sessions: the beat task expires `started` sessions past their expiry (frozen
time), each audited; the console lists them read-only for finance and compliance."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from backoffice.models import AuditEvent
from payments.models import PayNPlaySession
from payments.tasks import paynplay_sessions_expire_task

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _session(state="started", expires_in=timedelta(hours=2), **kw) -> PayNPlaySession:
    return PayNPlaySession.objects.create(
        provider="trustly",
        jurisdiction="SE",
        amount=10000,
        currency="SEK",
        state=state,
        created_at=NOW,
        expires_at=NOW + expires_in,
        **kw,
    )


def test_the_task_expires_started_sessions_past_their_expiry_once():
    with time_machine.travel(NOW, tick=False):
        due, fresh, refused = _session(), _session(expires_in=timedelta(hours=3)), _session(state="refused")
    with time_machine.travel(NOW + timedelta(hours=2, seconds=1), tick=False):
        assert paynplay_sessions_expire_task() == 1
        assert paynplay_sessions_expire_task() == 0  # beat runs again: nothing left
    states = {s.pk: (s.state, s.code) for s in PayNPlaySession.objects.all()}
    assert states[due.pk] == ("expired", "session_expired")
    assert states[fresh.pk] == ("started", "") and states[refused.pk] == ("refused", "")
    events = AuditEvent.objects.filter(action="payments.paynplay.expire")
    assert [e.target_id for e in events] == [str(due.pk)]
    assert events[0].actor is None and events[0].after == {"state": "expired", "code": "session_expired"}


def test_a_session_is_not_expired_before_its_time():
    with time_machine.travel(NOW, tick=False):
        s = _session()
    with time_machine.travel(NOW + timedelta(hours=1, minutes=59), tick=False):
        assert paynplay_sessions_expire_task() == 0
    s.refresh_from_db()
    assert s.state == "started"


def test_the_schedule_is_in_the_database():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Pay N Play session expiry")
    assert task.task == "payments.paynplay_sessions_expire" and task.enabled and task.interval.every == 15


@pytest.mark.parametrize("role,allowed", [("finance", True), ("compliance", True), ("support", False)])
def test_the_console_lists_sessions_read_only_for_finance_and_compliance(
    client, operators, role, allowed, django_assert_max_num_queries
):
    for _ in range(5):
        _session()
    client.force_login(operators[role])
    url = "/admin/payments/paynplaysession/"
    if not allowed:
        assert client.get(url).status_code == 403
        return
    with django_assert_max_num_queries(25):
        r = client.get(url)
    assert r.status_code == 200 and b"Pay N Play" in r.content
    s = PayNPlaySession.objects.first()
    assert client.get(f"{url}{s.pk}/change/").status_code == 200
    assert client.get(f"{url}add/").status_code == 403
    r = client.post(f"{url}{s.pk}/change/", {"state": "identified"})
    s.refresh_from_db()
    assert s.state == "started"
