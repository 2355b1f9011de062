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


@pytest.fixture
def trustly(settings, tmp_path):
    """The Trustly double on a random loopback port. It signs with a throwaway key pair
    (we lack the private half of Trustly's published test key): our settings trust its
    public half for the test, and it verifies our requests with our public key."""
    from pathlib import Path

    from payments.providers.trustly import load_private_key
    from payments.sandbox.trustly import TrustlySandbox

    ours = load_private_key(Path(settings.TRUSTLY_PRIVATE_KEY_FILE).read_bytes())
    with TrustlySandbox(merchant_public_key=ours.public_key()) as sandbox:
        pem = tmp_path / "trustly-sandbox-public.pem"
        pem.write_bytes(sandbox.public_pem)
        settings.TRUSTLY_PUBLIC_KEY_FILE = str(pem)
        settings.TRUSTLY_API_BASE_URL = sandbox.base_url
        settings.PAYMENTS_LOOPBACK_ONLY = True
        yield sandbox


@pytest.fixture
def zimpler(settings):
    from payments.sandbox.zimpler import ZimplerSandbox

    with ZimplerSandbox(api_key=settings.ZIMPLER_API_KEY) as sandbox:
        settings.ZIMPLER_API_BASE_URL = sandbox.base_url
        settings.PAYMENTS_LOOPBACK_ONLY = True
        yield sandbox


@pytest.fixture
def nuvei(settings):
    from payments.sandbox.nuvei import NuveiSandbox

    with NuveiSandbox(secret=settings.NUVEI_SECRET_KEY) as sandbox:
        settings.NUVEI_API_BASE_URL = sandbox.base_url
        settings.PAYMENTS_LOOPBACK_ONLY = True
        yield sandbox


@pytest.fixture
def payz(settings):
    from payments.sandbox.payz import PayzSandbox

    with PayzSandbox(password=settings.PAYZ_MERCHANT_PASSWORD) as sandbox:
        settings.PAYZ_API_BASE_URL = sandbox.base_url
        settings.PAYMENTS_LOOPBACK_ONLY = True
        yield sandbox


@pytest.fixture
def deposit_api(client):
    """POST /api/platform/v1/deposits with a frontend key: (player, provider, amount) -> response."""
    import json

    from backoffice.apiclients import api_client_create

    _c, key = api_client_create(name="frontend")

    def call(player, provider: str, amount: str = "25.00"):
        return client.post(
            "/api/platform/v1/deposits",
            data=json.dumps(
                {
                    "player_id": player.public_id,
                    "provider": provider,
                    "amount": amount,
                    "currency": player.currency,
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


@pytest.fixture
def payouts(adyen, settings):
    """The Adyen double with its Payout API; queued tasks (the payout) run eagerly."""
    from .withdrawal_helpers import payout_double

    with payout_double(adyen, settings) as sandbox:
        yield sandbox
