"""Sanctions and PEP screening: imports, matching, the review queue and the gates."""

import gzip
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from backoffice.errors import DomainError
from backoffice.models import AuditEvent
from compliance import gates
from compliance.models import ScreeningMatch, WatchlistEntry, WatchlistToken, WatchlistVersion
from compliance.screening import services
from compliance.screening.matching import Subject
from players.models import Player
from players.services import player_register, player_update

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"
OFAC_2021 = [DATA / "ofac_2021" / f for f in ("sdn.csv", "alt.csv", "add.csv")]
OFAC_2024 = [DATA / "ofac_2024" / "sdn.csv"]
# The whole UN consolidated list (public data, gzipped copy of ../shared/reference/watchlists).
FULL_UN_GZ = DATA / "un_consolidated.xml.gz"

# ~50 ordinary European names: none may reach the review band.
ORDINARY = (DATA / "ordinary_names.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture
def lists(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.watchlist_import(fmt="ofac-csv", paths=OFAC_2024)
        services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])


@pytest.fixture
def un_only(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])


def _names(hits):
    return [(h.watchlist, h.external_id) for h in hits]


def _player(first, last, dob=None, nationality=""):
    return Player.objects.create(
        jurisdiction="MT",
        currency="EUR",
        first_name=first,
        last_name=last,
        date_of_birth=dob,
        nationality=nationality,
    )


# --- imports ------------------------------------------------------------------------------


def test_ofac_import_reads_aliases_addresses_and_the_diff_between_versions(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        v1 = services.watchlist_import(fmt="ofac-csv", paths=OFAC_2021)
    assert len(callbacks) == 1  # the re-screen is queued after commit
    noriega = WatchlistEntry.objects.get(version=v1, external_id="1572")
    assert (
        noriega.name == "Manuel Antonio NORIEGA"
        and noriega.kind == "individual"
        and "PA" in noriega.countries
    )
    cuba_bank = WatchlistEntry.objects.get(version=v1, external_id="306")
    assert "NATIONAL BANK OF CUBA" in cuba_bank.aliases and cuba_bank.kind == "entity"
    assert v1.entries == 52 and v1.added == 52 and v1.removed == 0

    v2 = services.watchlist_import(fmt="ofac-csv", paths=OFAC_2024)
    v1.refresh_from_db()
    assert not v1.current and v2.current
    removed = {i for i, _ in v2.changes["removed"]}
    added = {i for i, _ in v2.changes["added"]}
    assert "1572" in removed and {"35096", "9647"} <= added
    assert v2.added == len(added) and v2.removed == len(removed)
    putin = WatchlistEntry.objects.get(version=v2, external_id="35096")
    assert "1952-10-07" in putin.dates_of_birth and "RU" in putin.countries
    # Only the current version is in the prefilter's index.
    assert not WatchlistToken.objects.filter(entry__version=v1).exists()
    assert AuditEvent.objects.filter(action="compliance.watchlist.import").count() == 2


def test_un_import_reads_names_aliases_dates_and_original_script():
    v = services.watchlist_import(fmt="un-xml", paths=[DATA / "un_subset.xml"])
    assert v.watchlist == "un" and v.entries == 36 and v.published_at.startswith("2026-02-27")
    badege = WatchlistEntry.objects.get(version=v, external_id="CDi.001")
    assert badege.name == "ERIC BADEGE" and badege.dates_of_birth == ["1971"] and "CD" in badege.countries
    assert WatchlistEntry.objects.filter(version=v, kind="entity").count() == 8
    assert WatchlistEntry.objects.filter(version=v).exclude(aliases=[]).exists()


def test_the_whole_un_list_imports(tmp_path):
    full_un = tmp_path / "un_consolidated.xml"
    full_un.write_bytes(gzip.decompress(FULL_UN_GZ.read_bytes()))
    v = services.watchlist_import(fmt="un-xml", paths=[full_un])
    assert v.entries == 1003
    assert WatchlistEntry.objects.filter(version=v, kind="individual").count() == 730


def test_eu_and_pep_imports():
    eu = services.watchlist_import(fmt="eu-xml", paths=[DATA / "eu_sample.xml"])
    person = WatchlistEntry.objects.get(version=eu, external_id="900001")
    assert (
        person.kind == "individual" and person.dates_of_birth == ["1961-07-14"] and person.countries == ["RU"]
    )
    assert "Дмитрий Иванович Тестовский" in person.aliases
    assert WatchlistEntry.objects.get(version=eu, external_id="900002").kind == "entity"
    pep = services.watchlist_import(fmt="pep-csv", paths=[DATA / "pep_sample.csv"])
    assert pep.entries == 2
    hits = services.screen(Subject("Дмитрий Тестовский"))
    assert _names(hits) == [("eu", "900001")]
    assert _names(services.screen(Subject("Max Exampleton"))) == [("pep", "PEP-1")]


def test_a_bad_file_is_refused_in_plain_words(tmp_path):
    bad = tmp_path / "sdn.csv"
    bad.write_text("1,2,3\n")
    with pytest.raises(DomainError) as exc:
        services.watchlist_import(fmt="ofac-csv", paths=[bad])
    assert exc.value.code == "bad_file" and "a row has 3 fields" in exc.value.message
    with pytest.raises(DomainError) as exc:
        services.watchlist_import(fmt="un-xml", paths=[tmp_path / "missing.xml"])
    assert exc.value.code == "file_missing"
    assert not WatchlistVersion.objects.exists()


# --- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Vladimir Putin",  # middle name left out
        "Putin Vladimir",  # swapped
        "Vladimir Putn",  # a typo
        "Vladimír Pútin",  # diacritics
        "Владимир Путин",  # Cyrillic
        "PUTIN, Vladimir Vladimirovich",
    ],
)
def test_listed_names_are_found_despite_typos_order_and_script(lists, name):
    hits = services.screen(Subject(name))
    assert hits and (hits[0].watchlist, hits[0].external_id) == ("ofac_sdn", "35096")


def test_aliases_and_un_names_are_found(lists):
    assert ("un", "CDi.001") in _names(services.screen(Subject("Erik Badege")))
    assert ("ofac_sdn", "9647") in _names(services.screen(Subject("Khaled Mahmoud Zahar")))


def test_ordinary_names_are_not_flagged(lists):
    assert len(ORDINARY) >= 50
    flagged = {n: _names(services.screen(Subject(n))) for n in ORDINARY}
    assert {n: h for n, h in flagged.items() if h} == {}


def test_date_of_birth_and_country_move_the_score(lists):
    base = services.screen(Subject("Vladimir Putn"))[0].score
    same = services.screen(Subject("Vladimir Putn", date(1952, 10, 7), ("RU",)))[0].score
    other = services.screen(Subject("Vladimir Putn", date(1990, 1, 1), ("SE",)))
    assert same > base
    assert not other or other[0].score < base


# --- players, the queue and the gates -----------------------------------------------------


def test_registration_screens_and_a_strong_sanctions_match_holds_the_player(lists):
    p = player_register(
        jurisdiction="MT", first_name="Vladimir", last_name="Putin", date_of_birth=date(1952, 10, 7)
    )
    m = ScreeningMatch.objects.get(player=p)
    assert m.external_id == "35096" and m.band == "strong" and m.freezes
    assert gates.can_deposit(p, 100).code == "sanctions_review"


def test_a_name_change_rescreens(lists):
    p = player_register(
        jurisdiction="MT", first_name="Anna", last_name="Schmidt", date_of_birth=date(1980, 1, 1)
    )
    assert not ScreeningMatch.objects.filter(player=p).exists()
    player_update(
        player_id=p.pk,
        changes={"first_name": "Eric", "last_name": "Badege", "date_of_birth": "1971-06-01"},
        actor_label="test",
    )
    assert ScreeningMatch.objects.filter(player=p, external_id="CDi.001").exists()


def test_confirm_freezes_through_the_gates_and_is_audited(un_only, operators):
    p = _player("Eric", "Badegge", nationality="MT")
    services.player_screen(player_id=p.pk)
    m = ScreeningMatch.objects.get(player=p, watchlist="un")
    assert m.band == "review" and not m.freezes and gates.can_deposit(p, 100)
    with pytest.raises(DomainError) as exc:
        services.screening_match_decide(
            match_id=m.pk, decision="confirm", reason=" ", actor=operators["compliance"]
        )
    assert exc.value.code == "reason_required"
    services.screening_match_decide(
        match_id=m.pk,
        decision="confirm",
        reason="Passport matches the UN notice",
        actor=operators["compliance"],
    )
    for decision in (
        gates.can_deposit(p, 100),
        gates.can_wager(p, 100),
        gates.can_login_to_play(p),
        gates.can_withdraw(p),
    ):
        assert decision.code == "sanctions_match", decision
    assert (
        AuditEvent.objects.filter(action="compliance.screening_match.confirm", target_id=str(m.pk)).count()
        == 1
    )
    with pytest.raises(DomainError) as exc:
        services.screening_match_decide(
            match_id=m.pk, decision="dismiss", reason="x", actor=operators["compliance"]
        )
    assert exc.value.code == "match_decided"


def test_dismiss_releases_and_a_rescreen_neither_duplicates_nor_reopens(lists, operators):
    p = _player("Vladimir", "Putin")
    q = _player("Vladimir", "Putin", date(1952, 10, 7), "RU")
    first = services.screening_rescreen()
    assert first["created"] >= 2
    m = ScreeningMatch.objects.get(player=p, external_id="35096")
    assert gates.can_deposit(p, 100).code == "sanctions_review"
    services.screening_match_decide(
        match_id=m.pk, decision="dismiss", reason="Born 1990 in Malta", actor=operators["compliance"]
    )
    assert gates.can_deposit(p, 100) and gates.can_login_to_play(p)
    count = ScreeningMatch.objects.count()
    again = services.screening_rescreen()
    assert again["created"] == 0 and ScreeningMatch.objects.count() == count
    m.refresh_from_db()
    assert m.status == "dismissed" and not m.freezes
    assert ScreeningMatch.objects.get(player=q, external_id="35096").score == 100.0


def test_an_entry_leaving_the_list_marks_its_open_match_delisted(
    operators, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        v1 = services.watchlist_import(fmt="ofac-csv", paths=OFAC_2021)
    p = _player("Manuel", "Noriega")
    services.screening_rescreen(version_id=v1.pk)
    assert ScreeningMatch.objects.get(player=p).status == "open"
    with django_capture_on_commit_callbacks(execute=False):
        v2 = services.watchlist_import(fmt="ofac-csv", paths=OFAC_2024)
    services.screening_rescreen(version_id=v2.pk)  # what the queued task runs
    assert ScreeningMatch.objects.get(player=p).status == "delisted"


# --- commands -----------------------------------------------------------------------------


def test_import_watchlist_command_prints_counts_and_changes(capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        call_command("import_watchlist", "--format", "ofac-csv", *map(str, OFAC_2021))
        call_command("import_watchlist", "--format", "ofac-csv", str(OFAC_2024[0]), "--show", "50")
    out = capsys.readouterr().out
    assert "OFAC SDN version" in out and "52 entries" in out
    assert "- 1572 Manuel Antonio NORIEGA" in out and "+ 35096 Vladimir Vladimirovich PUTIN" in out


def test_screen_name_command_json_and_file(lists, capsys, tmp_path):
    call_command("screen_name", "Vladimir Putin", "--dob", "1952-10-07", "--country", "RU", "--json")
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["list"] == "ofac_sdn" and hits[0]["entry_id"] == "35096" and hits[0]["score"] == 100.0
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    names = tmp_path / "names.txt"
    names.write_text("Anna Schmidt\nEric Badege\n", encoding="utf-8")
    call_command("screen_name", "--file", str(names), "--json")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [ln["name"] for ln in lines] == ["Anna Schmidt", "Eric Badege"]
    assert lines[0]["matches"] == [] and "CDi.001" in {m["entry_id"] for m in lines[1]["matches"]}


# --- console ------------------------------------------------------------------------------


def test_queue_decides_through_the_service(client, operators, lists):
    p = _player("Eric", "Badege")
    services.player_screen(player_id=p.pk)
    client.force_login(operators["compliance"])
    url = reverse("admin:compliance_screening_queue")
    r = client.get(url)
    assert r.status_code == 200 and b"BADEGE" in r.content
    r = client.post(url, {"decision": "dismiss", "reason": ""})
    assert r.status_code == 200 and services.REASON_REQUIRED.encode() in r.content
    r = client.post(url, {"decision": "dismiss", "reason": "Different person: born 1999"})
    assert r.status_code == 302
    assert ScreeningMatch.objects.filter(player=p, status="dismissed").count() == 1


def test_adhoc_form_screens_and_says_what_is_wrong(client, operators, lists):
    client.force_login(operators["compliance"])
    url = reverse("admin:compliance_screening_check")
    r = client.post(url, {"name": "Vladimir Putin", "date_of_birth": "1952-13-40", "country": "Atlantis"})
    assert b"Write the date of birth as YYYY-MM-DD" in r.content and b"not a country we know" in r.content
    r = client.post(url, {"name": "Vladimir Putin", "date_of_birth": "1952-10-07", "country": "RU"})
    assert b"35096" in r.content
    assert AuditEvent.objects.filter(action="compliance.screening.adhoc").count() == 1


def test_match_list_runs_a_fixed_number_of_queries(client, operators, lists, django_assert_max_num_queries):
    for i in range(12):
        services.player_screen(player_id=_player("Vladimir", f"Putin{'' if i % 2 else 'e'}").pk)
    client.force_login(operators["compliance"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:compliance_screeningmatch_changelist")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:compliance_screening_queue")).status_code == 200
