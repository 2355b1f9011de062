"""Provider settings per market: enabled, amount limits, and the fee the provider charges.

Deposits (services.deposit_start) and withdrawals (withdrawals.withdrawal_request) ask
`provider_terms` before creating a payment; the fee it computes is recorded on the
payment and booked to house_fees by the ledger (the player is never charged it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.forms.models import model_to_dict

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.money import Money

from .models import ProviderSetting

DISABLED = "{provider} is not available in {market}."
BELOW_MINIMUM = "The minimum {kind} through {provider} is {limit}."
ABOVE_MAXIMUM = "The maximum {kind} through {provider} is {limit}."
MIN_ABOVE_MAX = "The minimum is above the maximum."

_AUDITED = [
    "enabled",
    "min_deposit",
    "max_deposit",
    "min_withdrawal",
    "max_withdrawal",
    "deposit_fee_fixed",
    "deposit_fee_bp",
    "withdrawal_fee_fixed",
    "withdrawal_fee_bp",
]


@dataclass(frozen=True)
class Terms:
    setting: ProviderSetting | None
    fee: int  # minor units, what the provider charges us for this payment


def setting_for(*, provider: str, market: str, currency: str) -> ProviderSetting | None:
    """The market's own row, else the all-markets row ("" market), else None."""
    rows = {
        s.market: s
        for s in ProviderSetting.objects.filter(provider=provider, currency=currency, market__in=[market, ""])
    }
    return rows.get(market) or rows.get("")


def fee(setting: ProviderSetting | None, kind: str, amount: int) -> int:
    """Fixed part + basis points of the amount, rounded half up, and always below the
    amount (a fee that eats the whole payment is a configuration error, not a charge)."""
    if setting is None:
        return 0
    fixed, bp = (
        (setting.deposit_fee_fixed, setting.deposit_fee_bp)
        if kind == "deposit"
        else (setting.withdrawal_fee_fixed, setting.withdrawal_fee_bp)
    )
    value = fixed + (amount * bp + 5000) // 10000
    return value if value < amount else 0


def provider_terms(*, provider: str, player, kind: str, amount: int) -> Terms:
    """Refuse a provider switched off in the player's market (provider_disabled, 403) or an
    amount outside its limits (amount_below_minimum / amount_above_maximum, 400); else
    the fee. No setting: enabled, no limits, no fee."""
    setting = setting_for(provider=provider, market=player.jurisdiction, currency=player.currency)
    if setting is None:
        return Terms(None, 0)
    name = setting.get_provider_display()
    if not setting.enabled:
        raise DomainError(
            "provider_disabled",
            DISABLED.format(provider=name, market=player.jurisdiction),
            field="provider",
            status=403,
        )
    low, high = (
        (setting.min_deposit, setting.max_deposit)
        if kind == "deposit"
        else (setting.min_withdrawal, setting.max_withdrawal)
    )
    if low is not None and amount < low:
        raise DomainError(
            "amount_below_minimum",
            BELOW_MINIMUM.format(kind=kind, provider=name, limit=Money(low, setting.currency)),
            field="amount",
        )
    if high is not None and amount > high:
        raise DomainError(
            "amount_above_maximum",
            ABOVE_MAXIMUM.format(kind=kind, provider=name, limit=Money(high, setting.currency)),
            field="amount",
        )
    return Terms(setting, fee(setting, kind, amount))


@transaction.atomic
def provider_setting_save(*, setting: ProviderSetting, actor) -> ProviderSetting:
    """Create or change a provider setting (the console's form), audited with what changed."""
    for low, high in (("min_deposit", "max_deposit"), ("min_withdrawal", "max_withdrawal")):
        lo, hi = getattr(setting, low), getattr(setting, high)
        if lo is not None and hi is not None and lo > hi:
            raise DomainError("min_above_max", MIN_ABOVE_MAX, field=low)
    before = {}
    if setting.pk:
        old = ProviderSetting.objects.select_for_update().get(pk=setting.pk)
        before = model_to_dict(old, fields=_AUDITED)
    setting.updated_by = actor
    setting.save()
    after = model_to_dict(setting, fields=_AUDITED)
    audit.record(
        actor=actor,
        action="payments.provider_setting.create" if not before else "payments.provider_setting.change",
        target=setting,
        before={k: v for k, v in before.items() if after.get(k) != v},
        after={k: v for k, v in after.items() if before.get(k) != v} if before else after,
    )
    return setting
