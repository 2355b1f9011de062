"""The demo payments: deposits through the sandbox doubles and our webhook processing, a
failed deposit, a duplicate notification, a chargeback and withdrawals in finance's
queue; the ledger holds, and a second load does nothing."""

import pytest
from django.conf import settings

from compliance.demo import ensure_demo_compliance
from payments.demo import ensure_demo_payments
from payments.models import Notification, Payment
from payments.selectors import withdrawal_queue
from players.demo import ensure_demo_players
from wallet.models import Transaction
from wallet.verify import ledger_check

pytestmark = pytest.mark.django_db


def test_demo_payments_go_through_the_real_flow_and_load_once():
    base_urls = (settings.ADYEN_API_BASE_URL, settings.NUVEI_API_BASE_URL, settings.PAYZ_API_BASE_URL)
    ensure_demo_players(count=80)
    ensure_demo_compliance()

    loaded = ensure_demo_payments()

    assert sum(loaded.deposits.values()) == 20 and set(loaded.deposits) == {"adyen", "nuvei", "payz"}
    deposits = Payment.objects.filter(kind="deposit")
    assert deposits.filter(state="succeeded").count() == 19  # one of the 20 charged back
    assert deposits.filter(state="reversed", provider="adyen").count() == loaded.chargebacks == 1
    assert deposits.filter(state="failed").count() == loaded.failed == 1
    assert Transaction.objects.filter(kind="deposit").count() == 20  # the duplicate credited nothing
    assert Transaction.objects.filter(kind="chargeback").count() == 1
    assert loaded.duplicates == 1
    assert not Notification.objects.exclude(state__in=["processed", "ignored"]).exists()
    queue = withdrawal_queue()
    assert queue.filter(state="in_review").count() == loaded.in_review >= 1
    assert queue.filter(state="requested").exclude(status_note="").count() == loaded.held >= 1
    assert loaded.in_review + loaded.held == 5
    report = ledger_check()
    assert report.ok, report.violations
    # The doubles are stopped and our settings are back.
    assert (settings.ADYEN_API_BASE_URL, settings.NUVEI_API_BASE_URL, settings.PAYZ_API_BASE_URL) == base_urls

    payments, notifications = Payment.objects.count(), Notification.objects.count()
    assert not ensure_demo_payments()
    assert (Payment.objects.count(), Notification.objects.count()) == (payments, notifications)
