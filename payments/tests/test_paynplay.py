"""Pay N Play: a deposit without an account. The bank's identity (Trustly `kyc`, Zimpler's
KYC callback) finds the player by national id or registers one (channel pay_n_play);
the gates refuse the under-age, the excluded and the nationally registered (Trustly
FINISH, Zimpler "0.00"); Zimpler's allowed amount is reduced to what the deposit limits
leave; basic identity is recorded as verified by the bank."""

import json
from datetime import date

import pytest
from django.utils import timezone

from backoffice.models import AuditEvent
from compliance import rg
from compliance.models import KycProfile
from compliance.registers import register_import
from payments.models import Payment, PayNPlaySession
from players import national_id
from players.models import Player
from players.services import player_register
from wallet.selectors import player_balances
from wallet.verify import ledger_check

pytestmark = pytest.mark.django_db

FI_ID = "010180-123A"  # a Finnish personal identity code's shape


@pytest.fixture
def start(client):
    from backoffice.apiclients import api_client_create

    _c, key = api_client_create(name="frontend")

    def call(
        provider: str,
        jurisdiction: str = "FI",
        amount: str = "25.00",
        currency: str = "EUR",
        limits: list[dict] | None = None,
        expect: int = 201,
    ):
        body = {"provider": provider, "jurisdiction": jurisdiction, "amount": amount, "currency": currency}
        if limits is not None:
            body["limits"] = limits
        r = client.post(
            "/api/platform/v1/deposits/paynplay",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert r.status_code == expect, r.content
        return r.json()["reference"] if expect == 201 else r.json()["error"]

    return call


SE_WEEK_500 = [{"kind": "deposit", "period": "week", "amount": "500.00"}]


@pytest.fixture
def trustly_post(client):
    def post(notification: dict) -> dict:
        r = client.post("/webhooks/trustly/", data=json.dumps(notification), content_type="application/json")
        assert r.status_code == 200, r.content
        return r.json()["result"]

    return post


@pytest.fixture
def zimpler_kyc(client, zimpler):
    def post(deposit_id: str) -> dict:
        r = client.post(
            "/webhooks/zimpler/?callback=kyc",
            data=zimpler.notification_body(deposit_id),
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
        return r.json()

    return post


def _adult_dob() -> str:
    return "1980-01-01"


def _minor_dob() -> str:
    today = timezone.localdate()
    return date(today.year - 17, today.month, min(today.day, 28)).isoformat()


def _known(**kw) -> Player:
    return player_register(
        jurisdiction=kw.pop("jurisdiction", "FI"),
        first_name="Known",
        last_name="Player",
        date_of_birth=date(1980, 1, 1),
        national_id=kw.pop("national_id", FI_ID),
        actor=None,
        actor_label="test",
        **kw,
    )


# --- Trustly -------------------------------------------------------------------------------------------


def test_trustly_kyc_registers_a_new_player_from_the_bank_identity_and_the_credit_credits(
    start, trustly, trustly_post
):
    reference = start("trustly")
    order = trustly.orders[trustly.order_for(reference)]
    assert order["Attributes"]["RequestKYC"] == "1" and order["EndUserID"] == f"pnp:{reference}"
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "CONTINUE"} and result["method"] == "kyc"
    player = Player.objects.get()
    assert player.registration_channel == Player.Channel.PAY_N_PLAY
    assert (player.first_name, player.last_name, player.jurisdiction, player.currency) == (
        "Sven",
        "Svensson",
        "FI",
        "EUR",
    )
    assert player.date_of_birth == date(1980, 1, 1) and player.city == "Stockholm"
    assert player.national_id_hash == national_id.search_hash(FI_ID)
    kyc = KycProfile.objects.get(player=player)
    assert kyc.verified_by_bank and kyc.level == 1
    assert AuditEvent.objects.filter(action="players.player.register", target_id=str(player.pk)).count() == 1
    assert AuditEvent.objects.filter(action="compliance.kyc.bank_verify").count() == 1
    p = Payment.objects.get(reference=reference)
    assert (p.player_id, p.amount, p.state, p.provider) == (player.pk, 2500, "initiated", "trustly")

    trustly_post(trustly.notification("credit", trustly.data(reference)))
    p.refresh_from_db()
    assert p.state == "succeeded" and player_balances(player)["cash"] == 2500
    assert ledger_check().ok


def test_trustly_kyc_finds_an_existing_player_by_national_id(start, trustly, trustly_post):
    known = _known()
    reference = start("trustly")
    result = trustly_post(
        trustly.notification(
            "kyc",
            trustly.kyc_data(
                reference, personid="FI" + FI_ID.replace("-", ""), dob=_adult_dob(), country="FI"
            ),
        )
    )
    assert result["data"]["status"] == "CONTINUE"
    assert Player.objects.count() == 1 and Payment.objects.get().player_id == known.pk
    assert KycProfile.objects.get(player=known).verified_by_bank


def test_a_repeated_kyc_notification_finds_the_same_player_and_payment(start, trustly, trustly_post):
    reference = start("trustly")
    note = trustly.notification(
        "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
    )
    assert trustly_post(note)["data"]["status"] == "CONTINUE"
    assert trustly_post(note)["data"]["status"] == "CONTINUE"
    assert Player.objects.count() == 1 and Payment.objects.count() == 1


def test_trustly_under_age_is_refused_with_finish_and_no_player(start, trustly, trustly_post):
    reference = start("trustly")
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_minor_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "FINISH"}
    assert Player.objects.count() == 0 and Payment.objects.count() == 0
    event = AuditEvent.objects.get(action="payments.paynplay.identify")
    assert event.after["code"] == "underage" and event.after["allowed"] is False


def test_trustly_self_excluded_player_is_refused(start, trustly, trustly_post):
    known = _known()
    rg.exclusion_start(player_id=known.pk, kind="self_exclusion", ends_at=None, actor=None, source="t")
    reference = start("trustly")
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "FINISH"}
    assert Payment.objects.count() == 0


def test_trustly_person_on_the_national_register_is_refused(start, trustly, trustly_post, operators):
    register_import(
        register="spelpaus", file_name="s.csv", content=b"199001011234\n", actor=operators["compliance"]
    )
    reference = start("trustly", jurisdiction="SE", amount="250.00", currency="SEK", limits=SE_WEEK_500)
    result = trustly_post(
        trustly.notification("kyc", trustly.kyc_data(reference, personid="SE199001011234", dob="1990-01-01"))
    )
    assert result["data"] == {"status": "FINISH"} and Player.objects.count() == 0
    assert (
        AuditEvent.objects.get(action="payments.paynplay.identify").after["code"]
        == "national_register_excluded"
    )


def test_trustly_kyc_for_another_person_than_the_depositing_player_is_refused(trustly, trustly_post, client):
    from payments.services import deposit_start

    known = _known()
    KycProfile.objects.create(player=known, level=1)
    p = deposit_start(player=known, provider="trustly", amount="10.00", currency="EUR")
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(p.reference, personid="FI020290-999B", dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "FINISH"}


def test_an_unknown_pay_n_play_reference_is_finished(trustly, trustly_post):
    trustly.orders["1"] = {"MessageID": "PBNOSUCH"}
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data("PBNOSUCH", personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "FINISH"} and Player.objects.count() == 0


# --- Zimpler -------------------------------------------------------------------------------------------


def test_zimpler_kyc_callback_registers_the_player_and_answers_the_amount(
    start, zimpler, zimpler_kyc, client
):
    reference = start("zimpler")
    dep = zimpler.by_ref(reference)
    assert dep["kyc_callback_url"].endswith("/webhooks/zimpler/?callback=kyc")
    zimpler.set_kyc(dep["id"], national_id=FI_ID, country="FI")
    assert zimpler_kyc(dep["id"]) == {"amount": "25.00"}
    player = Player.objects.get()
    assert (
        player.registration_channel == "pay_n_play" and KycProfile.objects.get(player=player).verified_by_bank
    )
    zimpler.set_state(dep["id"], "authorized")
    client.post(
        "/webhooks/zimpler/", data=zimpler.notification_body(dep["id"]), content_type="application/json"
    )
    assert player_balances(player)["cash"] == 2500


def test_zimpler_allowed_amount_is_reduced_to_what_the_deposit_limit_leaves(
    start, zimpler, zimpler_kyc, client
):
    known = _known()
    rg.limit_set(player_id=known.pk, kind="deposit", period="day", amount=1000, actor=None, source="t")
    reference = start("zimpler")
    dep = zimpler.by_ref(reference)
    zimpler.set_kyc(dep["id"], national_id=FI_ID, country="FI")
    assert zimpler_kyc(dep["id"]) == {"amount": "10.00"}
    p = Payment.objects.get(reference=reference)
    assert p.amount == 1000 and p.player_id == known.pk
    # Zimpler charges the amount we answered.
    zimpler.deposits[dep["id"]]["amount"] = "10.00"
    zimpler.set_state(dep["id"], "approved")
    client.post(
        "/webhooks/zimpler/", data=zimpler.notification_body(dep["id"]), content_type="application/json"
    )
    assert player_balances(known)["cash"] == 1000
    assert ledger_check().ok


def test_zimpler_excluded_player_is_answered_zero(start, zimpler, zimpler_kyc):
    known = _known()
    rg.exclusion_start(player_id=known.pk, kind="self_exclusion", ends_at=None, actor=None, source="t")
    dep = zimpler.by_ref(start("zimpler"))
    zimpler.set_kyc(dep["id"], national_id=FI_ID, country="FI")
    assert zimpler_kyc(dep["id"]) == {"amount": "0.00"}
    assert Payment.objects.count() == 0


def test_zimpler_under_age_is_answered_zero(start, zimpler, zimpler_kyc):
    dep = zimpler.by_ref(start("zimpler"))
    zimpler.set_kyc(dep["id"], national_id=FI_ID, country="FI", date_of_birth=_minor_dob())
    assert zimpler_kyc(dep["id"]) == {"amount": "0.00"}
    assert Player.objects.count() == 0


# --- the session, durable ------------------------------------------------------------------------------


def test_the_session_is_a_row_and_survives_a_lost_cache(start, trustly, trustly_post):
    from django.core.cache import cache

    reference = start("trustly")
    session = PayNPlaySession.objects.get(reference=reference)
    assert (session.state, session.amount, session.currency, session.jurisdiction) == (
        "started",
        2500,
        "EUR",
        "FI",
    )
    assert session.provider_reference == trustly.order_for(reference) and session.redirect_url
    cache.clear()
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "CONTINUE"}
    session.refresh_from_db()
    payment = Payment.objects.get(reference=reference)
    assert (session.state, session.code, session.payment_id) == ("identified", "ok", payment.pk)
    assert session.player_id == payment.player_id and session.identified_at is not None


def test_an_expired_session_is_finished_and_kept_expired(start, trustly, trustly_post):
    reference = start("trustly")
    PayNPlaySession.objects.filter(reference=reference).update(expires_at=timezone.now())
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "FINISH"}
    assert PayNPlaySession.objects.get(reference=reference).state == "expired"
    assert Player.objects.count() == 0 and Payment.objects.count() == 0
    assert AuditEvent.objects.get(action="payments.paynplay.identify").after["code"] == "session_expired"


def test_a_refused_session_stays_refused_when_the_identity_comes_again(start, trustly, trustly_post):
    reference = start("trustly")
    minor = trustly.notification(
        "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_minor_dob(), country="FI")
    )
    assert trustly_post(minor)["data"] == {"status": "FINISH"}
    session = PayNPlaySession.objects.get(reference=reference)
    assert (session.state, session.code, session.player_id) == ("refused", "underage", None)
    # A second delivery, even claiming an adult, does not re-open the decision.
    adult = trustly.notification(
        "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
    )
    assert trustly_post(adult)["data"] == {"status": "FINISH"}
    assert Player.objects.count() == 0 and Payment.objects.count() == 0


# --- limits at the start (SE: a deposit limit before the first deposit) --------------------------------


def test_a_swedish_start_without_limits_is_refused_before_the_provider_is_called(start, trustly):
    body = start("trustly", jurisdiction="SE", amount="250.00", currency="SEK", expect=400)
    assert body["code"] == "limits_required" and body["field"] == "limits"
    assert "SE requires a deposit limit" in body["message"]
    assert trustly.orders == {} and PayNPlaySession.objects.count() == 0


@pytest.mark.parametrize(
    ("limit", "code", "field"),
    [
        ({"kind": "deposits", "period": "week", "amount": "500.00"}, "invalid_limit_kind", "limits[0].kind"),
        (
            {"kind": "deposit", "period": "year", "amount": "500.00"},
            "invalid_limit_period",
            "limits[0].period",
        ),
        (
            {"kind": "deposit", "period": "week", "amount": "-1.00"},
            "invalid_limit_amount",
            "limits[0].amount",
        ),
        (
            {"kind": "deposit", "period": "week", "amount": "5.001"},
            "invalid_limit_amount",
            "limits[0].amount",
        ),
        ({"kind": "session", "period": "day", "amount": "1.5"}, "invalid_limit_amount", "limits[0].amount"),
    ],
)
def test_a_bad_limit_is_refused_with_its_field(start, trustly, limit, code, field):
    body = start("trustly", jurisdiction="SE", amount="250.00", currency="SEK", limits=[limit], expect=400)
    assert (body["code"], body["field"]) == (code, field)
    assert trustly.orders == {}


def test_the_same_limit_twice_is_refused(start, trustly):
    body = start(
        "trustly", jurisdiction="SE", amount="250.00", currency="SEK", limits=SE_WEEK_500 * 2, expect=400
    )
    assert (body["code"], body["field"]) == ("duplicate_limit", "limits[1]")


def test_a_new_swedish_player_gets_the_limits_before_the_deposit_gate(start, trustly, trustly_post):
    limits = [*SE_WEEK_500, {"kind": "deposit", "period": "day", "amount": "300.00"}]
    reference = start("trustly", jurisdiction="SE", amount="250.00", currency="SEK", limits=limits)
    result = trustly_post(
        trustly.notification("kyc", trustly.kyc_data(reference, personid="SE198001011234", dob="1980-01-01"))
    )
    assert result["data"] == {"status": "CONTINUE"}
    player = Player.objects.get()
    assert (player.jurisdiction, player.currency, player.registration_channel) == ("SE", "SEK", "pay_n_play")
    assert {(lim.kind, lim.period, lim.amount) for lim in rg.limits_in_force(player)} == {
        ("deposit", "week", 50000),
        ("deposit", "day", 30000),
    }
    assert AuditEvent.objects.filter(action="compliance.limit.set", target_id=str(player.pk)).count() == 2
    p = Payment.objects.get(reference=reference)
    assert (p.player_id, p.amount, p.currency) == (player.pk, 25000, "SEK")
    assert "2 limit(s) set" in p.events.get().note

    trustly_post(trustly.notification("credit", trustly.data(reference)))
    assert player_balances(player)["cash"] == 25000
    assert ledger_check().ok


def test_a_swedish_trustly_deposit_above_the_new_limit_is_finished(start, trustly, trustly_post):
    limits = [{"kind": "deposit", "period": "day", "amount": "100.00"}]
    reference = start("trustly", jurisdiction="SE", amount="250.00", currency="SEK", limits=limits)
    result = trustly_post(
        trustly.notification("kyc", trustly.kyc_data(reference, personid="SE198001011234", dob="1980-01-01"))
    )
    # Trustly's amount is fixed at the start: the limit must leave room for all of it.
    assert result["data"] == {"status": "FINISH"} and Payment.objects.count() == 0
    session = PayNPlaySession.objects.get(reference=reference)
    assert (session.state, session.code) == ("refused", "deposit_limit_reached")
    assert session.player is not None and rg.limits_in_force(session.player)[0].amount == 10000


def test_a_swedish_zimpler_deposit_is_reduced_to_the_new_limit(start, zimpler, zimpler_kyc):
    limits = [{"kind": "deposit", "period": "week", "amount": "100.00"}]
    dep = zimpler.by_ref(start("zimpler", jurisdiction="SE", amount="250.00", currency="SEK", limits=limits))
    zimpler.set_kyc(dep["id"], national_id="19800101-1234", country="SE")
    assert zimpler_kyc(dep["id"]) == {"amount": "100.00"}
    assert Payment.objects.get().amount == 10000


def test_a_known_players_limits_are_only_tightened_from_a_pay_n_play_start(start, trustly, trustly_post):
    known = _known()
    rg.limit_set(player_id=known.pk, kind="deposit", period="week", amount=20000, actor=None, source="t")
    rg.limit_set(player_id=known.pk, kind="deposit", period="month", amount=50000, actor=None, source="t")
    limits = [
        {"kind": "deposit", "period": "week", "amount": "500.00"},  # higher: not through a deposit page
        {"kind": "deposit", "period": "month", "amount": "400.00"},  # lower: at once
        {"kind": "loss", "period": "day", "amount": "50.00"},  # new: at once
    ]
    reference = start("trustly", limits=limits)
    result = trustly_post(
        trustly.notification(
            "kyc", trustly.kyc_data(reference, personid="FI" + FI_ID, dob=_adult_dob(), country="FI")
        )
    )
    assert result["data"] == {"status": "CONTINUE"}
    assert {(lim.kind, lim.period, lim.amount) for lim in rg.limits_in_force(known)} == {
        ("deposit", "week", 20000),
        ("deposit", "month", 40000),
        ("loss", "day", 5000),
    }
    assert rg.limits_pending(known) == []
