from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Rollups (read models kept by Celery), the live dashboard, reports and their runs."""

    name = "reports"
    verbose_name = "Reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import dashboard  # noqa: F401  (registers the dashboard tiles and their fragments)
