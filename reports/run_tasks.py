"""Celery entry points for report runs (thin: ids in, one service call). Registered under
explicit names; the worker imports this module through the reports console (reports/admin.py
is loaded by the admin's autodiscovery in every process, the worker's included)."""

from celery import shared_task

from . import runs


@shared_task(name="reports.report_run_generate", acks_late=True)
def report_run_generate_task(*, run_id: int) -> dict:
    run = runs.report_run_execute(run_id=run_id)
    return {"run": run.pk, "state": run.state}


@shared_task(name="reports.report_run_scheduled", acks_late=True)
def report_run_scheduled_task(
    *, key: str, period: str, formats: list[str], params: dict | None = None
) -> dict:
    """Beat (reports/migrations/0003): the monthly MGA returns and the daily finance pack."""
    run = runs.report_run_scheduled(key=key, period=period, formats=formats, params=params)
    return {"run": run.pk, "state": run.state}
