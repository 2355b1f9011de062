"""A support agent finds a player from a pasted email and works on the player page; a
compliance officer reveals a national id (fresh sign-in, audited), which support cannot."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from backoffice.demo import DEMO_PASSWORD
from backoffice.models import AuditEvent
from backoffice.testing import totp_now
from players import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(totp_now(email))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()


@pytest.fixture
def player(db):
    p = services.player_register(
        jurisdiction="SE",
        email="karin.lindqvist@example.se",
        first_name="Karin",
        last_name="Lindqvist",
        phone="+46701234567",
        national_id="19811228-9874",
        consents={"email": True},
        actor=None,
        actor_label="api:frontend",
    )
    services.session_start(
        player_id=p.pk, ip="198.51.100.23", device_id="dev-karin-phone", user_agent="Safari"
    )
    return p


def test_support_finds_a_player_by_email_and_adds_a_note(page: Page, live_server, operators, player):
    _sign_in(page, live_server.url, "support@pitboss.test")
    page.get_by_role("link", name="Find a player").click()
    page.get_by_label("Find a player").fill("Karin.Lindqvist@example.se")
    page.get_by_role("button", name="Search").click()

    # One match: straight to the player page.
    expect(page).to_have_url(re.compile(rf"/admin/players/player/{player.pk}/change/"))
    expect(page.get_by_test_id("player-public-id")).to_have_text(player.public_id)
    expect(page.get_by_test_id("player-name")).to_have_text("Karin Lindqvist")
    tabs = page.get_by_test_id("player-tabs")
    for title in ["Profile", "Notes", "Sessions and devices", "Audit trail"]:
        expect(tabs.get_by_role("link", name=title)).to_be_visible()
    expect(page.get_by_test_id("national-id-masked")).to_have_text("\u2022\u2022\u2022\u20229874")
    expect(page.get_by_test_id("national-id-reveal")).to_have_count(0)
    _shot(page, "player-page-support")

    tabs.get_by_role("link", name="Sessions and devices").click()
    expect(page.get_by_test_id("sessions")).to_contain_text("198.51.100.23")

    tabs.get_by_role("link", name="Notes").click()
    page.get_by_label("Note").fill("Called about a delayed withdrawal.")
    page.get_by_label("Pin to the top").check()
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_test_id("note-body").first).to_have_text("Called about a delayed withdrawal.")
    expect(page.get_by_test_id("note-pinned")).to_be_visible()
    _shot(page, "player-page-notes")
    assert AuditEvent.objects.filter(action="players.note.add", actor=operators["support"]).count() == 1


def test_compliance_reveals_the_national_id_after_confirming_their_password(
    page: Page, live_server, operators, player
):
    _sign_in(page, live_server.url, "compliance@pitboss.test")
    page.goto(f"{live_server.url}/admin/players/player/{player.pk}/change/")
    page.get_by_test_id("national-id-reveal").click()
    page.get_by_role("button", name="Reveal national id").click()

    # Revealing asks for a fresh sign-in first (allauth reauthentication).
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    assert not AuditEvent.objects.filter(action="players.national_id.reveal").exists()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_test_id("national-id-value")).to_have_text("198112289874")
    _shot(page, "national-id-revealed")
    event = AuditEvent.objects.get(action="players.national_id.reveal")
    assert event.actor == operators["compliance"] and event.target_id == str(player.pk)
    assert "198112289874" not in str(event.after)
