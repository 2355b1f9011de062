"""Small helpers the adapters share."""

from django.conf import settings
from django.urls import reverse

from backoffice.money import Money

from .base import MalformedNotification


def webhook_url(provider: str) -> str:
    """Our notification URL for providers that take one per request."""
    return settings.PAYMENTS_WEBHOOK_BASE_URL.rstrip("/") + reverse("payments:webhook", args=[provider])


def to_minor(value, currency: str) -> int:
    """A provider's decimal string ("20.00") in minor units; MalformedNotification if it is not one."""
    try:
        return Money.parse(str(value), currency).amount
    except (TypeError, ValueError) as exc:
        raise MalformedNotification(f"amount {value!r} {currency!r}: {exc}") from None


def decimal(amount: int, currency: str) -> str:
    return Money(amount, currency).to_decimal_string()
