"""Provider settings per market: enabled, limits and fees, honoured by deposits and
withdrawals; the fee recorded on the payment and booked to house_fees; edited in the
console in major units, audited."""

import json

import pytest
from django.urls import reverse

from backoffice.apiclients import api_client_create
from backoffice.models import AuditEvent
from payments import withdrawals
from payments.models import Payment, ProviderSetting
from payments.provider_settings import fee
from wallet.models import Account, Posting
from wallet.verify import ledger_check

from .conftest import WEBHOOK
from .factories import depositor
from .withdrawal_helpers import confirm_payout, funded

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    _c, key = api_client_create(name="frontend")

    def call(path, body):
        return client.post(
            f"/api/platform/v1/{path}",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


def _body(player, amount="25.00", provider="adyen"):
    return {"player_id": player.public_id, "provider": provider, "amount": amount, "currency": "EUR"}


def test_fee_is_fixed_plus_basis_points_rounded_and_below_the_amount():
    s = ProviderSetting(provider="adyen", currency="EUR", deposit_fee_fixed=25, deposit_fee_bp=150)
    assert fee(s, "deposit", 10000) == 175
    assert fee(s, "deposit", 33) == 25
    assert fee(s, "deposit", 25) == 0  # a fee that eats the whole payment is not charged
    assert fee(None, "deposit", 10000) == 0
    s.withdrawal_fee_bp = 1
    assert fee(s, "withdrawal", 5000) == 1  # 0.5 rounds half up


def test_a_disabled_provider_and_the_limits_refuse_deposits_and_withdrawals(api, client, adyen):
    player = funded(client, adyen)
    ProviderSetting.objects.create(
        provider="adyen", market="", currency="EUR", min_deposit=1000, max_deposit=50000
    )
    r = api("deposits", _body(player, "5.00"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "amount_below_minimum"
    assert r.json()["error"]["field"] == "amount" and "EUR 10.00" in r.json()["error"]["message"]
    assert api("deposits", _body(player, "600.00")).json()["error"]["code"] == "amount_above_maximum"
    # The market's own row wins over the all-markets row.
    ProviderSetting.objects.create(
        provider="adyen", market=player.jurisdiction, currency="EUR", enabled=False
    )
    r = api("deposits", _body(player))
    assert r.status_code == 403 and r.json()["error"]["code"] == "provider_disabled"
    r = api("withdrawals", _body(player))
    assert r.status_code == 403 and r.json()["error"]["code"] == "provider_disabled"
    assert Payment.objects.filter(kind="withdrawal").count() == 0
    assert Payment.objects.filter(kind="deposit").count() == 1  # the funding deposit only


def test_the_deposit_fee_is_recorded_and_booked_to_house_fees(api, client, adyen):
    player = depositor()
    ProviderSetting.objects.create(provider="adyen", currency="EUR", deposit_fee_fixed=25, deposit_fee_bp=150)
    r = api("deposits", _body(player, "100.00"))
    assert r.status_code == 201, r.content
    p = Payment.objects.get()
    assert p.fee == 175
    item = adyen.item("AUTHORISATION", p.reference, 10000, "EUR")
    assert client.post(WEBHOOK, data=adyen.body(item), content_type="application/json").status_code == 200
    fees = Posting.objects.get(account__kind=Account.Kind.HOUSE_FEES)
    assert fees.amount == -175
    assert Posting.objects.get(account__kind=Account.Kind.PLAYER_CASH).amount == 10000
    assert ledger_check().ok


def test_the_payout_fee_is_ours_and_booked_when_paid(
    client, payouts, operators, django_capture_on_commit_callbacks
):
    player = funded(client, payouts)
    ProviderSetting.objects.create(provider="adyen", currency="EUR", withdrawal_fee_fixed=100)
    p = withdrawals.withdrawal_request(player=player, provider="adyen", amount="50.00", currency="EUR")
    assert p.fee == 100
    with django_capture_on_commit_callbacks(execute=True):
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])
    p.refresh_from_db()
    assert confirm_payout(client, payouts, p).status_code == 200
    legs = dict(Posting.objects.filter(transaction__kind="withdrawal").values_list("account__kind", "amount"))
    assert legs == {"player_withdrawal_pending": -5000, "house_psp": 5100, "house_fees": -100}
    assert ledger_check().ok


def test_finance_edits_a_setting_in_major_units_and_it_is_audited(client, operators, monkeypatch):
    client.force_login(operators["finance"])
    url = reverse("admin:payments_providersetting_add")
    form = {
        "provider": "trustly",
        "market": "se",
        "currency": "sek",
        "enabled": "on",
        "min_deposit": "100.00",
        "max_deposit": "",
        "min_withdrawal": "",
        "max_withdrawal": "50000.00",
        "deposit_fee_fixed": "1.50",
        "withdrawal_fee_fixed": "",
        "deposit_fee_bp": "120",
        "withdrawal_fee_bp": "0",
    }
    r = client.post(url, form)
    assert r.status_code == 302, r.content.decode()[:3000]
    s = ProviderSetting.objects.get()
    assert (s.market, s.currency, s.min_deposit, s.max_deposit, s.max_withdrawal) == (
        "SE",
        "SEK",
        10000,
        None,
        5000000,
    )
    assert s.deposit_fee_fixed == 150 and s.withdrawal_fee_fixed == 0 and s.updated_by == operators["finance"]
    r = client.post(
        reverse("admin:payments_providersetting_change", args=[s.pk]),
        {**form, "enabled": "", "min_deposit": "abc"},
    )
    assert r.status_code == 200  # the form shows the error
    client.post(reverse("admin:payments_providersetting_change", args=[s.pk]), {**form, "enabled": ""})
    s.refresh_from_db()
    assert not s.enabled
    change = AuditEvent.objects.get(action="payments.provider_setting.change")
    assert change.before == {"enabled": True} and change.after == {"enabled": False}
    assert AuditEvent.objects.filter(action="payments.provider_setting.create").count() == 1
    page = client.get(reverse("admin:payments_providersetting_change", args=[s.pk])).content.decode()
    assert 'value="100.00"' in page


def test_compliance_reads_settings_but_cannot_change_them(client, operators, django_assert_max_num_queries):
    for i, market in enumerate(["MT", "SE", "FI", "DE", "NL"]):
        ProviderSetting.objects.create(provider="adyen", market=market, currency="EUR", min_deposit=100 * i)
    client.force_login(operators["compliance"])
    with django_assert_max_num_queries(15):
        assert client.get(reverse("admin:payments_providersetting_changelist")).status_code == 200
    assert client.get(reverse("admin:payments_providersetting_add")).status_code == 403
