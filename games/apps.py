from django.apps import AppConfig


class GamesConfig(AppConfig):
    name = "games"
    verbose_name = "Games"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The wallet API's records join the ledger's nightly verification.
        from wallet import verify

        from .verify import CHECKS

        verify.CHECKS.extend(c for c in CHECKS if c not in verify.CHECKS)
