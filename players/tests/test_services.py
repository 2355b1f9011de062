from datetime import date, timedelta

import pytest
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from players import national_id, services
from players.models import Player, PlayerConsent, PlayerNote, PlayerSession

from .factories import register

pytestmark = pytest.mark.django_db


def _events(action: str, player=None):
    qs = AuditEvent.objects.filter(action=action)
    if player is not None:
        qs = qs.filter(target_id=str(player.pk))
    return list(qs)


def _refused(code: str, fn, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn(**kwargs)
    assert exc.value.code == code, exc.value.message
    return exc.value


# --- registration ---------------------------------------------------------------------------


def test_register_normalises_stores_encrypted_and_audits():
    p = register(
        jurisdiction="se",
        email="  Anna.Svensson@Example.COM ",
        phone="+46 70-123 45 67",
        national_id="19850314-1234",
        consents={"email": True, "sms": False},
        actor_label="api:frontend",
    )
    assert p.email == "anna.svensson@example.com"
    assert p.phone == "+46701234567"
    assert p.currency == "SEK" and p.jurisdiction == "SE" and p.country == "SE"
    assert "198503141234" not in p.national_id_encrypted
    assert p.national_id_last4 == "1234"
    assert p.national_id_hash == national_id.search_hash("198503141234")
    assert p.search_text == "anna " + p.last_name.lower() + " anna.svensson@example.com"
    consents = {c.channel: c for c in PlayerConsent.objects.filter(player=p)}
    assert consents["email"].granted and not consents["sms"].granted
    assert consents["email"].source == "registration"
    [event] = _events("players.player.register", p)
    assert event.actor is None and event.actor_label == "api:frontend"
    assert event.after["national_id"] == "\u2022\u2022\u2022\u20221234"
    assert "198503141234" not in str(event.after)


def test_register_opens_the_wallet_accounts():
    from wallet.models import Account

    p = register()
    assert Account.objects.filter(player=p, currency="SEK").count() == 3


@pytest.mark.parametrize(
    "overrides, code, field",
    [
        ({"jurisdiction": "US"}, "unknown_market", "jurisdiction"),
        ({"jurisdiction": "SE", "currency": "EUR"}, "currency_not_offered", "currency"),
        ({"email": "not-an-email"}, "invalid_email", "email"),
        ({"phone": "12ab"}, "invalid_phone", "phone"),
        (
            {"date_of_birth": timezone.localdate() + timedelta(days=1)},
            "invalid_date_of_birth",
            "date_of_birth",
        ),
        ({"date_of_birth": timezone.localdate() - timedelta(days=17 * 365)}, "underage", "date_of_birth"),
        ({"date_of_birth": "14/03/1985"}, "invalid_date_of_birth", "date_of_birth"),
        ({"country": "Sweden"}, "invalid_country", "country"),
        ({"national_id": "12"}, "invalid_national_id", "national_id"),
        ({"consents": {"post": True}}, "unknown_channel", "consents"),
        ({"registration_channel": "carrier-pigeon"}, "invalid_channel", "registration_channel"),
    ],
)
def test_register_refusals_write_nothing(overrides, code, field):
    before = (Player.objects.count(), AuditEvent.objects.count())
    exc = _refused(code, register, **overrides)
    assert exc.field == field
    assert (Player.objects.count(), AuditEvent.objects.count()) == before


def test_register_refuses_an_email_taken_in_any_case():
    register(email="taken@example.com")
    exc = _refused("email_taken", register, email="TAKEN@example.com")
    assert exc.message == services.EMAIL_TAKEN


def test_register_refuses_unknown_profile_fields():
    _refused("unknown_field", register, status="closed")


def test_pay_n_play_players_may_share_an_empty_email():
    register(email="", registration_channel="pay_n_play")
    register(email="", registration_channel="pay_n_play")
    assert Player.objects.filter(email="").count() == 2


# --- updates ----------------------------------------------------------------------------------


def test_update_audits_before_and_after_of_changed_fields_only(operators):
    p = register(city="Stockholm", national_id="198503149999")
    p2 = services.player_update(
        player_id=p.pk,
        changes={"city": "Malmö", "first_name": "Anna", "national_id": "19850314-0001"},
        consents={"email": True},
        actor=operators["support"],
        note="ticket 42",
    )
    assert p2.city == "Malmö" and p2.national_id_last4 == "0001"
    assert national_id.decrypt(p2.national_id_encrypted) == "198503140001"
    [event] = _events("players.player.update", p)
    assert event.actor == operators["support"]
    assert event.before == {"city": "Stockholm", "national_id": "••••9999", "consent_email": None}
    assert event.after == {"city": "Malmö", "national_id": "••••0001", "consent_email": True}
    assert event.note == "ticket 42"
    assert PlayerConsent.objects.get(player=p, channel="email").source == operators["support"].email


def test_update_with_nothing_changed_writes_no_event(operators):
    p = register(city="Oslo", national_id="198503145555")
    services.player_update(
        player_id=p.pk, changes={"city": "Oslo", "national_id": "19850314 5555"}, actor=operators["support"]
    )
    assert _events("players.player.update", p) == []


def test_update_keeps_the_search_text_current(operators):
    p = register(first_name="Anna")
    services.player_update(player_id=p.pk, changes={"first_name": "Annika"}, actor=operators["support"])
    p.refresh_from_db()
    assert p.search_text.startswith("annika ")


def test_update_refusals(operators):
    p = register()
    other = register()
    _refused(
        "email_taken", services.player_update, player_id=p.pk, changes={"email": other.email}, actor=None
    )
    _refused("unknown_field", services.player_update, player_id=p.pk, changes={"currency": "EUR"}, actor=None)
    _refused("player_not_found", services.player_update, player_id=10**9, changes={"city": "x"}, actor=None)
    assert _events("players.player.update") == []


# --- status -----------------------------------------------------------------------------------


def test_suspend_reactivate_close_each_audited(operators):
    p = register()
    actor = operators["compliance"]
    services.player_suspend(player_id=p.pk, reason="RG concern", actor=actor)
    p.refresh_from_db()
    assert (p.status, p.status_reason, p.status_changed_by) == ("suspended", "RG concern", actor)
    services.player_reactivate(player_id=p.pk, reason="call held", actor=actor)
    services.player_close(player_id=p.pk, reason="player asked", actor=actor)
    p.refresh_from_db()
    assert p.status == "closed"
    [suspend] = _events("players.player.suspend", p)
    assert suspend.before["status"] == "active" and suspend.after["status"] == "suspended"
    assert suspend.note == "RG concern"
    assert len(_events("players.player.reactivate", p)) == 1
    assert len(_events("players.player.close", p)) == 1


def test_status_refusals(operators):
    actor = operators["compliance"]
    p = register()
    _refused("reason_required", services.player_suspend, player_id=p.pk, reason="  ", actor=actor)
    _refused("status_refused", services.player_reactivate, player_id=p.pk, reason="x", actor=actor)
    services.player_close(player_id=p.pk, reason="asked", actor=actor)
    exc = _refused("status_refused", services.player_suspend, player_id=p.pk, reason="x", actor=actor)
    assert exc.message == "A closed player cannot be suspended."
    _refused("status_refused", services.player_close, player_id=p.pk, reason="x", actor=actor)
    _refused("player_not_found", services.player_suspend, player_id=10**9, reason="x", actor=actor)
    assert len(_events("players.player.close", p)) == 1
    assert _events("players.player.suspend") == []


# --- sessions ---------------------------------------------------------------------------------


def test_session_start_and_end_update_last_seen():
    p = register()
    start = timezone.now() - timedelta(hours=1)
    s = services.session_start(
        player_id=p.pk,
        ip="192.0.2.7",
        device_id="dev-abc",
        user_agent="UA",
        started_at=start,
        reported_by="api:fe",
    )
    p.refresh_from_db()
    assert p.last_seen_at == start and s.reported_by == "api:fe"
    s = services.session_end(player_id=p.pk, session_id=s.pk)
    assert s.ended_at is not None and s.duration >= timedelta(hours=1)
    again = services.session_end(player_id=p.pk, session_id=s.pk)
    assert again.ended_at == s.ended_at  # idempotent
    p.refresh_from_db()
    assert p.last_seen_at == s.ended_at


def test_session_end_refusals():
    p, other = register(), register()
    s = services.session_start(player_id=p.pk)
    _refused("session_not_found", services.session_end, player_id=other.pk, session_id=s.pk)
    _refused(
        "session_ends_before_start",
        services.session_end,
        player_id=p.pk,
        session_id=s.pk,
        ended_at=s.started_at - timedelta(seconds=1),
    )
    assert PlayerSession.objects.get(pk=s.pk).ended_at is None


# --- notes and the national id ---------------------------------------------------------------


def test_note_add_is_audited_and_refuses_an_empty_note(operators):
    p = register()
    note = services.note_add(
        player_id=p.pk, body=" Called about a bonus ", pinned=True, actor=operators["support"]
    )
    assert note.body == "Called about a bonus" and note.pinned
    [event] = _events("players.note.add", p)
    assert event.actor == operators["support"] and event.note == "Called about a bonus"
    _refused("note_empty", services.note_add, player_id=p.pk, body=" ", actor=operators["support"])
    assert PlayerNote.objects.count() == 1


def test_reveal_returns_the_number_and_audits_it(operators):
    p = register(national_id="19850314-4321")
    assert services.player_national_id_reveal(player_id=p.pk, actor=operators["compliance"]) == "198503144321"
    [event] = _events("players.national_id.reveal", p)
    assert event.actor == operators["compliance"]
    assert "198503144321" not in str(event.after)


def test_reveal_refusals(operators, settings):
    p = register(national_id="")
    _refused("forbidden", services.player_national_id_reveal, player_id=p.pk, actor=operators["support"])
    _refused(
        "national_id_none", services.player_national_id_reveal, player_id=p.pk, actor=operators["compliance"]
    )
    q = register(national_id="198503141111")
    settings.NATIONAL_ID_KEY = "another-key-entirely-0123456789abcdef"
    _refused(
        "national_id_unreadable", services.player_national_id_reveal, player_id=q.pk, actor=operators["admin"]
    )
    assert _events("players.national_id.reveal") == []


def test_date_of_birth_exactly_eighteen_today_is_accepted():
    today = timezone.localdate()
    try:
        dob = today.replace(year=today.year - 18)
    except ValueError:  # 29 February
        dob = date(today.year - 18, 3, 1)
    assert register(date_of_birth=dob).date_of_birth == dob
