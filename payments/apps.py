from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            checks,  # noqa: F401 - registers the deploy checks
            withdrawals,  # noqa: F401 - registers the withdrawal four-eyes approval
        )
