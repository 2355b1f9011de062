from celery import shared_task

from .verify import ledger_verify_run


@shared_task(name="wallet.ledger_verify", acks_late=True)
def ledger_verify_task(run_id: int | None = None) -> dict:
    """Nightly (beat, 03:00 UTC) or "Run now". Safe to redeliver: a queued run is claimed
    once; a scheduled run (no run_id) is a new row each time."""
    run = ledger_verify_run(run_id=run_id)
    return {"run_id": run.pk, "ok": run.ok, "violations": len(run.violations)}
