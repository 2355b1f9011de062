from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo casino: seed_demo (years of coherent history) and simulate (live traffic
    through the real HTTP interfaces)."""

    name = "demo"
    verbose_name = "Demo casino"
    default_auto_field = "django.db.models.BigAutoField"
