"""Report runs: requests (permission, bad input, audit, the queued task), execution (claimed
once, files with checksums, failures recorded with no file left), the console (index, report
page, runs list with a fixed query count, run page, audited downloads), the schedules, and
`manage.py run_report`."""

import hashlib
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from reports import registry, runs
from reports.models import DailyMarket
from reports.registry import Column, DateRangeForm, Report, Table
from reports.run_models import ReportFile, ReportRun

pytestmark = pytest.mark.django_db

PARAMS = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture(autouse=True)
def storage(settings, tmp_path, monkeypatch):
    # The same place for this process and a Celery worker started by the test (which reads
    # PITBOSS_DATA_DIR from the environment it inherits).
    monkeypatch.setenv("PITBOSS_DATA_DIR", str(tmp_path))
    settings.REPORTS_STORAGE_DIR = tmp_path / "private" / "reports"
    return settings.REPORTS_STORAGE_DIR


@pytest.fixture
def day():
    return DailyMarket.objects.create(
        day=date(2026, 3, 2), market="MT", currency="EUR", bets=900_00, wins=700_00, ggr=200_00, ngr=200_00,
        bets_eur=900_00, wins_eur=700_00, ggr_eur=200_00, bonus_cost_eur=0, ngr_eur=200_00,
    )  # fmt: skip


@pytest.fixture
def flaky_report():
    """A report whose second table build fails (after the first format's file is written)."""
    calls = []

    def build(p):
        calls.append(p)
        if len(calls) > 1:
            raise RuntimeError("the replica went away")
        return Table(
            columns=[Column("a", "A")], rows=iter([{"a": "x"}]), as_of=datetime(2026, 3, 1, tzinfo=UTC)
        )

    report = registry.register(
        Report("test-flaky", "Flaky", "fails on the second format", registry.MONEY, DateRangeForm, build)
    )
    yield report
    registry._reports.pop(report.key)


# --- requests ---------------------------------------------------------------------------------


def test_request_queues_the_task_after_commit_and_audits(operators, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        run = runs.report_run_request(
            key="ggr", params=PARAMS, formats=["pdf", "csv"], actor=operators["finance"]
        )
    assert len(callbacks) == 1
    assert (run.state, run.formats, run.params["date_from"]) == ("queued", ["pdf", "csv"], "2026-03-01")
    event = AuditEvent.objects.get(action="reports.report_run.request")
    assert event.actor == operators["finance"] and event.after["key"] == "ggr"


@pytest.mark.parametrize(
    ("who", "key", "params", "formats", "code"),
    [
        ("support", "ggr", PARAMS, ["pdf"], "forbidden"),
        ("compliance", "mga-gaming-tax", PARAMS, ["pdf"], "forbidden"),
        ("finance", "nope", PARAMS, ["pdf"], "unknown_report"),
        ("finance", "ggr", PARAMS, ["docx"], "bad_format"),
        ("finance", "ggr", PARAMS, [], "no_format"),
        ("finance", "ggr", {"date_from": "2026-03-05", "date_to": "2026-03-01"}, ["pdf"], "invalid_params"),
        ("finance", "ggr", {"date_from": "yesterday", "date_to": "2026-03-01"}, ["pdf"], "invalid_params"),
        (
            "finance",
            "mga-gaming-tax",
            {"date_from": "2026-03-02", "date_to": "2026-03-31"},
            ["pdf"],
            "invalid_params",
        ),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(operators, who, key, params, formats, code):
    with pytest.raises(DomainError) as exc:
        runs.report_run_request(key=key, params=params, formats=formats, actor=operators[who])
    assert exc.value.code == code and exc.value.message
    assert (
        not ReportRun.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="reports.").exists()
    )


# --- execution --------------------------------------------------------------------------------


def test_execute_writes_each_file_with_its_checksum_once(day, storage):
    run = runs.report_run_request(key="ggr", params=PARAMS, formats=["pdf", "csv", "xlsx"], enqueue=False)
    run = runs.report_run_execute(run_id=run.pk)
    assert (run.state, run.progress, run.rows, run.error) == ("done", 100, 1, "")
    assert run.started_at <= run.finished_at and run.as_of is not None
    files = {f.format: f for f in run.files.all()}
    assert set(files) == {"pdf", "csv", "xlsx"}
    for f in files.values():
        data = (storage / f.file).read_bytes()
        assert f.size == len(data) and f.sha256 == hashlib.sha256(data).hexdigest()
    assert not list(storage.rglob("*.part"))
    # A redelivered task finds the run claimed: nothing is generated twice.
    again = runs.report_run_execute(run_id=run.pk)
    assert again.state == "done" and ReportFile.objects.filter(run=run).count() == 3


def test_a_run_left_running_by_a_dead_worker_is_taken_over_later(day):
    run = runs.report_run_request(key="ggr", params=PARAMS, formats=["csv"], enqueue=False)
    ReportRun.objects.filter(pk=run.pk).update(
        state="running", started_at=datetime(2026, 3, 1, 10, tzinfo=UTC)
    )
    with time_machine.travel(datetime(2026, 3, 1, 10, 20, tzinfo=UTC), tick=False):
        assert runs.report_run_execute(run_id=run.pk).state == "running"  # perhaps still at work
    with time_machine.travel(datetime(2026, 3, 1, 10, 31, tzinfo=UTC), tick=False):
        assert runs.report_run_execute(run_id=run.pk).state == "done"


def test_a_failure_is_recorded_and_leaves_no_file(flaky_report, storage):
    run = runs.report_run_request(key="test-flaky", params=PARAMS, formats=["csv", "pdf"], enqueue=False)
    run = runs.report_run_execute(run_id=run.pk)
    assert run.state == "failed" and "the replica went away" in run.error and run.finished_at
    assert not ReportFile.objects.filter(run=run).exists()
    assert not [p for p in storage.rglob("*") if p.is_file()]  # the CSV written first is gone too


def test_scheduled_runs_cover_the_previous_month(day):
    names = set(
        PeriodicTask.objects.filter(task="reports.report_run_scheduled").values_list("name", flat=True)
    )
    assert {"Reports: MGA gaming tax return (monthly)", "Reports: MGA player funds return (monthly)"} <= names
    assert sum("daily finance pack" in n for n in names) == 3
    with time_machine.travel(datetime(2026, 4, 2, 4, tzinfo=UTC), tick=False):
        run = runs.report_run_scheduled(key="mga-gaming-tax", period="previous_month", formats=["csv"])
    assert run.state == "done" and run.params == {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    assert run.requester == "schedule"
    assert runs.period_dates("yesterday", today=date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 2, 28))


# --- console ----------------------------------------------------------------------------------


def test_index_shows_each_role_its_reports(client, operators):
    client.force_login(operators["finance"])
    body = client.get(reverse("admin:reports_index")).content.decode()
    assert "MGA gaming tax return" in body and "Player liability" in body and "KYC, AML" not in body
    client.force_login(operators["compliance"])
    body = client.get(reverse("admin:reports_index")).content.decode()
    assert "KYC, AML, RG and complaint statistics" in body and "GGR and NGR" not in body
    client.force_login(operators["support"])
    assert client.get(reverse("admin:reports_index")).status_code == 403
    assert client.get(reverse("admin:reports_report_ggr")).status_code == 403


def test_report_page_shows_the_table_and_chart_and_generates_a_run(client, operators, day):
    client.force_login(operators["finance"])
    url = reverse("admin:reports_report_ggr")
    body = client.get(url, PARAMS).content.decode()
    assert "EUR 200.00" in body and "<svg" in body and "Generate PDF" in body
    r = client.post(url, {**PARAMS, "group_by": "market", "format": "pdf"})
    run = ReportRun.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("admin:reports_reportrun_change", args=[run.pk])
    assert run.params["group_by"] == "market" and run.requested_by == operators["finance"]


def test_report_page_refuses_bad_input_and_creates_no_run(client, operators):
    client.force_login(operators["finance"])
    url = reverse("admin:reports_report_ggr")
    body = client.get(url, {"date_from": "2026-03-05", "date_to": "2026-03-01"}).content.decode()
    assert "is after the last" in body
    r = client.post(url, {"date_from": "2026-03-05", "date_to": "2026-03-01", "format": "pdf"})
    assert r.status_code == 400 and "is after the last" in r.content.decode()
    r = client.post(url, {**PARAMS, "format": "docx"})
    assert r.status_code == 400 and "Unknown format" in r.content.decode()
    assert not ReportRun.objects.exists()


def test_csv_now_streams_and_is_audited(client, operators, day):
    client.force_login(operators["finance"])
    r = client.get(reverse("admin:reports_report_ggr"), {**PARAMS, "export": "csv"})
    assert isinstance(r, StreamingHttpResponse) and r["Content-Type"].startswith("text/csv")
    lines = b"".join(r.streaming_content).decode().splitlines()
    assert lines[1] == "2026-03-02,900.00,700.00,200.00,0.00,200.00"
    assert AuditEvent.objects.filter(action="reports.report.export_csv", actor=operators["finance"]).exists()


def test_runs_list_runs_a_fixed_number_of_queries(client, operators, django_assert_max_num_queries):
    client.force_login(operators["finance"])
    url = reverse("admin:reports_reportrun_changelist")

    def add(n):
        for _ in range(n):
            runs.report_run_request(
                key="ggr", params=PARAMS, formats=["csv"], actor=operators["finance"], enqueue=False
            )

    add(2)
    client.get(url)  # warm-up: content types and the like are cached after the first request
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    add(20)
    with django_assert_max_num_queries(25), CaptureQueriesContext(connection) as large:
        body = client.get(url).content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)
    assert body.count('role="progressbar"') == 22 and "finance@pitboss.test" in body


def test_run_page_polls_while_running_then_lists_files(client, operators, day):
    client.force_login(operators["finance"])
    run = runs.report_run_request(
        key="ggr", params=PARAMS, formats=["csv"], actor=operators["finance"], enqueue=False
    )
    page = client.get(reverse("admin:reports_reportrun_change", args=[run.pk])).content.decode()
    assert 'hx-get="' + reverse("admin:reports_reportrun_progress", args=[run.pk]) in page
    runs.report_run_execute(run_id=run.pk)
    fragment = client.get(reverse("admin:reports_reportrun_progress", args=[run.pk])).content.decode()
    f = run.files.get()
    assert "hx-get" not in fragment and "Done" in fragment and f.sha256 in fragment
    assert re.search(r"100 %", fragment)


def test_download_streams_the_file_and_is_audited(client, operators, day, storage):
    run = runs.report_run_request(
        key="ggr", params=PARAMS, formats=["csv"], actor=operators["finance"], enqueue=False
    )
    run = runs.report_run_execute(run_id=run.pk)
    f = run.files.get()
    url = reverse("admin:reports_reportfile_download", args=[f.pk])
    client.force_login(operators["finance"])
    r = client.get(url)
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    assert b"".join(r.streaming_content) == (storage / f.file).read_bytes()
    event = AuditEvent.objects.get(action="reports.report_file.download")
    assert event.actor == operators["finance"] and event.after["sha256"] == f.sha256
    # Compliance runs its statistics, not the money reports: no download, no audit row.
    client.force_login(operators["compliance"])
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:reports_reportrun_change", args=[run.pk])).status_code == 403
    assert AuditEvent.objects.filter(action="reports.report_file.download").count() == 1


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pdf", "csv", "xlsx"])
def test_run_report_command_writes_each_format(day, tmp_path, fmt):
    out = tmp_path / f"ggr.{fmt}"
    call_command(
        "run_report", "ggr", "--from", "2026-03-01", "--to", "2026-03-31", "--format", fmt, "--out", str(out)
    )
    data = out.read_bytes()
    f = ReportFile.objects.get(format=fmt)
    assert hashlib.sha256(data).hexdigest() == f.sha256 and f.run.requester == "shell"
    assert data[:4] == {"pdf": b"%PDF", "csv": b"Grou", "xlsx": b"PK\x03\x04"}[fmt]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "pdf"],
            "There is no report 'nope'",
        ),
        (["ggr", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "docx"], "Unknown format 'docx'"),
        (["ggr", "--from", "March", "--to", "2026-03-31", "--format", "csv"], "Write it as 2026-01-31"),
        (
            ["mga-gaming-tax", "--from", "2026-03-02", "--to", "2026-03-31", "--format", "csv"],
            "calendar month",
        ),
    ],
)
def test_run_report_command_refuses_bad_input(tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("run_report", *args, "--out", str(tmp_path / "x"))
    assert not ReportRun.objects.exists() and not (tmp_path / "x").exists()


# --- in a browser, with a real worker ---------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_finance_generates_a_pdf_and_a_csv_and_downloads_them(
    storage, celery_worker_process, page, live_server, operators, day
):
    from playwright.sync_api import expect

    from tests.e2e.test_approvals import sign_in
    from tests.e2e.test_console_signin import _shot

    sign_in(page, live_server.url, "finance@pitboss.test")
    page.get_by_role("link", name="Reports").first.click()
    page.get_by_test_id("report-ggr").click()
    page.locator("input[name=date_from]").fill("2026-03-01")
    page.locator("input[name=date_to]").fill("2026-03-31")
    page.get_by_test_id("report-show").click()
    expect(page.get_by_test_id("report-table")).to_contain_text("EUR 200.00")
    expect(page.get_by_test_id("report-chart").locator("svg")).to_be_visible()
    _shot(page, "report-ggr")
    report_url = page.url
    downloads = {}
    for fmt in ("pdf", "csv"):
        page.goto(report_url)
        page.get_by_role("button", name=f"Generate {fmt.upper()}").click()
        expect(page).to_have_url(re.compile(r"/admin/reports/reportrun/\d+/change/$"))
        # htmx swaps the progress fragment until the worker has finished.
        expect(page.get_by_test_id("report-run-state")).to_have_text("Done", timeout=60_000)
        _shot(page, f"report-run-{fmt}")
        with page.expect_download() as info:
            page.get_by_test_id(f"download-{fmt}").click()
        downloads[fmt] = info.value.path().read_bytes()
    assert downloads["pdf"][:4] == b"%PDF" and len(downloads["pdf"]) > 5_000
    assert downloads["csv"].decode().splitlines()[1] == "2026-03-02,900.00,700.00,200.00,0.00,200.00"
    for f in ReportFile.objects.all():
        assert hashlib.sha256(downloads[f.format]).hexdigest() == f.sha256
    assert AuditEvent.objects.filter(action="reports.report_file.download").count() == 2
