from django.conf import settings
from django.core.checks import Error, register

from .national_id import INSECURE_DEFAULT_PREFIX


@register("security", deploy=True)
def national_id_key_check(app_configs, **kwargs):
    key = getattr(settings, "NATIONAL_ID_KEY", "")
    if not key or key.startswith(INSECURE_DEFAULT_PREFIX) or len(key) < 32:
        return [
            Error(
                "NATIONAL_ID_KEY is the insecure development default or shorter than 32 characters.",
                hint="Set NATIONAL_ID_KEY to a long random secret (e.g. `openssl rand -base64 48`); "
                "keep it with the database backups: without it national ids cannot be read.",
                id="players.E001",
            )
        ]
    return []
