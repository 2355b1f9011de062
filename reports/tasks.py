from celery import shared_task

from .rollups import rollup_finalise, rollup_refresh


@shared_task(name="reports.rollup_refresh", acks_late=True)
def rollup_refresh_task() -> list[dict]:
    """Every minute (beat): today's rollups, and yesterday's until finalised. Safe to
    redeliver or overlap: each day is recomputed whole under its row lock."""
    return [
        {"day": str(r.day), "skipped": r.skipped, "missing_rates": r.missing_rates} for r in rollup_refresh()
    ]


@shared_task(name="reports.rollup_finalise", acks_late=True)
def rollup_finalise_task() -> dict:
    """Nightly (beat, 01:15 UTC): recompute yesterday and mark it final."""
    r = rollup_finalise()
    return {"day": str(r.day), "final": r.final, "missing_rates": r.missing_rates}
