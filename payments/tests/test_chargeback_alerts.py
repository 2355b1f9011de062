"""A chargeback alerts finance: one alert per payment (redeliveries change nothing), an
email to the finance operators after commit, a dashboard tile and a review form."""

import pytest
from django.core import mail
from django.urls import reverse

from backoffice.models import AuditEvent
from payments.models import ChargebackAlert

from .withdrawal_helpers import funded

pytestmark = pytest.mark.django_db


def _chargeback(client, adyen, payment):
    item = adyen.item("CHARGEBACK", payment.reference, payment.amount, "EUR", psp_reference="PSPCB")
    return client.post("/webhooks/adyen/", data=adyen.body(item), content_type="application/json")


def test_a_chargeback_opens_one_alert_and_emails_finance(
    client, adyen, operators, django_capture_on_commit_callbacks
):
    player = funded(client, adyen, amount=2500)
    deposit = player.payments.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert _chargeback(client, adyen, deposit).status_code == 200
        assert _chargeback(client, adyen, deposit).status_code == 200
    alert = ChargebackAlert.objects.get()
    assert (alert.amount, alert.from_player, alert.lost) == (2500, 2500, 0)
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"finance@pitboss.test", "finance2@pitboss.test"}
    assert deposit.reference in mail.outbox[0].body


def test_finance_reviews_it_from_the_queue(client, adyen, operators, django_assert_max_num_queries):
    player = funded(client, adyen, amount=2500)
    _chargeback(client, adyen, player.payments.get())
    alert = ChargebackAlert.objects.get()
    client.force_login(operators["finance"])
    assert b'data-testid="tile-chargebacks-count"' in client.get(reverse("admin:index")).content
    with django_assert_max_num_queries(15):
        assert client.get(reverse("admin:payments_chargebackalert_changelist")).status_code == 200
    url = reverse("admin:payments_chargeback_review", kwargs={"alert_id": alert.pk})
    assert client.post(url, {"note": ""}).status_code == 200
    r = client.post(url, {"note": "Friendly fraud: account stays suspended, ticket 88"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.reviewed_by == operators["finance"]
    assert AuditEvent.objects.filter(action="payments.chargeback.review").count() == 1
    assert client.post(url, {"note": "again"}).status_code == 200  # already reviewed: shown, not saved
    client.force_login(operators["compliance"])
    assert client.get(url).status_code == 403
