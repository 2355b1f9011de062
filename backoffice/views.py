import logging

from django.contrib import admin
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


class ReadOnlyAdminMixin:
    """For models whose changes go through services: the admin shows, never writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def admin_context(request, **extra) -> dict:
    """The context a custom console page needs to render inside the admin layout."""
    return {**admin.site.each_context(request), **extra}


def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Readiness: the database and the Celery broker are reachable; 503 otherwise."""
    checks = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        logger.warning("readyz: database unreachable: %s", exc)
        checks["database"] = "unreachable"
    try:
        from backoffice.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:
        logger.warning("readyz: broker unreachable: %s", exc)
        checks["broker"] = "unreachable"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
