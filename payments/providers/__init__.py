"""Adapters by provider code."""

from importlib import import_module

from backoffice.errors import DomainError

from .base import ProviderAdapter

PROVIDER_UNAVAILABLE = "Deposits through {provider} are not available yet."

_ADAPTERS = {
    "adyen": ("adyen", "AdyenAdapter"),
    "trustly": ("trustly", "TrustlyAdapter"),
    "zimpler": ("zimpler", "ZimplerAdapter"),
    "nuvei": ("nuvei", "NuveiAdapter"),
    "payz": ("payz", "PayzAdapter"),
}


def get_adapter(code: str) -> ProviderAdapter:
    if code not in _ADAPTERS:
        raise DomainError(
            "provider_unavailable", PROVIDER_UNAVAILABLE.format(provider=code), field="provider"
        )
    module, cls = _ADAPTERS[code]
    return getattr(import_module(f"{__name__}.{module}"), cls)()


def built_webhooks() -> set[str]:
    """Providers whose /webhooks/<provider>/ endpoint is live."""
    return set(_ADAPTERS)
