import json
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.apiclients import api_client_create
from backoffice.models import AuditEvent
from compliance import markers
from compliance.models import RgAlert
from disputes.models import Complaint
from players.models import Player

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(db):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_client_create(name='frontend')[1]}"}


def test_front_end_logs_a_complaint_and_bad_input_writes_nothing(client, auth):
    p = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="C", last_name="P")
    url = f"/api/platform/v1/players/{p.public_id}/complaints"
    r = client.post(
        url,
        data=json.dumps({"category": "payment", "subject": "", "body": "x"}),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "subject"
    r = client.post(
        url,
        data=json.dumps(
            {
                "category": "bonus_request",
                "subject": "Where is my bonus?",
                "body": "I was promised free spins",
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert Complaint.objects.count() == 1
    assert AuditEvent.objects.get(action="disputes.complaint.log").actor_label == "api:frontend"


def test_two_complaints_in_a_month_are_a_marker_of_harm():
    from disputes.services import complaint_log

    p = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="C", last_name="P")
    q = Player.objects.create(jurisdiction="MT", currency="EUR", first_name="D", last_name="Q")
    for who, n in ((p, 2), (q, 1)):
        for i in range(n):
            complaint_log(
                player_id=who.pk,
                category="bonus_request",
                subject=f"bonus {i}",
                body="please",
                channel="email",
            )
    created = markers.markers_scan(now=timezone.now() + timedelta(minutes=1))
    assert created["complaints"] == 1
    alert = RgAlert.objects.get(marker="complaints")
    assert alert.player_id == p.pk and alert.evidence == {"complaints_last_30_days": 2, "bonus_requests": 2}
