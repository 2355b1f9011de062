"""Report runs: request one (console, schedule, shell), execute it (Celery, or inline for the
command) into stored files with their SHA-256, open a file for download (audited).

Invariants:
- a run is claimed once (a conditional update QUEUED -> RUNNING touching one row), so a
  redelivered task never generates it twice;
- a run is DONE only when every requested file is written, renamed into place and
  checksummed; on any failure it is FAILED with the error, and its partial files are removed
  (no ReportFile row ever points at a half-written file);
- every request and every download writes an audit event."""

import hashlib
import logging
import shutil
from calendar import monthrange
from datetime import date, timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError

from . import registry
from .render.csvfile import write_csv
from .render.pdf import write_pdf
from .render.xlsx import write_xlsx
from .rollups import local_today
from .run_models import ReportFile, ReportRun

logger = logging.getLogger(__name__)

FORMATS = ("pdf", "csv", "xlsx")
STALE_AFTER = timedelta(minutes=30)
NOT_ALLOWED = "You may not run the report {title!r}."
BAD_FORMAT = "Unknown format {fmt!r}: choose pdf, csv or xlsx."
NO_FORMAT = "Choose at least one format: pdf, csv or xlsx."
BAD_PERIOD = "Unknown schedule period {period!r}: yesterday or previous_month."
RUN_NOT_DONE = "Run #{run} is not done: its files are not ready."


def storage_dir() -> Path:
    """Outside any public URL: files are served only through the audited download view."""
    return Path(getattr(settings, "REPORTS_STORAGE_DIR", settings.DATA_DIR / "private" / "reports"))


def _report(key: str) -> registry.Report:
    try:
        return registry.get(key)
    except LookupError as exc:
        raise DomainError("unknown_report", str(exc), field="key") from None


def _formats(formats) -> list[str]:
    formats = list(dict.fromkeys(formats or []))
    if not formats:
        raise DomainError("no_format", NO_FORMAT, field="format")
    for fmt in formats:
        if fmt not in FORMATS:
            raise DomainError("bad_format", BAD_FORMAT.format(fmt=fmt), field="format")
    return formats


def report_params_clean(*, key: str, data: dict) -> dict:
    report = _report(key)
    try:
        return report.clean(data)
    except forms.ValidationError as exc:
        raise DomainError("invalid_params", " ".join(exc.messages), field="params") from None


@transaction.atomic
def report_run_request(
    *, key: str, params: dict, formats, actor=None, label: str = "", enqueue: bool = True
) -> ReportRun:
    """Queue a run of report `key` (params as the filter form takes them). The actor must
    hold the report's permission (a schedule or the shell runs with actor None)."""
    report = _report(key)
    if actor is not None and not actor.has_perm(report.permission):
        raise DomainError("forbidden", NOT_ALLOWED.format(title=report.title))
    formats = _formats(formats)
    params = report_params_clean(key=key, data=params)
    run = ReportRun.objects.create(
        key=key, params=params, formats=formats, requested_by=actor, requested_label=label[:254]
    )
    audit.record(
        actor=actor,
        action="reports.report_run.request",
        target=run,
        after={"key": key, "params": params, "formats": formats},
        actor_label=None if actor is not None else (label or "system"),
    )
    if enqueue:
        from .run_tasks import report_run_generate_task

        transaction.on_commit(lambda: report_run_generate_task.delay(run_id=run.pk))
    return run


def _progress(run: ReportRun, value: int) -> None:
    ReportRun.objects.filter(pk=run.pk).update(progress=value)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _period(params: dict) -> str:
    a, b = params.get("date_from"), params.get("date_to")
    return f"{a} to {b}" if a != b else str(a)


def report_run_execute(*, run_id: int) -> ReportRun:
    """Generate the run's files. Claims a queued run (a no-op for a run already claimed), or
    one left RUNNING for longer than STALE_AFTER by a worker that died (the task is redelivered:
    acks_late, reject_on_worker_lost)."""
    now = timezone.now()
    claimed = (
        ReportRun.objects.filter(pk=run_id)
        .filter(
            Q(state=ReportRun.State.QUEUED)
            | Q(state=ReportRun.State.RUNNING, started_at__lt=now - STALE_AFTER)
        )
        .update(state=ReportRun.State.RUNNING, started_at=now, progress=1)
    )
    run = ReportRun.objects.select_related("requested_by").get(pk=run_id)
    if not claimed:
        return run
    folder = storage_dir() / "runs" / f"{run.created_at:%Y/%m}" / str(run.pk)
    written: list[tuple[str, Path]] = []
    try:
        report = registry.get(run.key)
        folder.mkdir(parents=True, exist_ok=True)
        context = {
            "report": report,
            "run": run,
            "params": report.describe(run.params),
            "period": _period(run.params),
            "generated_by": run.requester,
            "generated_at": timezone.now(),
        }
        as_of, rows = None, 0
        for i, fmt in enumerate(run.formats):
            # A fresh table per format: rows are an iterator, consumed once.
            table = report.table(run.params)
            as_of = table.as_of
            part = folder / f"{run.key}-{run.pk}.{fmt}.part"
            with part.open("wb") as f:
                if fmt == "csv":
                    rows = write_csv(table, f)
                elif fmt == "xlsx":
                    rows = write_xlsx(
                        table,
                        f,
                        title=report.title,
                        meta=[
                            *context["params"],
                            ("Generated by", run.requester),
                            ("Data as of", str(as_of)),
                        ],
                    )
                else:
                    rows = write_pdf(table, f, **context)
            final = part.with_suffix("")
            part.rename(final)
            written.append((fmt, final))
            _progress(run, 5 + int(90 * (i + 1) / len(run.formats)))
        with transaction.atomic():
            for fmt, path in written:
                ReportFile.objects.create(
                    run=run,
                    format=fmt,
                    file=str(path.relative_to(storage_dir())),
                    size=path.stat().st_size,
                    sha256=_sha256(path),
                )
            run.state, run.progress, run.finished_at = ReportRun.State.DONE, 100, timezone.now()
            run.as_of, run.rows = as_of, rows
            run.save(update_fields=["state", "progress", "finished_at", "as_of", "rows"])
    except Exception as exc:
        logger.exception("report run %s (%s) failed", run.pk, run.key)
        shutil.rmtree(folder, ignore_errors=True)
        run.state, run.finished_at = ReportRun.State.FAILED, timezone.now()
        run.error = f"{type(exc).__name__}: {exc}"[:4000]
        run.save(update_fields=["state", "finished_at", "error"])
    return run


def report_file_open(*, file_id: int, actor) -> tuple[ReportFile, Path]:
    """The file to stream to an operator who may run its report; audited."""
    f = ReportFile.objects.select_related("run").get(pk=file_id)
    report = _report(f.run.key)
    if not actor.has_perm(report.permission):
        raise DomainError("forbidden", NOT_ALLOWED.format(title=report.title))
    if f.run.state != ReportRun.State.DONE:
        raise DomainError("run_not_done", RUN_NOT_DONE.format(run=f.run_id))
    audit.record(
        actor=actor,
        action="reports.report_file.download",
        target=f.run,
        after={"key": f.run.key, "format": f.format, "sha256": f.sha256, "size": f.size},
    )
    return f, storage_dir() / f.file


def period_dates(period: str, *, today: date | None = None) -> tuple[date, date]:
    today = today or local_today()
    if period == "yesterday":
        d = today - timedelta(days=1)
        return d, d
    if period == "previous_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last.replace(day=monthrange(last.year, last.month)[1])
    raise DomainError("bad_period", BAD_PERIOD.format(period=period), field="period")


def report_run_scheduled(*, key: str, period: str, formats, params: dict | None = None) -> ReportRun:
    """A beat schedule's run: the period resolved today, generated in this worker."""
    date_from, date_to = period_dates(period)
    run = report_run_request(
        key=key,
        params={**(params or {}), "date_from": date_from, "date_to": date_to},
        formats=formats,
        actor=None,
        label="schedule",
        enqueue=False,
    )
    return report_run_execute(run_id=run.pk)
