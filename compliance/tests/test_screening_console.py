"""The screening console: the watch-list upload (the console's import_watchlist), a
version's page, the player page's Screening tab with "screen again", and
`screen_name --file`."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import Page, expect

from backoffice import approvals
from backoffice.errors import DomainError
from backoffice.models import ApprovalRequest, AuditEvent
from compliance.admin_screening import EMPTY_FILE, OFAC_ONLY
from compliance.models import ScreeningMatch, WatchlistVersion
from compliance.screening import services
from players.models import Player
from players.services import player_register

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"
UPLOAD = "admin:compliance_watchlist_upload"


def _file(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def _ofac_2021() -> dict:
    d = DATA / "ofac_2021"
    return {
        "format": "ofac-csv",
        "file": _file(d / "sdn.csv"),
        "alt_file": _file(d / "alt.csv"),
        "add_file": _file(d / "add.csv"),
    }


def _player(first, last, **kw) -> Player:
    return Player.objects.create(jurisdiction="MT", currency="EUR", first_name=first, last_name=last, **kw)


def _tab(player) -> str:
    return reverse("admin:players_player_change", args=[player.pk]) + "?tab=screening"


@pytest.fixture
def un_list(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])


# --- upload -------------------------------------------------------------------------------


def test_upload_of_ofac_creates_a_version_and_its_page_shows_the_changes(
    client, operators, django_capture_on_commit_callbacks
):
    client.force_login(operators["compliance"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        r = client.post(reverse(UPLOAD), _ofac_2021())
    first = WatchlistVersion.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse(
        "admin:compliance_watchlistversion_change", args=[first.pk]
    )
    assert first.entries == 52 and first.file_names == "sdn.csv, alt.csv, add.csv"
    assert first.imported_by == operators["compliance"]
    assert len(queued) == 1  # the re-screen of every player, after commit
    event = AuditEvent.objects.get(action="compliance.watchlist.import")
    assert event.actor == operators["compliance"] and event.after["entries"] == 52

    # The next version, uploaded as the 2024 file (sdn.csv only), diffed against the first.
    # It removes entries, so it waits for a second officer (the MLRO) to approve it.
    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(
            reverse(UPLOAD),
            {"format": "ofac-csv", "file": _file(DATA / "ofac_2024" / "sdn.csv", "sdn-2024.csv")},
        )
    assert WatchlistVersion.objects.get(current=True) == first
    req = ApprovalRequest.objects.get(action=services.IMPORT_APPROVAL)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        approvals.approval_approve(request_id=req.pk, actor=operators["mlro"])
    assert len(queued) == 1
    second = WatchlistVersion.objects.get(current=True)
    page = client.get(reverse("admin:compliance_watchlistversion_change", args=[second.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and second.pk != first.pk
    assert f"{second.added} added, {second.removed} removed" in html and f"version {first.pk}" in html
    assert "1572" in html and "Manuel Antonio NORIEGA" in html  # removed
    assert "35096" in html and "Vladimir Vladimirovich PUTIN" in html  # added
    assert "Queued: every player is being re-screened" in html

    # What the queued task runs; the page then reports it.
    _player("Vladimir", "Putin")
    services.screening_rescreen(version_id=second.pk)
    html = client.get(reverse("admin:compliance_watchlistversion_change", args=[second.pk])).content.decode()
    assert "1 player screened, 1 with a match" in html and "1 open match on this list" in html


def _bad(tmp_path, name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    "data, field, message",
    [
        (
            lambda: {"format": "ofac-csv", "file": _file(DATA / "ofac_2021" / "alt.csv")},
            "file",
            "This file has 5 columns per row, so it is not sdn.csv (12 columns)",
        ),
        (
            lambda: {
                "format": "ofac-csv",
                "file": _file(DATA / "ofac_2021" / "sdn.csv"),
                "alt_file": _file(DATA / "ofac_2021" / "add.csv"),
            },
            "alt_file",
            "This file has 6 columns per row, so it is not alt.csv (5 columns)",
        ),
        (
            lambda: {"format": "ofac-csv", "file": _file(DATA / "un_subset.xml")},
            "file",
            "so it is not sdn.csv",
        ),
        (
            lambda: {"format": "un-xml", "file": _file(DATA / "ofac_2021" / "sdn.csv")},
            "file",
            "sdn.csv is not a readable UN XML file",
        ),
        (
            lambda: {"format": "eu-xml", "file": _file(DATA / "un_subset.xml")},
            "file",
            "un_subset.xml is not a readable EU XML file: no export root",
        ),
        (
            lambda: {"format": "un-xml", "file": SimpleUploadedFile("un.xml", b"<CONSOLIDATED_LIST><INDIV")},
            "file",
            "un.xml is not a readable UN XML file",
        ),
        (
            lambda: {"format": "un-xml", "file": SimpleUploadedFile("un.xml", b"<CONSOLIDATED_LIST/>")},
            "file",
            services.EMPTY_LIST,
        ),
        (
            lambda: {"format": "pep-csv", "file": SimpleUploadedFile("pep.csv", b"id,name\nP1,Someone\n")},
            "file",
            "pep.csv is not a readable PEP CSV file: missing columns aliases, country, dob, position",
        ),
        (
            lambda: {"format": "pep-csv", "file": SimpleUploadedFile("pep.csv", b"")},
            "file",
            EMPTY_FILE,
        ),
        (
            lambda: {
                "format": "un-xml",
                "file": _file(DATA / "un_subset.xml"),
                "add_file": _file(DATA / "ofac_2021" / "add.csv"),
            },
            "add_file",
            OFAC_ONLY.format(format="UN Security Council consolidated list"),
        ),
        (lambda: {"format": "ofac-csv"}, "file", "Choose the list file."),
    ],
    ids=[
        "alt-as-sdn",
        "add-as-alt",
        "xml-as-ofac",
        "csv-as-un",
        "un-as-eu",
        "malformed-xml",
        "no-entries",
        "pep-missing-columns",
        "empty",
        "add-with-un",
        "no-file",
    ],
)
def test_a_bad_upload_says_what_is_wrong_and_creates_nothing(client, operators, data, field, message):
    client.force_login(operators["compliance"])
    r = client.post(reverse(UPLOAD), data())
    assert r.status_code == 200
    assert message in " ".join(r.context["form"].errors.get(field, [])), r.context["form"].errors
    assert not WatchlistVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="compliance.watchlist.import").exists()


@pytest.mark.parametrize("role", ["support", "admin", "risk"])
def test_only_compliance_may_upload_a_list(client, operators, role):
    client.force_login(operators[role])
    assert client.get(reverse(UPLOAD)).status_code == 403
    assert client.post(reverse(UPLOAD), _ofac_2021()).status_code == 403
    assert not WatchlistVersion.objects.exists()
    assert b"Import a watch list" not in client.get(reverse("admin:index")).content


def test_version_list_and_page_run_a_fixed_number_of_queries(
    client, operators, django_capture_on_commit_callbacks
):
    client.force_login(operators["compliance"])
    url = reverse("admin:compliance_watchlistversion_changelist")

    def count(u):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(u).status_code == 200
        return len(ctx.captured_queries)

    with django_capture_on_commit_callbacks(execute=False):
        v = services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])
    few, page_few = count(url), count(reverse("admin:compliance_watchlistversion_change", args=[v.pk]))
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(3):
            services.watchlist_import(fmt="ofac-csv", paths=[DATA / "ofac_2021" / "sdn.csv"])
            v = services.watchlist_import(fmt="ofac-csv", paths=[DATA / "ofac_2024" / "sdn.csv"])
    assert count(url) <= few
    assert count(reverse("admin:compliance_watchlistversion_change", args=[v.pk])) <= page_few


# --- the player page's Screening tab -----------------------------------------------------


def test_screening_tab_is_for_compliance_and_lists_the_matches(client, operators, un_list):
    p = _player("Eric", "Badege")
    services.player_screen(player_id=p.pk)
    services.player_screen(player_id=_player("Eric", "Badegge").pk)
    m = ScreeningMatch.objects.get(player=p, external_id="CDi.001")
    services.screening_match_decide(
        match_id=m.pk,
        decision="dismiss",
        reason="Born 1999 in Malta, passport seen",
        actor=operators["compliance"],
    )
    client.force_login(operators["compliance"])
    html = client.get(_tab(p)).content.decode()
    assert 'data-testid="tab-screening"' in html and 'data-testid="screening-tab"' in html
    assert "Dismissed (false positive)" in html and "ERIC BADEGE" in html and "CDi.001" in html
    assert "Born 1999 in Malta, passport seen" in html and operators["compliance"].email in html
    assert f"version {un_list.pk}" in html and "Last screened" in html
    assert "Screen again now" in html

    for role in ("support", "finance", "admin"):
        client.force_login(operators[role])
        html = client.get(_tab(p)).content.decode()
        assert 'data-testid="tab-screening"' not in html and "ERIC BADEGE" not in html, role
        assert client.post(reverse("admin:compliance_player_screen_again", args=[p.pk])).status_code == 403


def test_screen_again_rescreens_one_player_and_is_audited(client, operators, un_list):
    p = _player("Eric", "Badege")  # created without the registration service: never screened
    client.force_login(operators["compliance"])
    assert "Not screened against the current lists yet" in client.get(_tab(p)).content.decode()
    r = client.post(reverse("admin:compliance_player_screen_again", args=[p.pk]), follow=True)
    html = r.content.decode()
    assert r.redirect_chain[-1][0] == _tab(p)
    assert "Eric Badege again: 1 match at or above the review threshold (best: ERIC BADEGE" in html
    assert f"screened again by {operators['compliance'].email}" in html
    assert ScreeningMatch.objects.get(player=p).external_id == "CDi.001"
    event = AuditEvent.objects.get(action="compliance.screening.player", target_id=str(p.pk))
    assert event.actor == operators["compliance"]
    assert event.after["trigger"] == "operator" and event.after["versions"] == {"un": un_list.pk}
    assert event.after["hits"] == 1 and event.after["created"] == 1


def test_screen_again_refuses_a_player_without_a_name(client, operators, un_list):
    p = _player("", "")
    client.force_login(operators["compliance"])
    r = client.post(reverse("admin:compliance_player_screen_again", args=[p.pk]), follow=True)
    assert services.PLAYER_NO_NAME in r.content.decode()
    assert not AuditEvent.objects.filter(action="compliance.screening.player").exists()


def test_the_tab_says_which_list_versions_cover_the_player(
    client, operators, django_capture_on_commit_callbacks
):
    client.force_login(operators["compliance"])
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=False):
            un1 = services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        p = player_register(
            jurisdiction="MT", first_name="Anna", last_name="Schmidt", date_of_birth=date(1980, 1, 1)
        )
    html = client.get(_tab(p)).content.decode()
    assert f"version {un1.pk}" in html and "screened 2026-03-02 10:00 (registration" in html
    with time_machine.travel(datetime(2026, 3, 5, 8, 0, tzinfo=UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=False):
            un2 = services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])
            ofac = services.watchlist_import(fmt="ofac-csv", paths=[DATA / "ofac_2024" / "sdn.csv"])
    html = client.get(_tab(p)).content.decode()
    assert f"version {un2.pk}" in html and f"version {ofac.pk}" in html
    assert html.count("<b>not yet</b>") == 2  # the re-screens are queued, not run
    with time_machine.travel(datetime(2026, 3, 5, 8, 30, tzinfo=UTC), tick=False):
        services.screening_rescreen(version_id=un2.pk)
    html = client.get(_tab(p)).content.decode()
    assert html.count("<b>not yet</b>") == 1
    assert "screened 2026-03-05 08:30 (re-screen of all players)" in html
    assert "Last screened 2026-03-05 08:30" in html


def test_screening_tab_runs_a_fixed_number_of_queries(client, operators, un_list):
    client.force_login(operators["compliance"])
    short, long = _player("Eric", "Badege"), _player("Long", "History")
    services.player_screen(player_id=short.pk)
    services.player_screen(player_id=long.pk)
    entry = ScreeningMatch.objects.get(player=short).entry
    ScreeningMatch.objects.bulk_create(
        ScreeningMatch(
            player=long,
            watchlist="un",
            external_id=f"X{i}",
            entry=entry,
            screened_name="Long History",
            matched_name=f"Name {i}",
            score=88,
            band="review",
            status="dismissed",
            reason="Different person",
            decided_by=operators["compliance"],
        )
        for i in range(40)
    )
    for _ in range(5):
        services.player_screen(player_id=long.pk, actor=operators["compliance"], trigger="operator")

    def count(player):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_tab(player)).status_code == 200
        return len(ctx.captured_queries)

    few = count(short)
    assert count(long) <= few


# --- screen_name --file ------------------------------------------------------------------


def test_screen_name_file_prints_one_json_line_per_name_in_order(capsys, tmp_path, un_list):
    names = tmp_path / "names.txt"
    names.write_text("Eric Badege\n\nAnna Schmidt\n---\nЭрик Бадеге\nEric Badege\n", encoding="utf-8")
    call_command("screen_name", "--file", str(names), "--dob", "1971-06-01")
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["name"] for x in lines] == ["Eric Badege", "Anna Schmidt", "---", "Эрик Бадеге", "Eric Badege"]
    assert lines[0]["matches"][0]["entry_id"] == "CDi.001" and lines[0] == lines[4]
    assert lines[1]["matches"] == []
    assert lines[2]["error"]["code"] == "name_required" and lines[2]["matches"] == []
    assert "CDi.001" in {m["entry_id"] for m in lines[3]["matches"]}


def test_screen_name_file_refuses_a_missing_or_unreadable_file(tmp_path, un_list):
    with pytest.raises(CommandError, match="No file at"):
        call_command("screen_name", "--file", str(tmp_path / "nope.txt"))
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Müller\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("screen_name", "--file", str(latin))
    with pytest.raises(CommandError, match="not both"):
        call_command("screen_name", "Eric Badege", "--file", str(latin))


# --- in the browser, with a real worker ----------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_an_officer_uploads_the_ofac_list_and_sees_the_rescreen_finish(
    page: Page, live_server, operators, celery_worker_process
):
    from tests.e2e.test_approvals import sign_in

    p = _player("Vladimir", "Putin", date_of_birth=date(1952, 10, 7), nationality="RU")
    sign_in(page, live_server.url, "compliance@pitboss.test")
    page.get_by_role("link", name="Import a watch list").click()
    page.get_by_label("Format").select_option("ofac-csv")
    page.get_by_label("List file").set_input_files(str(DATA / "ofac_2021" / "alt.csv"))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("This file has 5 columns per row, so it is not sdn.csv")).to_be_visible()
    assert not WatchlistVersion.objects.exists()

    page.get_by_label("Format").select_option("ofac-csv")
    page.get_by_label("List file").set_input_files(str(DATA / "ofac_2024" / "sdn.csv"))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("version-entries")).to_contain_text("52 entries")
    expect(page.get_by_test_id("version-added")).to_contain_text("Vladimir Vladimirovich PUTIN")
    # The worker re-screens every player; the card refreshes itself until it is done.
    expect(page.get_by_test_id("version-rescreen")).to_contain_text(
        "1 player screened, 1 with a match", timeout=30_000
    )
    page.goto(live_server.url + _tab(p))
    expect(page.get_by_test_id("screening-matches")).to_contain_text("35096")
    expect(page.get_by_test_id("screening-status")).to_contain_text("re-screen of all players")


# --- an upload that removes entries needs a second officer (four-eyes) -------------------------

PEP_V1 = b"id,name,aliases,dob,country,position\nP1,John Smith,,1960,MT,MP\nP2,Anna Berg,,1970,SE,Minister\n"
PEP_ADDS = PEP_V1 + b"P3,Karl Vella,,1955,MT,Judge\n"
CUT_DOWN_UN = (
    b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>999999</DATAID><FIRST_NAME>NOBODY</FIRST_NAME>"
    b"<SECOND_NAME>ATALL</SECOND_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
)


@pytest.fixture
def pending_dir(settings, tmp_path):
    settings.WATCHLIST_PENDING_DIR = tmp_path / "pending"
    return settings.WATCHLIST_PENDING_DIR


def _pep(content: bytes) -> dict:
    return {"format": "pep-csv", "file": SimpleUploadedFile("pep.csv", content)}


def test_an_upload_that_only_adds_imports_at_once(client, operators, pending_dir):
    client.force_login(operators["compliance"])
    client.post(reverse(UPLOAD), _pep(PEP_V1))
    r = client.post(reverse(UPLOAD), _pep(PEP_ADDS))
    current = WatchlistVersion.objects.get(current=True)
    assert r["Location"] == reverse("admin:compliance_watchlistversion_change", args=[current.pk])
    assert current.entries == 3 and current.added == 1 and current.removed == 0
    assert not ApprovalRequest.objects.exists()


def test_a_cut_down_sanctions_list_waits_for_a_second_officer_and_keeps_the_hold(
    client, operators, pending_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])
    player = _player("Eric", "Badege", date_of_birth=date(1971, 1, 1))
    services.player_screen(player_id=player.pk)
    match = ScreeningMatch.objects.get(player=player, watchlist="un")
    assert match.freezes

    client.force_login(operators["compliance"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        r = client.post(
            reverse(UPLOAD),
            {"format": "un-xml", "file": SimpleUploadedFile("un.xml", CUT_DOWN_UN), "reason": "new feed"},
        )
    req = ApprovalRequest.objects.get(action=services.IMPORT_APPROVAL)
    assert r.status_code == 302 and r["Location"] == reverse(
        "admin:backoffice_approval_decide", args=[req.pk]
    )
    assert not queued  # no re-screen: nothing changed yet
    assert WatchlistVersion.objects.get(current=True) == first
    removed = first.entries
    shown = client.get(r["Location"]).content.decode()
    assert services.REMOVALS_NEED_APPROVAL.format(count=removed) in shown
    assert f"{removed} REMOVED" in req.summary and "1 added" in req.summary
    assert req.payload["removed"] == removed and req.payload["previous_version"] == first.pk
    assert req.reason == "new feed"
    assert (pending_dir / req.payload["folder"] / "un.xml").read_bytes() == CUT_DOWN_UN
    # The re-screen a later task runs still finds the entry: the hold stays.
    services.screening_rescreen(version_id=first.pk)
    assert ScreeningMatch.objects.get(pk=match.pk).freezes

    # The requester cannot approve it; a second compliance officer can.
    with pytest.raises(DomainError) as exc:
        approvals.approval_approve(request_id=req.pk, actor=operators["compliance"])
    assert exc.value.code == "four_eyes"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        req = approvals.approval_approve(request_id=req.pk, actor=operators["mlro"])
    assert len(queued) == 1  # the re-screen, after commit
    assert req.state == "approved", req.error
    second = WatchlistVersion.objects.get(current=True)
    assert second.pk == req.result["version"] and second.removed == removed and second.entries == 1
    assert second.imported_by == operators["mlro"]
    services.screening_rescreen(version_id=second.pk)  # what the queued task runs
    match.refresh_from_db()
    assert match.status == "delisted" and not match.freezes


def test_an_approved_import_fails_when_the_list_moved_on(
    operators, pending_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        services.watchlist_import(fmt="pep-csv", paths=[_write(pending_dir.parent / "v1.csv", PEP_ADDS)])
        req = services.watchlist_upload(
            fmt="pep-csv",
            paths=[_write(pending_dir.parent / "v2.csv", PEP_V1)],
            actor=operators["compliance"],
        )
        assert isinstance(req, ApprovalRequest) and req.payload["removed"] == 1
        newer = services.watchlist_import(
            fmt="pep-csv", paths=[_write(pending_dir.parent / "v3.csv", PEP_ADDS)]
        )
        req = approvals.approval_approve(request_id=req.pk, actor=operators["mlro"])
    assert req.state == "failed" and f"#{newer.pk}" in req.error
    assert WatchlistVersion.objects.get(current=True) == newer


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_pep_file_that_is_not_utf8_is_refused_clearly(client, operators):
    client.force_login(operators["compliance"])
    r = client.post(
        reverse(UPLOAD), _pep("id,name,aliases,dob,country,position\nP1,Jörg Öst,,,,MP\n".encode("cp1252"))
    )
    assert r.status_code == 200
    assert "pep.csv is not a readable PEP CSV file: it is not UTF-8 text" in r.content.decode()
    assert not WatchlistVersion.objects.exists()


def test_import_watchlist_warns_about_removals(tmp_path, django_capture_on_commit_callbacks):
    from io import StringIO

    with django_capture_on_commit_callbacks(execute=False):
        call_command(
            "import_watchlist",
            "--format",
            "pep-csv",
            str(_write(tmp_path / "a.csv", PEP_ADDS)),
            stdout=StringIO(),
        )
        err = StringIO()
        call_command(
            "import_watchlist",
            "--format",
            "pep-csv",
            str(_write(tmp_path / "b.csv", PEP_V1)),
            stdout=StringIO(),
            stderr=err,
        )
    assert "REMOVED: 1 entries" in err.getvalue() and "release the holds" in err.getvalue()
