"""Jurisdiction rule cases with frozen time: limit increases wait for the market's
cooling-off (SE 72 h and not before the period ends; GB 24 h), decreases are immediate,
exclusions cannot be lifted before the waiting period."""

from datetime import datetime, timedelta

import pytest
import time_machine

from backoffice import approvals
from backoffice.errors import DomainError
from compliance import rg
from compliance.models import Exclusion, PlayerLimit
from players.models import Player

pytestmark = pytest.mark.django_db

WED = datetime.fromisoformat("2026-12-02T10:00:00+00:00")  # a Wednesday


def _player(market: str, currency: str = "EUR") -> Player:
    return Player.objects.create(jurisdiction=market, currency=currency, first_name="T", last_name=market)


def _limit(player, period, amount):
    return rg.limit_set(
        player_id=player.pk, kind="deposit", period=period, amount=amount, actor=None, source="api:test"
    )


@pytest.mark.parametrize(
    "market,period,expected",
    [
        # SE: 72 h AND not before the current period ends.
        ("SE", "day", "2026-12-05T10:00:00+00:00"),  # +72 h is later than the day's end
        ("SE", "week", "2026-12-07T00:00:00+00:00"),  # the week ends Monday 00:00, later than +72 h
        ("SE", "month", "2027-01-01T00:00:00+00:00"),
        # GB: 24 h whatever the period.
        ("GB", "day", "2026-12-03T10:00:00+00:00"),
        ("GB", "month", "2026-12-03T10:00:00+00:00"),
        # DE: 7 days (secondary source).
        ("DE", "week", "2026-12-09T10:00:00+00:00"),
    ],
)
def test_limit_increase_waits_for_the_market_cooling_off(market, period, expected):
    player = _player(market)
    with time_machine.travel(WED - timedelta(days=1), tick=False):
        _limit(player, period, 50000)
    with time_machine.travel(WED, tick=False):
        change = _limit(player, period, 100000)
        assert not change.immediate
        assert change.limit.status == PlayerLimit.Status.PENDING
        assert change.limit.effective_at == datetime.fromisoformat(expected)
        assert [lim.amount for lim in rg.limits_in_force(player)] == [50000]
    effective = datetime.fromisoformat(expected)
    with time_machine.travel(effective - timedelta(seconds=1), tick=False):
        assert [lim.amount for lim in rg.limits_in_force(player)] == [50000]
    with time_machine.travel(effective, tick=False):
        assert [lim.amount for lim in rg.limits_in_force(player)] == [100000]


@pytest.mark.parametrize("market", ["SE", "GB", "MT", "FI", "DE"])
def test_limit_decrease_is_immediate_and_cancels_a_pending_increase(market):
    player = _player(market)
    with time_machine.travel(WED, tick=False):
        _limit(player, "week", 50000)
        _limit(player, "week", 90000)  # pending increase
        change = _limit(player, "week", 20000)
        assert change.immediate and change.limit.status == PlayerLimit.Status.ACTIVE
        assert [lim.amount for lim in rg.limits_in_force(player)] == [20000]
        assert rg.limits_pending(player) == []


def test_removing_a_limit_is_an_increase():
    player = _player("GB", "GBP")
    with time_machine.travel(WED, tick=False):
        _limit(player, "day", 1000)
        change = _limit(player, "day", None)
        assert change.limit.status == PlayerLimit.Status.PENDING
    with time_machine.travel(WED + timedelta(hours=24), tick=False):
        assert rg.limits_in_force(player) == []


def test_negative_limit_is_refused_and_nothing_written():
    player = _player("MT")
    with pytest.raises(DomainError) as exc:
        _limit(player, "day", -5)
    assert exc.value.field == "amount" and not PlayerLimit.objects.exists()


def test_gb_self_exclusion_minimum_six_months():
    player = _player("GB", "GBP")
    with time_machine.travel(WED, tick=False), pytest.raises(DomainError) as exc:
        rg.exclusion_start(
            player_id=player.pk,
            kind="self_exclusion",
            ends_at=WED + timedelta(days=30),
            actor=None,
            source="api:test",
        )
    assert exc.value.code == "exclusion_too_short"


def test_self_exclusion_lifting_refused_before_the_minimum_period(operators):
    player = _player("GB", "GBP")
    with time_machine.travel(WED, tick=False):
        ex = rg.exclusion_start(
            player_id=player.pk, kind="self_exclusion", ends_at=None, actor=None, source="api:test"
        )
    with time_machine.travel(WED + timedelta(days=100), tick=False), pytest.raises(DomainError) as exc:
        rg.exclusion_lift_request(
            exclusion_id=ex.pk, request_text="I am better now", actor=operators["compliance"]
        )
    assert exc.value.code == "exclusion_minimum_not_served"
    assert rg.exclusion_in_force(player, WED + timedelta(days=100)) == ex


def test_mt_indefinite_exclusion_lifts_seven_days_after_four_eyes_approval(operators):
    player = _player("MT")
    with time_machine.travel(WED, tick=False):
        ex = rg.exclusion_start(
            player_id=player.pk, kind="self_exclusion", ends_at=None, actor=None, source="api:test"
        )
    later = WED + timedelta(days=40)
    with time_machine.travel(later, tick=False):
        with pytest.raises(DomainError):
            rg.exclusion_lift_request(exclusion_id=ex.pk, request_text="  ", actor=operators["compliance"])
        req = rg.exclusion_lift_request(
            exclusion_id=ex.pk,
            request_text="Written request received by email",
            actor=operators["compliance"],
        )
        with pytest.raises(DomainError) as exc:
            approvals.approval_approve(request_id=req.pk, actor=operators["compliance"])
        assert exc.value.code == "four_eyes"
        approvals.approval_approve(request_id=req.pk, actor=operators["admin"])
    ex.refresh_from_db()
    assert ex.lifted_at == later + timedelta(days=7)
    assert rg.exclusion_in_force(player, later + timedelta(days=6, hours=23)) == ex
    assert rg.exclusion_in_force(player, later + timedelta(days=7)) is None


def test_timeout_is_definite_and_short():
    player = _player("MT")
    with time_machine.travel(WED, tick=False):
        with pytest.raises(DomainError):
            rg.exclusion_start(player_id=player.pk, kind="timeout", ends_at=None, actor=None, source="api:t")
        with pytest.raises(DomainError):
            rg.exclusion_start(
                player_id=player.pk,
                kind="timeout",
                ends_at=WED + timedelta(days=31),
                actor=None,
                source="api:t",
            )
        ex = rg.exclusion_start(
            player_id=player.pk, kind="timeout", ends_at=WED + timedelta(days=2), actor=None, source="api:t"
        )
    assert rg.exclusion_in_force(player, WED + timedelta(days=1)) == ex
    assert rg.exclusion_in_force(player, WED + timedelta(days=2)) is None
    assert Exclusion.objects.count() == 1


def test_operator_sets_a_limit_and_an_exclusion_from_the_player_page(client, operators):
    from backoffice.models import AuditEvent

    player = _player("GB", "GBP")
    client.force_login(operators["support"])
    base = f"/admin/compliance/players/{player.pk}"
    r = client.post(f"{base}/limit/", {"kind": "deposit", "period": "day", "amount": "12.345"})
    assert r.status_code == 200 and b"decimal" in r.content.lower()
    r = client.post(f"{base}/limit/", {"kind": "deposit", "period": "day", "amount": "100.00"})
    assert r.status_code == 302
    assert [lim.amount for lim in rg.limits_in_force(player)] == [10000]
    r = client.post(
        f"{base}/exclusion/", {"kind": "self_exclusion", "days": "30", "reason": "asked by phone"}
    )
    assert r.status_code == 200 and b"183 days" in r.content  # GB minimum
    r = client.post(f"{base}/exclusion/", {"kind": "self_exclusion", "days": "", "reason": "asked by phone"})
    assert r.status_code == 302 and rg.exclusion_in_force(player) is not None
    ev = AuditEvent.objects.get(action="compliance.self_exclusion.start")
    assert ev.actor == operators["support"] and ev.note == "asked by phone"
    client.force_login(operators["marketing"])
    assert client.get(f"{base}/limit/").status_code == 403


def test_a_rejected_lift_request_does_not_block_a_new_one(operators):
    player = _player("MT")
    with time_machine.travel(WED, tick=False):
        ex = rg.exclusion_start(
            player_id=player.pk, kind="self_exclusion", ends_at=None, actor=None, source="api:t"
        )
    with time_machine.travel(WED + timedelta(days=10), tick=False):
        req = rg.exclusion_lift_request(
            exclusion_id=ex.pk, request_text="letter 1", actor=operators["compliance"]
        )
        with pytest.raises(DomainError) as exc:
            rg.exclusion_lift_request(
                exclusion_id=ex.pk, request_text="letter 2", actor=operators["compliance"]
            )
        assert exc.value.code == "lift_already_requested"
        approvals.approval_reject(request_id=req.pk, actor=operators["admin"], note="reasons not convincing")
        again = rg.exclusion_lift_request(
            exclusion_id=ex.pk, request_text="letter 2", actor=operators["compliance"]
        )
    assert again.pk != req.pk
