"""AML scans from the console: Scan now / Full rescan create a queued run at once and the
worker runs it; one scan at a time (queued or running); a queued run nobody starts is
abandoned; the run's page and the list show rules done out of rules planned, and the page
polls only while the run is queued or running."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.celery import app
from backoffice.models import AuditEvent
from compliance.aml import services
from compliance.aml.rules import RULES
from compliance.models import AmlAlert, AmlRuleConfig, AmlScanRun
from compliance.tasks import aml_scan_run_task
from wallet.tests.factories import PlayerFactory

from .ledger import post

pytestmark = pytest.mark.django_db

START = reverse("admin:compliance_aml_scan_start")
LIST = reverse("admin:compliance_amlscanrun_changelist")


def _page(run: AmlScanRun) -> str:
    return reverse("admin:compliance_aml_scan", args=[run.pk])


def _fragment(run: AmlScanRun) -> str:
    return reverse("admin:compliance_aml_scan_progress", args=[run.pk])


def _enabled() -> int:
    return AmlRuleConfig.objects.filter(enabled=True, code__in=list(RULES)).count()


@pytest.fixture
def eager():
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _large_depositor():
    player = PlayerFactory()
    post(player, "deposit", 600_000)  # EUR 6,000: one large single deposit
    return player


# --- starting ------------------------------------------------------------------------------


def test_support_cannot_start_a_scan_and_compliance_can(
    client, operators, django_capture_on_commit_callbacks
):
    client.force_login(operators["support"])
    assert client.post(START, {"full": "1"}).status_code == 403
    assert not AmlScanRun.objects.exists()

    client.force_login(operators["compliance"])
    with django_capture_on_commit_callbacks() as callbacks:
        r = client.post(START, {"full": "1"})
    run = AmlScanRun.objects.get()
    assert r.status_code == 302 and r["Location"] == _page(run)
    assert run.state == "queued" and run.full and run.requested_by == operators["compliance"]
    assert len(callbacks) == 1  # the task is queued after commit, with the run's id
    event = AuditEvent.objects.get(action="compliance.aml_scan.request")
    assert event.target_id == str(run.pk) and event.after == {"full": True, "state": "queued"}
    # The operator lands on the run's page, which polls while it waits for a worker.
    page = client.get(r["Location"]).content.decode()
    assert "Queued" in page and f'hx-get="{_fragment(run)}"' in page and "waiting for a worker" in page


def test_the_buttons_show_only_to_operators_who_may_start(client, operators):
    client.force_login(operators["compliance"])
    page = client.get(LIST).content.decode()
    assert "Scan now" in page and "Full rescan" in page
    client.force_login(operators["admin"])
    assert "Full rescan" in client.get(LIST).content.decode()  # administrators own the schedule
    client.force_login(operators["risk"])
    assert client.get(LIST).status_code == 403


def test_a_started_scan_runs_on_the_task_and_its_page_shows_the_counts(
    client, operators, eager, django_capture_on_commit_callbacks
):
    player = _large_depositor()
    client.force_login(operators["compliance"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(START, {"full": "0"})
    run = AmlScanRun.objects.get()
    assert r["Location"] == _page(run)
    # No done scan before it: "Scan now" is a full scan.
    assert run.state == "done" and run.full and run.counts["large_deposit"] == 1
    assert run.started_at and run.finished_at and run.watermark["posting_id"] > 0
    assert AmlAlert.objects.get(player=player, rule="large_deposit").scan_run == run
    assert len(run.counts) == _enabled()

    page = client.get(_page(run)).content.decode()
    n = len(run.counts)
    assert f"{n}/{n} rules" in page and "Large single deposit" in page and _fragment(run) not in page
    assert "Full rescan" in page  # the next one can start from here

    # The next "Scan now" is incremental from this run's watermark.
    _large_depositor()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(START, {"full": "0"})
    second = AmlScanRun.objects.latest("id")
    assert not second.full and second.since_watermark == run.watermark
    assert second.players_in_scope == 1 and second.counts["large_deposit"] == 1


def test_a_second_start_while_one_is_queued_is_refused(client, operators, django_capture_on_commit_callbacks):
    client.force_login(operators["compliance"])
    client.post(START, {"full": "0"})
    first = AmlScanRun.objects.get()
    with django_capture_on_commit_callbacks() as callbacks:
        r = client.post(START, {"full": "1"}, follow=True)
    assert AmlScanRun.objects.count() == 1 and not callbacks
    assert services.SCAN_BUSY.format(run=first.pk) in r.content.decode()
    assert AuditEvent.objects.filter(action="compliance.aml_scan.request").count() == 1
    # The start page says which one is in the way.
    assert f"#{first.pk}</a> is queued" in client.get(START).content.decode()
    # Nor does the schedule start a scan of its own: the queued one will cover the data.
    with pytest.raises(services.DomainError) as exc:
        services.aml_scan_run()
    assert exc.value.code == "aml_scan_running"
    assert aml_scan_run_task() == {"skipped": "aml_scan_running", "run": None}


def test_a_start_while_one_is_running_is_refused(operators):
    running = AmlScanRun.objects.create(
        state="running", started_at=datetime.now(UTC), heartbeat_at=datetime.now(UTC)
    )
    with pytest.raises(services.DomainError) as exc:
        services.aml_scan_request(full=True, actor=operators["compliance"])
    assert exc.value.message == services.SCAN_BUSY.format(run=running.pk) and exc.value.status == 409
    assert AmlScanRun.objects.count() == 1


def test_a_queued_run_nobody_starts_is_abandoned_and_its_late_task_does_nothing(operators):
    t0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with time_machine.travel(t0, tick=False):
        stuck = services.aml_scan_request(full=False, actor=operators["compliance"])
    with time_machine.travel(t0 + services.QUEUED_STALE_AFTER - timedelta(seconds=1), tick=False):
        with pytest.raises(services.DomainError):
            services.aml_scan_request(full=False, actor=operators["compliance"])
    later = time_machine.travel(t0 + services.QUEUED_STALE_AFTER + timedelta(seconds=1), tick=False)
    with later:
        fresh = services.aml_scan_request(full=True, actor=operators["compliance"])
        stuck.refresh_from_db()
        assert stuck.state == "failed" and "no worker started this scan" in stuck.error and stuck.finished_at
        assert fresh.state == "queued"
        # The abandoned run's task arriving late changes nothing; the fresh one runs.
        assert aml_scan_run_task(run_id=stuck.pk) == {"skipped": "aml_scan_not_queued", "run": stuck.pk}
        stuck.refresh_from_db()
        assert stuck.state == "failed" and stuck.counts == {}
        assert aml_scan_run_task(run_id=fresh.pk)["run"] == fresh.pk
    assert AmlScanRun.objects.get(pk=fresh.pk).state == "done"


def test_a_retried_task_does_not_run_the_scan_twice(operators):
    _large_depositor()
    run = services.aml_scan_request(full=True, actor=operators["compliance"])
    assert aml_scan_run_task(run_id=run.pk)["created"]["large_deposit"] == 1
    done = AmlScanRun.objects.get(pk=run.pk)
    assert aml_scan_run_task(run_id=run.pk) == {"skipped": "aml_scan_not_queued", "run": run.pk}
    again = AmlScanRun.objects.get(pk=run.pk)
    assert (again.state, again.counts, again.finished_at) == ("done", done.counts, done.finished_at)


def test_a_queued_run_that_meets_a_running_scan_fails_clearly(operators):
    run = services.aml_scan_request(full=True, actor=operators["compliance"])
    # The schedule's scan slipped in between the request and the task.
    other = AmlScanRun.objects.create(
        state="running", started_at=datetime.now(UTC), heartbeat_at=datetime.now(UTC)
    )
    assert aml_scan_run_task(run_id=run.pk) == {"skipped": "aml_scan_running", "run": run.pk}
    run.refresh_from_db()
    assert run.state == "failed" and run.error == services.SCAN_COLLIDED.format(run=other.pk)


def test_a_run_abandoned_while_it_works_is_never_marked_done(monkeypatch, operators):
    run = services.aml_scan_request(full=True, actor=operators["compliance"])
    real = RULES["many_methods"].findings

    def abandoned_meanwhile(**kw):
        # Another process judged this run stale (no heartbeat for too long) and failed it.
        AmlScanRun.objects.filter(pk=run.pk).update(state="failed", error="Abandoned: the worker stopped")
        return real(**kw)

    monkeypatch.setattr(RULES["many_methods"], "findings", abandoned_meanwhile)
    result = services.aml_scan_run(run_id=run.pk)
    assert result.state == "failed" and result.watermark == {}
    # The next scan starts from the beginning again (no done watermark): it covers the gap.
    monkeypatch.undo()
    assert services.aml_scan_run().full


# --- progress --------------------------------------------------------------------------------


def test_the_fragment_shows_rules_done_out_of_planned_and_stops_polling_when_finished(client, operators):
    total = _enabled()
    run = AmlScanRun.objects.create(
        state="running",
        full=True,
        started_at=datetime.now(UTC),
        heartbeat_at=datetime.now(UTC),
        counts={"cdd_threshold": 2, "structuring": 0},
    )
    client.force_login(operators["compliance"])
    r = client.get(_fragment(run))
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html  # a fragment, not a page
    assert f"2/{total} rules" in html and 'aria-valuenow="2"' in html
    assert f'hx-get="{_fragment(run)}"' in html and 'hx-trigger="every 1s"' in html
    assert "CDD threshold crossed" in html and "pending" in html
    # A rule switched off mid-scan that has not run leaves the plan.
    AmlRuleConfig.objects.filter(code="many_methods").update(enabled=False)
    assert f"2/{total - 1} rules" in client.get(_fragment(run)).content.decode()

    AmlScanRun.objects.filter(pk=run.pk).update(
        state="failed", error="RuntimeError('database went away')", finished_at=datetime.now(UTC)
    )
    html = client.get(_fragment(run)).content.decode()
    assert "Failed" in html and "database went away" in html and "hx-get" not in html
    assert "not run" in html and "not advanced" in html

    AmlScanRun.objects.filter(pk=run.pk).update(state="done", error="", watermark={"posting_id": 9})
    html = client.get(_fragment(run)).content.decode()
    assert "2/2 rules" in html and "hx-get" not in html and "posting_id 9" in html


def test_scan_list_shows_progress_with_a_fixed_number_of_queries(
    client, operators, django_assert_max_num_queries
):
    client.force_login(operators["compliance"])
    AmlScanRun.objects.create(state="done", full=True, counts={"cdd_threshold": 1})
    client.get(LIST)  # the session's second-factor check happens once
    with CaptureQueriesContext(connection) as small:
        assert client.get(LIST).status_code == 200
    for i in range(6):
        AmlScanRun.objects.create(
            state="failed", requested_by=operators["compliance"], counts={"cdd_threshold": i}, error="x"
        )
    AmlScanRun.objects.create(state="running", started_at=datetime.now(UTC), counts={"structuring": 1})
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as large:
        r = client.get(LIST)
    assert len(large.captured_queries) == len(small.captured_queries)
    html = r.content.decode()
    assert 'role="progressbar"' in html and f"1/{_enabled()}" in html and "1/1" in html
    run = AmlScanRun.objects.latest("id")
    assert f'href="{_page(run)}"' in html


# --- a real worker ---------------------------------------------------------------------------


@pytest.fixture
def rule_settings(transactional_db):
    """The rules' settings rows as the data migration seeds them: a transactional test
    starts from tables an earlier one may have flushed."""
    for rule in RULES.values():
        AmlRuleConfig.objects.get_or_create(
            code=rule.code, defaults={"title": rule.title, "severity": rule.severity, "params": rule.params}
        )


@pytest.fixture
def sent_tasks(monkeypatch):
    """The AsyncResult of each scan task the code under test sends (the real send, only
    recorded), so a test waits on the worker's own answer instead of polling."""
    sent = []
    real = aml_scan_run_task.delay

    def delay(*args, **kwargs):
        result = real(*args, **kwargs)
        sent.append(result)
        return result

    monkeypatch.setattr(aml_scan_run_task, "delay", delay)
    return sent


def _wait_done(run_id: int, sent: list, seconds: float = 60) -> AmlScanRun:
    """Block until the worker reports the scan task finished (the result backend), then
    read the run."""
    assert len(sent) == 1, "the start sent no scan task"
    sent[0].get(timeout=seconds)
    return AmlScanRun.objects.get(pk=run_id)


@pytest.mark.postgres
def test_the_worker_runs_a_scan_started_from_the_console(
    celery_worker_process, rule_settings, client, operators, sent_tasks
):
    player = _large_depositor()
    client.force_login(operators["compliance"])
    r = client.post(START, {"full": "1"})
    run = AmlScanRun.objects.get()
    assert r["Location"] == _page(run)
    run = _wait_done(run.pk, sent_tasks)
    assert run.state == "done", run.error
    assert run.counts["large_deposit"] == 1 and len(run.counts) == _enabled()
    assert AmlAlert.objects.filter(player=player, rule="large_deposit", scan_run=run).exists()
    n = len(run.counts)
    assert f"{n}/{n} rules" in client.get(_fragment(run)).content.decode()


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_compliance_officer_starts_a_full_rescan_and_watches_it_finish(
    celery_worker_process, rule_settings, page, live_server, operators
):
    from playwright.sync_api import expect

    from tests.e2e.test_approvals import sign_in
    from tests.e2e.test_console_signin import _shot

    _large_depositor()
    sign_in(page, live_server.url, "compliance@pitboss.test")
    page.get_by_role("link", name="AML scans").click()
    page.get_by_role("button", name="Full rescan").click()
    expect(page).to_have_url(re.compile(r"/admin/compliance/aml-scans/\d+/$"))
    expect(page.get_by_text("queued; this page follows its progress")).to_be_visible()
    # htmx swaps the progress fragment until the worker has finished.
    expect(page.get_by_test_id("aml-scan-state")).to_have_text("Done", timeout=60_000)
    n = _enabled()
    expect(page.get_by_test_id("aml-scan-fraction")).to_have_text(f"{n}/{n} rules")
    expect(page.get_by_test_id("aml-scan-rules")).to_contain_text("Large single deposit")
    _shot(page, "aml-scan-done")
    run = AmlScanRun.objects.get()
    assert run.state == "done" and run.full and run.counts["large_deposit"] == 1
