from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "Complaints"
    default_auto_field = "django.db.models.BigAutoField"
