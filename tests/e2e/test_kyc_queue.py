"""A compliance officer works the KYC queue in the browser; a support agent cannot open
the document."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from compliance import kyc
from compliance.models import KycLevel
from players.models import Player
from tests.e2e.test_approvals import sign_in
from tests.e2e.test_console_signin import _shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A one-page PDF with a line of text, small enough to keep inline.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R/Resources<<>>>>endobj\n"
    b"4 0 obj<</Length 0>>stream\n\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.KYC_STORAGE_DIR = tmp_path / "kyc"


def test_compliance_officer_approves_a_passport_and_the_level_changes(
    page: Page, live_server, operators, browser
):
    player = Player.objects.create(
        jurisdiction="MT",
        currency="EUR",
        first_name="Maria",
        last_name="Borg",
        date_of_birth=date(1988, 3, 14),
    )
    doc = kyc.document_upload(
        player_id=player.pk,
        document_type="passport",
        file_name="passport.pdf",
        content=PDF,
        source="api:frontend",
    )
    sign_in(page, live_server.url, "compliance@pitboss.test")
    page.get_by_role("link", name="KYC queue").click()
    expect(page.get_by_test_id("kyc-player")).to_contain_text("Maria Borg")
    expect(page.get_by_test_id("kyc-preview")).to_be_visible()
    _shot(page, "kyc-queue")
    preview = page.request.get(f"{live_server.url}/admin/compliance/kyc/{doc.pk}/file/")
    assert preview.status == 200 and preview.body().startswith(b"%PDF")
    page.get_by_label("Approve").check()
    page.get_by_label("Expires on").fill((date.today() + timedelta(days=800)).isoformat())
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("approved")).to_be_visible()
    expect(page.get_by_test_id("kyc-waiting")).to_contain_text("0 documents waiting")
    assert kyc.profile(player).level == KycLevel.BASIC

    support = browser.new_context().new_page()
    sign_in(support, live_server.url, "support@pitboss.test")
    r = support.goto(f"{live_server.url}/admin/compliance/kyc/{doc.pk}/file/")
    assert r is not None and r.status == 403
    expect(support.get_by_role("link", name="KYC queue")).to_have_count(0)
    support.goto(f"{live_server.url}/admin/")
    expect(support).to_have_url(re.compile(r"/admin/$"))
