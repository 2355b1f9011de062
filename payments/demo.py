"""Demo payments for `make run`: deposits, a failed deposit, a duplicate notification, a
chargeback and withdrawals waiting for finance, loaded once.

Everything goes through the real flow, as in payments/tests: the provider sandbox doubles
(payments.sandbox) run on loopback in this process, our settings point at them for the
duration, `deposit_start` opens each deposit at its double, and the double's signed
notification is stored and processed like a webhook delivery (notification_store, then
notification_process). Withdrawals are requested through payments.withdrawals, so the
automatic checks route them to finance's queue (in review) or hold them. Players the gates
refuse are passed over, as the casino front end would."""

from __future__ import annotations

import random
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.test import override_settings

from backoffice.errors import DomainError

from .models import Payment
from .notifications import notification_process, notification_store
from .providers.base import Ack

DEMO_DEPOSITORS = 20
DEMO_MARKETS = ["MT", "FI", "GB"]
DEMO_PROVIDERS = ["adyen", "nuvei", "payz"]
DEMO_AMOUNTS = ["20.00", "25.00", "50.00", "75.00", "100.00", "150.00"]
DEMO_WITHDRAWALS_IN_REVIEW = 4


@dataclass
class DemoPayments:
    deposits: Counter = field(default_factory=Counter)  # provider -> credited deposits
    refused: int = 0  # players the gates (or a provider's terms) refused
    failed: int = 0
    duplicates: int = 0
    in_review: int = 0
    held: int = 0
    chargebacks: int = 0

    def __bool__(self) -> bool:
        return bool(self.deposits)


@contextmanager
def sandboxes():
    """The Adyen, Nuvei and Payz doubles on loopback, our settings pointing at them (what
    the adyen, nuvei and payz fixtures in payments/tests/conftest.py do); stopped after."""
    from .sandbox.adyen import AdyenSandbox
    from .sandbox.nuvei import NuveiSandbox
    from .sandbox.payz import PayzSandbox

    try:  # the tests sign with Adyen's own library (a dev requirement); else our signer
        from Adyen.util import generate_notification_sig as signer
    except ImportError:
        signer = None
    with ExitStack() as stack:
        adyen = stack.enter_context(
            AdyenSandbox(
                hmac_key_hex=settings.ADYEN_HMAC_KEY,
                api_key=settings.ADYEN_API_KEY,
                merchant_account=settings.ADYEN_MERCHANT_ACCOUNT,
                signer=signer,
            )
        )
        nuvei = stack.enter_context(NuveiSandbox(secret=settings.NUVEI_SECRET_KEY))
        payz = stack.enter_context(PayzSandbox(password=settings.PAYZ_MERCHANT_PASSWORD))
        stack.enter_context(
            override_settings(
                ADYEN_API_BASE_URL=adyen.base_url,
                NUVEI_API_BASE_URL=nuvei.base_url,
                PAYZ_API_BASE_URL=payz.base_url,
                PAYMENTS_LOOPBACK_ONLY=True,
            )
        )
        yield {"adyen": adyen, "nuvei": nuvei, "payz": payz}


def _deliver(provider: str, body: bytes, content_type: str) -> Ack:
    """One webhook delivery, as payments.views.webhook handles it (store, then process)."""
    n = notification_store(
        provider=provider,
        headers={"content-type": content_type, "user-agent": f"{provider} sandbox (demo)"},
        body=body,
        remote_addr="127.0.0.1",
    )
    return notification_process(notification_id=n.pk)


def _notify(doubles: dict, payment: Payment, *, success: bool = True) -> tuple[str, bytes, str]:
    """The double's signed notification of the payment's outcome: (provider, body, content type)."""
    amount = f"{Decimal(payment.amount) / 100:.2f}"
    if payment.provider == "adyen":
        adyen = doubles["adyen"]
        item = adyen.item(
            "AUTHORISATION",
            payment.reference,
            payment.amount,
            payment.currency,
            success=success,
            reason="" if success else "Refused",
        )
        return "adyen", adyen.body(item), "application/json"
    if payment.provider == "nuvei":
        nuvei = doubles["nuvei"]
        dmn = nuvei.dmn(
            payment.reference, amount, payment.currency, status="APPROVED" if success else "DECLINED"
        )
        return "nuvei", nuvei.body(dmn), "application/x-www-form-urlencoded"
    payz = doubles["payz"]
    xml = payz.notification_xml(
        payment.reference,
        amount,
        payment.currency,
        status="4" if success else "3",
        result_code="" if success else "1",
    )
    return "payz", payz.body(xml), "application/x-www-form-urlencoded"


def ensure_demo_payments(seed: int = 20261210) -> DemoPayments:
    """Load the demo payments unless payments exist; what was loaded (falsy when nothing)."""
    from players.models import Player

    from .services import deposit_start

    done = DemoPayments()
    if Payment.objects.exists():
        return done
    r = random.Random(seed)
    candidates = list(
        Player.objects.filter(status=Player.Status.ACTIVE, jurisdiction__in=DEMO_MARKETS).order_by("id")
    )
    r.shuffle(candidates)
    credited: list[Payment] = []
    with sandboxes() as doubles:
        for player in candidates:
            if len(credited) >= DEMO_DEPOSITORS:
                break
            provider = DEMO_PROVIDERS[len(credited) % len(DEMO_PROVIDERS)]
            try:
                payment = deposit_start(
                    player=player, provider=provider, amount=r.choice(DEMO_AMOUNTS), currency=player.currency
                )
            except DomainError:  # a gate or the provider's terms refuse: as in production
                done.refused += 1
                continue
            delivery = _notify(doubles, payment)
            if _deliver(*delivery) != Ack.ACCEPTED:
                raise RuntimeError(f"demo deposit {payment.reference} was not accepted")
            if len(credited) == 1:  # the provider delivers the same notification again
                _deliver(*delivery)
                done.duplicates += 1
            payment.refresh_from_db()
            if payment.state == Payment.State.SUCCEEDED:
                credited.append(payment)
                done.deposits[provider] += 1
        if not credited:
            return done
        # A card refused at Adyen: the deposit fails, nothing is credited.
        for player in [p.player for p in credited[1:]]:
            try:
                payment = deposit_start(
                    player=player, provider="adyen", amount="40.00", currency=player.currency
                )
            except DomainError:
                continue
            _deliver(*_notify(doubles, payment, success=False))
            done.failed += 1
            break
        # Withdrawals: most through the provider the player paid in with (in review), one
        # through a provider the player never used (held by the same-method check).
        from .withdrawals import withdrawal_request

        chargeback = next((p for p in credited if p.provider == "adyen"), None)
        queue = [p for p in credited if p is not chargeback][: DEMO_WITHDRAWALS_IN_REVIEW + 1]
        for i, deposit in enumerate(queue):
            held = i == len(queue) - 1
            provider = next(x for x in DEMO_PROVIDERS if x != deposit.provider) if held else deposit.provider
            amount = f"{Decimal(deposit.amount // 2) / 100:.2f}"
            try:
                w = withdrawal_request(
                    player=deposit.player, provider=provider, amount=amount, currency=deposit.currency
                )
            except DomainError:
                continue
            if w.state == Payment.State.IN_REVIEW:
                done.in_review += 1
            else:
                done.held += 1
        # A chargeback on an Adyen deposit: reversed, the player suspended pending review.
        if chargeback is not None:
            adyen = doubles["adyen"]
            item = adyen.item(
                "CHARGEBACK",
                chargeback.reference,
                chargeback.amount,
                chargeback.currency,
                original_reference=chargeback.provider_reference,
                reason="Fraudulent transaction (demo)",
            )
            _deliver("adyen", adyen.body(item), "application/json")
            chargeback.refresh_from_db()
            done.chargebacks += chargeback.state == Payment.State.REVERSED
    return done
