from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class PitbossAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "backoffice.admin_site.PitbossAdminSite"


def _sync_roles_after_migrate(sender, **kwargs):
    # Runs once per migrate, after the last app: by then every permission exists.
    from django.apps import apps

    with_models = [a for a in apps.get_app_configs() if a.models_module is not None]
    if sender.name != with_models[-1].name:
        return
    from .roles import sync_roles

    sync_roles()


class BackofficeConfig(AppConfig):
    default = True
    name = "backoffice"
    verbose_name = "Pitboss"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import auth_audit, services  # noqa: F401  (services registers approval actions)

        auth_audit.connect()
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="pitboss_sync_roles")
