"""The payments console: lists with a fixed number of queries, a payment's page with its
timeline, notifications and postings, the notification log with replay, the player tab."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.models import AuditEvent
from payments.models import Notification

from .factories import deposit, depositor

pytestmark = pytest.mark.django_db


@pytest.fixture
def credited(adyen, post_webhook):
    """Three players, each with a credited deposit (a card) and a pending one."""
    out = []
    for _ in range(3):
        player = depositor()
        p = deposit(player, 2500)
        post_webhook(adyen.body(adyen.item("AUTHORISATION", p.reference, 2500, "EUR")))
        deposit(player, 1000)
        out.append(p)
    return out


@pytest.mark.parametrize(
    "url_name",
    ["payments_payment_changelist", "payments_notification_changelist", "payments_paymentmethod_changelist"],
)
def test_lists_run_a_fixed_number_of_queries(
    client, operators, credited, adyen, post_webhook, url_name, django_assert_max_num_queries
):
    client.force_login(operators["finance"])
    url = reverse(f"admin:{url_name}")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for _ in range(5):  # more rows, same queries
        player = depositor()
        p = deposit(player, 500)
        post_webhook(adyen.body(adyen.item("AUTHORISATION", p.reference, 500, "EUR")))
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries) > 0


def test_search_is_exact_on_reference_provider_reference_and_player(client, operators, credited):
    client.force_login(operators["support"])
    url = reverse("admin:payments_payment_changelist")
    p = credited[0]
    for q in (p.reference, p.player.public_id):
        r = client.get(url, {"q": q})
        assert p.reference in r.content.decode()
        assert credited[1].reference not in r.content.decode()
    p.refresh_from_db()
    assert p.reference in client.get(url, {"q": p.provider_reference}).content.decode()
    assert p.reference not in client.get(url, {"q": p.reference[:6]}).content.decode()


def test_filters(client, operators, credited):
    client.force_login(operators["finance"])
    r = client.get(
        reverse("admin:payments_payment_changelist"),
        {"state__exact": "succeeded", "provider__exact": "adyen"},
    )
    body = r.content.decode()
    assert all(p.reference in body for p in credited)


def test_the_payment_page_shows_the_timeline_notifications_and_postings(client, operators, credited):
    p = credited[0]
    p.refresh_from_db()
    client.force_login(operators["finance"])
    body = client.get(reverse("admin:payments_payment_change", args=[p.pk])).content.decode()
    assert "Timeline" in body and "succeeded" in body
    assert "Provider notifications" in body
    n = Notification.objects.get(payment=p)
    assert reverse("admin:payments_notification_change", args=[n.pk]) in body
    assert reverse("admin:wallet_transaction_change", args=[p.credit_txn_id]) in body
    assert "EUR 25.00" in body


def test_support_sees_the_payment_but_not_the_raw_notifications(client, operators, credited):
    p = credited[0]
    client.force_login(operators["support"])
    r = client.get(reverse("admin:payments_payment_change", args=[p.pk]))
    assert r.status_code == 200 and "Timeline" in r.content.decode()
    n = Notification.objects.get(payment=p)
    assert client.get(reverse("admin:payments_notification_change", args=[n.pk])).status_code == 403


def test_the_notification_page_pretty_prints_the_body(client, operators, credited):
    n = Notification.objects.filter(payment=credited[0]).get()
    client.force_login(operators["compliance"])
    body = client.get(reverse("admin:payments_notification_change", args=[n.pk])).content.decode()
    assert "&quot;notificationItems&quot;: [" in body  # indented JSON, escaped
    assert "valid" in body


def test_replay_reprocesses_a_failed_notification_once_fixed(client, operators, adyen, monkeypatch):
    # Given a delivery whose processing crashed (an outage of ours)...
    player = depositor()
    p = deposit(player, 2500)
    body = adyen.body(adyen.item("AUTHORISATION", p.reference, 2500, "EUR"))

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("payments.notifications.deposit_apply_event", broken)
    r = client.post("/webhooks/adyen/", data=body, content_type="application/json")
    assert r.status_code == 500  # Adyen retries
    n = Notification.objects.get()
    assert n.state == "failed" and "database hiccup" in n.outcome and n.attempts == 1
    monkeypatch.undo()
    # ...finance replays it from the console.
    client.force_login(operators["finance"])
    url = reverse("admin:payments_notification_replay", kwargs={"notification_id": n.pk})
    assert client.get(url).status_code == 200
    r = client.post(url, follow=True)
    assert r.status_code == 200
    n.refresh_from_db()
    p.refresh_from_db()
    assert (n.state, n.attempts, p.state) == ("processed", 2, "succeeded")
    event = AuditEvent.objects.get(action="payments.notification.replay")
    assert event.before["state"] == "failed" and event.after["state"] == "processed"
    # A processed notification is not replayed again.
    r = client.post(url, follow=True)
    assert "processed already" in r.content.decode()
    assert AuditEvent.objects.filter(action="payments.notification.replay").count() == 1


def test_only_finance_replays(client, operators):
    n = Notification.objects.create(provider="adyen", body="{}", state="failed")
    url = reverse("admin:payments_notification_replay", kwargs={"notification_id": n.pk})
    for who, expected in (("finance", 200), ("compliance", 403), ("support", 403)):
        client.force_login(operators[who])
        assert client.get(url).status_code == expected, who


def test_the_player_page_has_a_payments_tab(client, operators, credited, adyen, post_webhook):
    # The same card on a second player shows as shared.
    p = credited[0]
    client.force_login(operators["compliance"])
    url = reverse("admin:players_player_change", args=[p.player_id])
    r = client.get(url, {"tab": "payments"})
    body = r.content.decode()
    assert r.status_code == 200 and 'data-testid="player-payments"' in body and p.reference in body
    assert 'data-testid="shared-instrument"' in body  # every demo card is 411111...1111
    client.force_login(operators["support"])
    body = client.get(url, {"tab": "payments"}).content.decode()
    assert p.reference in body and 'data-testid="player-payment-methods"' not in body
    client.force_login(operators["marketing"])
    assert 'data-testid="player-payments"' not in client.get(url, {"tab": "payments"}).content.decode()
