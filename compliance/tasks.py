from celery import shared_task

from . import kyc, rg


@shared_task(name="compliance.limits_due_apply", acks_late=True)
def limits_due_apply_task() -> int:
    """Pending limit increases whose cooling-off has passed come into force."""
    return rg.limits_due_apply()


@shared_task(name="compliance.kyc_documents_expiring", acks_late=True)
def documents_expiring_flag_task() -> int:
    return kyc.documents_expiring_flag()


@shared_task(name="compliance.rg_markers_scan", acks_late=True)
def markers_scan_task() -> dict:
    from . import markers

    return markers.markers_scan()


@shared_task(name="compliance.cdd_check_recent", acks_late=True)
def cdd_check_recent_task() -> int:
    """Players whose deposits crossed the CDD threshold get their KYC requirement."""
    return kyc.cdd_check_recent()


@shared_task(name="compliance.screening_rescreen", acks_late=True)
def screening_rescreen_task(version_id: int | None = None) -> dict:
    """Re-screen every player when a new watch-list version arrives."""
    from .screening.services import screening_rescreen

    return screening_rescreen(version_id=version_id)


@shared_task(name="compliance.aml_scan_run", acks_late=True)
def aml_scan_run_task(full: bool = False, run_id: int | None = None) -> dict:
    """The AML scan: the scheduled one (a new run), or the queued run `run_id` started from
    the console. A retry or an overlap with a running scan is harmless: the claim refuses
    the second (a run no longer queued is skipped), and the next covers from the last done
    watermark."""
    from backoffice.errors import DomainError

    from .aml.services import aml_scan_run

    try:
        run = aml_scan_run(full=full, run_id=run_id)
    except DomainError as exc:
        return {"skipped": exc.code, "run": run_id}
    return {"run": run.pk, "created": run.counts}


@shared_task(name="compliance.risk_score_recompute_all", acks_late=True)
def risk_score_recompute_all_task() -> int:
    """Nightly: every player's risk score, in batches (history rows only on change)."""
    from .risk import risk_score_recompute_all

    return risk_score_recompute_all()
