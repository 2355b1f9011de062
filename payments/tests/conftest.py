import pytest
from Adyen.util import generate_notification_sig

from payments.sandbox.adyen import AdyenSandbox

WEBHOOK = "/webhooks/adyen/"


@pytest.fixture
def adyen(settings):
    """The Adyen double on a random loopback port, signing with the official `Adyen`
    package; our settings point at it."""
    with AdyenSandbox(
        hmac_key_hex=settings.ADYEN_HMAC_KEY,
        api_key=settings.ADYEN_API_KEY,
        merchant_account=settings.ADYEN_MERCHANT_ACCOUNT,
        signer=generate_notification_sig,
    ) as sandbox:
        settings.ADYEN_API_BASE_URL = sandbox.base_url
        settings.PAYMENTS_LOOPBACK_ONLY = True
        yield sandbox


@pytest.fixture
def post_webhook(client):
    def post(body: bytes, path: str = WEBHOOK):
        return client.post(path, data=body, content_type="application/json")

    return post
