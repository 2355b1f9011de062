"""`check --deploy` refuses the payment providers' published test keys."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register


@register("security", deploy=True)
def payment_keys_check(app_configs, **kwargs):
    errors = []
    for name, test_value in getattr(settings, "PAYMENTS_TEST_KEYS", {}).items():
        if getattr(settings, name, "") == test_value:
            errors.append(
                Error(
                    f"{name} is a published TEST key.", hint=f"Set {name} from the vault.", id="payments.E001"
                )
            )
    keys_dir = Path(settings.BASE_DIR) / "payments" / "sandbox" / "keys"
    for name in ("TRUSTLY_PUBLIC_KEY_FILE", "TRUSTLY_PRIVATE_KEY_FILE"):
        if Path(getattr(settings, name, "")).resolve().parent == keys_dir.resolve():
            errors.append(
                Error(
                    f"{name} points at a TEST key in payments/sandbox/keys.",
                    hint=f"Set {name}.",
                    id="payments.E002",
                )
            )
    if getattr(settings, "PAYMENTS_LOOPBACK_ONLY", False):
        errors.append(
            Error(
                "PAYMENTS_LOOPBACK_ONLY is on: no provider can be reached.",
                hint="Set PITBOSS_ENVIRONMENT=production or PAYMENTS_LOOPBACK_ONLY=false.",
                id="payments.E003",
            )
        )
    return errors
