"""Adapters by provider code. A provider whose adapter is not built yet answers
DomainError provider_unavailable (the deposit API's 400)."""

from backoffice.errors import DomainError

from .base import ProviderAdapter

PROVIDER_UNAVAILABLE = "Deposits through {provider} are not available yet."


def get_adapter(code: str) -> ProviderAdapter:
    if code == "adyen":
        from .adyen import AdyenAdapter

        return AdyenAdapter()
    raise DomainError("provider_unavailable", PROVIDER_UNAVAILABLE.format(provider=code), field="provider")


def built_webhooks() -> set[str]:
    """Providers whose /webhooks/<provider>/ endpoint is live."""
    return {"adyen"}
