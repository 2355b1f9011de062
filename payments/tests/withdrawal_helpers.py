"""Test helpers for withdrawals: a player who deposited through Adyen (a real signed
notification credits them and names the card), the payout double, and Celery eager so an
approval's queued payout runs when the transaction commits."""

from contextlib import contextmanager

from backoffice.celery import app
from payments.models import Payment
from players.models import Player

from .factories import deposit, depositor

WEBHOOK = "/webhooks/adyen/"


def funded(client, adyen, amount: int = 20000, **player_kwargs) -> Player:
    """A verified player whose Adyen card deposit of `amount` was credited."""
    player = depositor(**player_kwargs)
    p = deposit(player, amount)
    body = adyen.body(adyen.item("AUTHORISATION", p.reference, amount, player.currency))
    r = client.post(WEBHOOK, data=body, content_type="application/json")
    assert r.status_code == 200, r.content
    assert Payment.objects.get(pk=p.pk).state == "succeeded"
    return player


def confirm_payout(client, adyen, payment: Payment, *, success: bool = True, code: str = "PAYOUT_THIRDPARTY"):
    item = adyen.item(
        code,
        payment.reference,
        payment.amount,
        payment.currency,
        success=success,
        psp_reference=payment.provider_reference or None,
        reason="" if success else "Account closed",
    )
    return client.post(WEBHOOK, data=adyen.body(item), content_type="application/json")


@contextmanager
def payout_double(adyen, settings):
    """The Adyen double answers the Payout API too; queued tasks run eagerly."""
    settings.ADYEN_PAYOUT_API_BASE_URL = adyen.payout_base_url
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield adyen
    finally:
        app.conf.task_always_eager = before


@contextmanager
def adyen_double(settings):
    """The Adyen double (signing with the official package) with payouts, for tests outside
    payments/tests (the browser test)."""
    from Adyen.util import generate_notification_sig

    from payments.sandbox.adyen import AdyenSandbox

    with AdyenSandbox(
        hmac_key_hex=settings.ADYEN_HMAC_KEY,
        api_key=settings.ADYEN_API_KEY,
        merchant_account=settings.ADYEN_MERCHANT_ACCOUNT,
        signer=generate_notification_sig,
    ) as sandbox:
        settings.ADYEN_API_BASE_URL = sandbox.base_url
        settings.PAYMENTS_LOOPBACK_ONLY = True
        with payout_double(sandbox, settings):
            yield sandbox
