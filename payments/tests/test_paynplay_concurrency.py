"""Pay N Play under concurrency, on PostgreSQL (threads, each its own connection and HTTP
client, released together): however many identities of one person arrive at once, one
player is registered; one session gets one payment."""

import importlib
import json
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from backoffice.models import AuditEvent
from payments.models import Payment, PayNPlaySession
from payments.paynplay import paynplay_deposit_start
from players import national_id
from players.models import Player
from wallet.tests.test_postgres import _in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PERSON = "SE198001011234"
LIMITS = [{"kind": "deposit", "period": "week", "amount": "5000.00"}]


@pytest.fixture(autouse=True)
def _postgres_only():
    assert connection.vendor == "postgresql", "These tests need DATABASE_URL pointing at PostgreSQL."


@pytest.fixture(autouse=True)
def _markets():
    """A transactional test's flush also removes the markets and rules the migrations
    seeded (SE: mandatory limits, Spelpaus): load them again, as those migrations do."""
    from django.apps import apps

    from compliance import selectors
    from compliance.models import Jurisdiction

    if not Jurisdiction.objects.filter(code="SE").exists():
        for name in ("0002_seed_rules", "0009_kyc_level_before_play", "0011_mandatory_limits_corrections"):
            importlib.import_module(f"compliance.migrations.{name}").forward(apps, None)
    selectors.clear_rule_cache()


def _start() -> str:
    return paynplay_deposit_start(
        provider="trustly", jurisdiction="SE", amount="250.00", currency="SEK", limits=LIMITS
    ).reference


def _post(notification: dict) -> tuple[int, str]:
    r = Client().post("/webhooks/trustly/", data=json.dumps(notification), content_type="application/json")
    return r.status_code, r.json()["result"]["data"].get("status", "")


def test_one_identity_delivered_by_many_threads_registers_one_player_and_one_payment(trustly):
    reference = _start()
    kyc = trustly.notification("kyc", trustly.kyc_data(reference, personid=PERSON, dob="1980-01-01"))
    assert _in_threads(6, lambda i: _post(kyc)) == [(200, "CONTINUE")] * 6
    player = Player.objects.get()
    assert player.national_id_hash == national_id.search_hash("198001011234")
    assert Payment.objects.get().player_id == player.pk
    session = PayNPlaySession.objects.get()
    assert (session.state, session.player_id) == ("identified", player.pk)
    assert AuditEvent.objects.filter(action="players.player.register").count() == 1
    assert AuditEvent.objects.filter(action="compliance.limit.set").count() == 1


def test_two_sessions_of_one_person_identified_at_once_find_one_player(trustly):
    # The same person opened the cashier twice (two tabs): two references, one person.
    references = [_start() for _ in range(4)]
    notes = [
        trustly.notification("kyc", trustly.kyc_data(ref, personid=PERSON, dob="1980-01-01"))
        for ref in references
    ]
    outcome = _in_threads(len(notes), lambda i: _post(notes[i]))
    assert Counter(outcome) == {(200, "CONTINUE"): 4}
    player = Player.objects.get()
    assert Counter(Payment.objects.values_list("player_id", flat=True)) == {player.pk: 4}
    assert set(PayNPlaySession.objects.values_list("state", flat=True)) == {"identified"}
    assert AuditEvent.objects.filter(action="players.player.register").count() == 1
