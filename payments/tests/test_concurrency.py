"""Concurrent deliveries on PostgreSQL (threads, each its own connection and HTTP
client, released together): a deposit is credited exactly once, a reversal happens at
most once, and the ledger's invariants hold. Also the whole loop over real HTTP: the
deposit API, the Adyen double, and the double's signed notification to a live server."""

import json
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from backoffice.apiclients import api_client_create
from payments.models import Notification, Payment
from wallet import selectors
from wallet.models import Transaction
from wallet.tests.test_postgres import _in_threads
from wallet.verify import ledger_check

from .conftest import WEBHOOK
from .factories import deposit, depositor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    assert connection.vendor == "postgresql", "These tests need DATABASE_URL pointing at PostgreSQL."


def _post(body: bytes) -> int:
    return Client().post(WEBHOOK, data=body, content_type="application/json").status_code


def test_the_same_success_delivered_by_many_threads_credits_once(adyen):
    player = depositor()
    p = deposit(player, 2500)
    body = adyen.body(adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="PSPSAME"))
    assert _in_threads(8, lambda i: _post(body)) == [200] * 8
    assert selectors.player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert Notification.objects.count() == 8
    assert Counter(Notification.objects.values_list("state", flat=True)) == {"processed": 1, "ignored": 7}
    p.refresh_from_db()
    assert [e.to_state for e in p.events.all()] == ["initiated", "succeeded"]
    report = ledger_check()
    assert report.ok, report.violations


def test_racing_success_failure_and_pending_end_credited_once(adyen):
    player = depositor()
    p = deposit(player, 2500)
    items = [
        adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="WIN"),
        adyen.item("AUTHORISATION", p.reference, 2500, "EUR", success=False, psp_reference="LOSE1"),
        adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="WIN"),
        adyen.item("AUTHORISATION", p.reference, 2500, "EUR", success=False, psp_reference="LOSE2"),
    ] * 2
    bodies = [adyen.body(i) for i in items]
    assert _in_threads(len(bodies), lambda i: _post(bodies[i])) == [200] * len(bodies)
    p.refresh_from_db()
    # Whatever the order, the authorised attempt wins and is credited once.
    assert p.state == "succeeded" and p.provider_reference == "WIN"
    assert selectors.player_balances(player)["cash"] == 2500
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert ledger_check().ok


def test_racing_chargebacks_and_refunds_reverse_once(adyen):
    player = depositor()
    p = deposit(player, 2500)
    assert (
        _post(adyen.body(adyen.item("AUTHORISATION", p.reference, 2500, "EUR", psp_reference="ORIG"))) == 200
    )
    items = [
        adyen.item("CHARGEBACK", p.reference, 2500, "EUR", original_reference="ORIG", psp_reference="CB"),
        adyen.item("REFUND", p.reference, 2500, "EUR", original_reference="ORIG", psp_reference="RF"),
    ] * 3
    bodies = [adyen.body(i) for i in items]
    assert _in_threads(len(bodies), lambda i: _post(bodies[i])) == [200] * len(bodies)
    p.refresh_from_db()
    assert p.state == "reversed"
    assert Transaction.objects.filter(kind__in=["chargeback", "reversal"]).count() == 1
    assert selectors.player_balances(player)["cash"] == 0
    report = ledger_check()
    assert report.ok, report.violations


def test_the_whole_loop_over_http(adyen, live_server):
    # The front end starts a deposit; the Adyen double answers the session; the double
    # then posts the signed AUTHORISATION to our webhook over real HTTP.
    player = depositor()
    _c, key = api_client_create(name="frontend")
    r = Client().post(
        "/api/platform/v1/deposits",
        data=json.dumps(
            {"player_id": player.public_id, "provider": "adyen", "amount": "12.50", "currency": "EUR"}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert r.status_code == 201, r.content
    reference = r.json()["reference"]
    status, text = adyen.send(live_server.url + WEBHOOK, adyen.item("AUTHORISATION", reference, 1250, "EUR"))
    assert (status, text) == (200, "[accepted]")
    assert Payment.objects.get(reference=reference).state == "succeeded"
    assert selectors.player_balances(player)["cash"] == 1250
    tampered = adyen.item("AUTHORISATION", reference, 1250, "EUR")
    tampered["amount"]["value"] = 125000
    assert adyen.send(live_server.url + WEBHOOK, tampered)[0] == 401
    assert selectors.player_balances(player)["cash"] == 1250
