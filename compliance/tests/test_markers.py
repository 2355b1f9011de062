from datetime import datetime, timedelta

import pytest
import time_machine

from backoffice.errors import DomainError
from compliance import markers
from compliance.models import RgAlert
from players.models import Player

from .ledger import post


def _post(p, kind, amount, at):
    post(p, kind, amount, at=at)


def _deposit_with_method(p, amount, at, method):
    post(p, "deposit", amount, at=at, metadata={"payment_method": method})


pytestmark = pytest.mark.django_db
NOW = datetime.fromisoformat("2026-12-02T12:00:00+00:00")


def _player():
    return Player.objects.create(jurisdiction="MT", currency="EUR", first_name="R", last_name="G")


def test_rising_deposits_fire_and_a_steady_player_stays_quiet():
    rising, steady = _player(), _player()
    for week in range(4, 0, -1):  # one deposit a week before
        _post(rising, "deposit", 5000, NOW - timedelta(days=7 * week + 1))
        _post(steady, "deposit", 5000, NOW - timedelta(days=7 * week + 1))
    for d in range(4):  # then four bigger ones in the last week
        _post(rising, "deposit", 20000, NOW - timedelta(days=d + 1))
    _post(steady, "deposit", 5000, NOW - timedelta(days=2))
    created = markers.markers_scan(now=NOW)
    assert created["deposit_frequency"] == 1 and created["deposit_amount"] == 1
    assert set(RgAlert.objects.values_list("player_id", flat=True)) == {rising.pk}
    alert = RgAlert.objects.get(marker="deposit_amount")
    assert alert.evidence["deposited_last_7_days_minor"] == 80000
    # A re-run (or a retried task) creates nothing new.
    assert sum(markers.markers_scan(now=NOW).values()) == 0
    assert sum(markers.markers_scan(now=NOW + timedelta(days=1)).values()) == 0


def test_reversed_withdrawals_and_night_play():
    p, q = _player(), _player()
    _post(p, "deposit", 100000, NOW - timedelta(days=20))
    _post(p, "withdrawal_cancel", 1000, NOW - timedelta(days=3))
    _post(p, "withdrawal_cancel", 1000, NOW - timedelta(days=2))
    _post(q, "deposit", 100000, NOW - timedelta(days=20))
    night = NOW.replace(hour=2) - timedelta(days=1)
    for i in range(20):
        _post(q, "bet", 10, night + timedelta(minutes=i))
    created = markers.markers_scan(now=NOW)
    assert created["reversed_withdrawals"] == 1 and created["night_play"] == 1
    assert RgAlert.objects.get(marker="night_play").player_id == q.pk


def test_recording_an_interaction_closes_the_alert_and_is_audited(operators):
    from backoffice.models import AuditEvent

    p = _player()
    alert = RgAlert.objects.create(
        player=p, marker="night_play", window_start=NOW.date(), window_end=NOW.date()
    )
    with pytest.raises(DomainError):
        markers.interaction_record(
            player_id=p.pk,
            alert_id=alert.pk,
            channel="phone",
            summary=" ",
            outcome="informed",
            follow_up_on=None,
            actor=operators["compliance"],
        )
    markers.interaction_record(
        player_id=p.pk,
        alert_id=alert.pk,
        channel="phone",
        summary="Talked about night play; suggested a session limit",
        outcome="limit_agreed",
        follow_up_on=None,
        actor=operators["compliance"],
        close_alert=True,
    )
    alert.refresh_from_db()
    assert alert.status == RgAlert.Status.CLOSED
    assert AuditEvent.objects.filter(action="compliance.rg_alert.interaction").count() == 1


def test_evidence_timeline_in_order_and_as_pdf(client, operators, tmp_path):
    import subprocess

    from compliance import rg

    p = _player()
    alert = RgAlert.objects.create(
        player=p,
        marker="night_play",
        window_start=NOW.date(),
        window_end=NOW.date(),
        evidence={"night_bets": 31},
    )
    markers.interaction_record(
        player_id=p.pk,
        alert_id=alert.pk,
        channel="phone",
        summary="Called about night play",
        outcome="limit_agreed",
        follow_up_on=None,
        actor=operators["compliance"],
    )
    rg.limit_set(
        player_id=p.pk,
        kind="session",
        period="day",
        amount=60,
        actor=operators["compliance"],
        source="operator",
    )
    client.force_login(operators["compliance"])
    r = client.get(f"/admin/compliance/players/{p.pk}/evidence/")
    assert r.status_code == 200
    text = r.content.decode()
    assert (
        text.index("Night-time play")
        < text.index("Called about night play")
        < text.index("Limit session/day")
    )
    r = client.get(f"/admin/compliance/players/{p.pk}/evidence/?format=pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(r.content)
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Called about night play" in out and p.public_id in out and "page 1 of" in out


def test_many_payment_methods_fire_on_three_instruments_not_on_two():
    p, q = _player(), _player()
    for i, m in enumerate(["card:1111", "card:2222", "iban:3333"]):
        _deposit_with_method(p, 1000, NOW - timedelta(days=i + 1), m)
    for i, m in enumerate(["card:1111", "card:2222", "card:2222"]):
        _deposit_with_method(q, 1000, NOW - timedelta(days=i + 1), m)
    created = markers.markers_scan(now=NOW)
    assert created["many_payment_methods"] == 1
    assert RgAlert.objects.get(marker="many_payment_methods").player_id == p.pk


def test_raising_a_deposit_limit_right_after_using_it_is_chasing_a_late_raise_is_not():
    from compliance import rg

    chaser, calm = _player(), _player()
    day = NOW - timedelta(days=2)
    for p in (chaser, calm):
        with time_machine.travel(day - timedelta(days=3), tick=False):
            rg.limit_set(
                player_id=p.pk, kind="deposit", period="month", amount=10000, actor=None, source="api:t"
            )
    _post(chaser, "deposit", 9500, day)
    _post(calm, "deposit", 2000, day)
    for p in (chaser, calm):
        with time_machine.travel(day + timedelta(hours=2), tick=False):
            rg.limit_set(
                player_id=p.pk, kind="deposit", period="month", amount=50000, actor=None, source="api:t"
            )
    created = markers.markers_scan(now=NOW)
    assert created["chasing_after_limit"] == 1
    alert = RgAlert.objects.get(marker="chasing_after_limit")
    assert alert.player_id == chaser.pk and alert.evidence["used_minor"] == 9500
