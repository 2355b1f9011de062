"""Screening's writes: importing a list version, screening one player or everyone, and
the officer's decision on a match. Reads for the console are in selectors.py."""

import hashlib
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from backoffice import approvals, audit
from backoffice.errors import DomainError

from .matching import Subject, adjust, band, name_score, normalise, prefilter_tokens
from .models import SANCTIONS_LISTS, ScreeningMatch, WatchlistEntry, WatchlistToken, WatchlistVersion
from .parsers import FORMATS, LIST_OF_FORMAT, PARSERS

UNKNOWN_FORMAT = "Unknown format {value!r}: one of " + ", ".join(FORMATS) + "."
FILE_MISSING = "No such file: {path}."
EMPTY_LIST = "The file has no entries: nothing imported (a list never becomes empty by mistake)."
MATCH_NOT_FOUND = "No such screening match."
MATCH_DECIDED = "This match was already decided ({status})."
REASON_REQUIRED = "Say why: a reason is required to confirm or dismiss a match."
UNKNOWN_DECISION = "Decide 'confirm' or 'dismiss'."
NAME_REQUIRED = "Enter a name to screen."
# Persons are screened against people and organisations; vessels and aircraft are not
# customers.
SCREENED_KINDS = (WatchlistEntry.Kind.INDIVIDUAL, WatchlistEntry.Kind.ENTITY)
DIFF_SAMPLE = 200  # ids kept per direction in the version's `changes`


# --- import -----------------------------------------------------------------------------


def _parse(fmt: str, paths: list[Path]):
    if fmt not in PARSERS:
        raise DomainError("unknown_format", UNKNOWN_FORMAT.format(value=fmt), field="format")
    for p in paths:
        if not p.is_file():
            raise DomainError("file_missing", FILE_MISSING.format(path=p), field="paths")
    parsed = PARSERS[fmt](paths)
    if not parsed.entries:
        raise DomainError("empty_list", EMPTY_LIST, field="paths")
    return parsed


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.read_bytes())
    return digest.hexdigest()


@transaction.atomic
def watchlist_import(
    *, fmt: str, paths: list[Path], actor=None, actor_label: str | None = None
) -> WatchlistVersion:
    """A new version of one list. Invariants: the previous version stays (entries kept,
    `current` off); the token index holds only current versions; the diff counts entries
    by the publisher's id; an empty file is refused. Queues the re-screen on commit.
    Imports whatever the file removes: the console goes through `watchlist_upload`."""
    paths = [Path(p) for p in paths]
    parsed = _parse(fmt, paths)
    previous = (
        WatchlistVersion.objects.select_for_update()
        .filter(watchlist=LIST_OF_FORMAT[fmt], current=True)
        .first()
    )
    return _import(fmt, paths, parsed, previous, actor, actor_label)


def _import(fmt, paths, parsed, previous, actor, actor_label) -> WatchlistVersion:
    watchlist = LIST_OF_FORMAT[fmt]
    old = (
        dict(WatchlistEntry.objects.filter(version=previous).values_list("external_id", "name"))
        if previous
        else {}
    )
    new = {e["external_id"]: e["name"] for e in parsed.entries}
    added = sorted(set(new) - set(old), key=_id_key)
    removed = sorted(set(old) - set(new), key=_id_key)
    if previous:
        WatchlistToken.objects.filter(entry__version=previous).delete()
        WatchlistVersion.objects.filter(pk=previous.pk).update(current=False)
    version = WatchlistVersion.objects.create(
        watchlist=watchlist,
        source_format=fmt,
        file_names=", ".join(p.name for p in paths)[:500],
        sha256=_sha256(paths),
        published_at=parsed.published_at[:40],
        imported_by=actor,
        entries=len(new),
        names=sum(1 + len(e["aliases"]) for e in parsed.entries),
        added=len(added),
        removed=len(removed),
        changes={
            "previous_version": previous.pk if previous else None,
            "added": [[i, new[i]] for i in added[:DIFF_SAMPLE]],
            "removed": [[i, old[i]] for i in removed[:DIFF_SAMPLE]],
        },
    )
    unique = {e["external_id"]: e for e in parsed.entries}  # a publisher's duplicate id: last wins
    rows = WatchlistEntry.objects.bulk_create(
        [WatchlistEntry(version=version, watchlist=watchlist, **e) for e in unique.values()], batch_size=2000
    )
    if not all(r.pk for r in rows):  # SQLite before 3.35 returns no ids from bulk inserts
        ids = dict(WatchlistEntry.objects.filter(version=version).values_list("external_id", "pk"))
        for r in rows:
            r.pk = ids[r.external_id]
    WatchlistToken.objects.bulk_create(
        [
            WatchlistToken(token=t, entry_id=r.pk)
            for r in rows
            for t in set().union(*(prefilter_tokens(n) for n in r.all_names))
        ],
        batch_size=5000,
    )
    audit.record(
        actor=actor,
        actor_label=actor_label if actor is None else None,
        action="compliance.watchlist.import",
        target=version,
        after={
            "list": watchlist,
            "entries": version.entries,
            "added": version.added,
            "removed": version.removed,
        },
    )
    from ..tasks import screening_rescreen_task

    transaction.on_commit(lambda: screening_rescreen_task.delay(version_id=version.pk))
    return version


# --- an upload that removes entries waits for a second officer ------------------------------

IMPORT_APPROVAL = "compliance.watchlist_import"
REMOVALS_NEED_APPROVAL = (
    "{count} entries would be removed: a second compliance officer must approve this import."
)
PENDING_FILES_CHANGED = "The uploaded files changed on disk since the request: upload the list again."
LIST_CHANGED = (
    "The {list} list has a newer version (#{current}) than the one this upload was compared with "
    "(#{previous}): upload the list again."
)
REMOVAL_SAMPLE = 20


def pending_dir() -> Path:
    """Where uploads waiting for approval are kept (private, like KYC documents)."""
    d = Path(getattr(settings, "WATCHLIST_PENDING_DIR", settings.DATA_DIR / "private" / "watchlists"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@transaction.atomic
def watchlist_upload(*, fmt: str, paths: list[Path], actor, reason: str = ""):
    """The console's upload. Adds only (or a first version): imported at once, returns the
    version. Removes entries: removing a sanctions entry releases holds (the re-screen marks
    its matches delisted), so the files are kept under the data dir and an approval request
    is returned; the import runs when a second officer approves (four-eyes)."""
    paths = [Path(p) for p in paths]
    parsed = _parse(fmt, paths)
    watchlist = LIST_OF_FORMAT[fmt]
    previous = WatchlistVersion.objects.select_for_update().filter(watchlist=watchlist, current=True).first()
    if previous is None:
        return _import(fmt, paths, parsed, previous, actor, None)
    old = dict(WatchlistEntry.objects.filter(version=previous).values_list("external_id", "name"))
    new_ids = {e["external_id"] for e in parsed.entries}
    removed = sorted(set(old) - new_ids, key=_id_key)
    if not removed:
        return _import(fmt, paths, parsed, previous, actor, None)
    folder = pending_dir() / uuid.uuid4().hex
    folder.mkdir()
    for p in paths:
        shutil.copyfile(p, folder / p.name)
    kept = [folder / p.name for p in paths]
    added = len(new_ids - set(old))
    label = WatchlistVersion(watchlist=watchlist).get_watchlist_display()
    payload = {
        "format": fmt,
        "watchlist": watchlist,
        "folder": folder.name,
        "files": [p.name for p in kept],
        "sha256": _sha256(kept),
        "previous_version": previous.pk,
        "previous_entries": len(old),
        "entries": len(new_ids),
        "added": added,
        "removed": len(removed),
        "removed_sample": [[i, old[i]] for i in removed[:REMOVAL_SAMPLE]],
    }
    summary = (
        f"Import {label}: {len(new_ids)} entries replacing version {previous.pk} ({len(old)}): "
        f"{added} added, {len(removed)} REMOVED"
    )
    files = ", ".join(p.name for p in kept)
    reason = (reason or "").strip() or f"Uploaded {files}: removes {len(removed)} entries."
    try:
        return approvals.approval_request_create(
            action=IMPORT_APPROVAL, payload=payload, summary=summary, reason=reason, actor=actor
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _execute_import(payload: dict, requested_by, approved_by) -> dict:
    folder = pending_dir() / Path(payload["folder"]).name
    paths = [folder / Path(name).name for name in payload["files"]]
    if not all(p.is_file() for p in paths) or _sha256(paths) != payload["sha256"]:
        raise DomainError("watchlist_files_changed", PENDING_FILES_CHANGED)
    fmt = payload["format"]
    parsed = _parse(fmt, paths)
    watchlist = LIST_OF_FORMAT[fmt]
    previous = WatchlistVersion.objects.select_for_update().filter(watchlist=watchlist, current=True).first()
    if previous is None or previous.pk != payload["previous_version"]:
        raise DomainError(
            "watchlist_changed",
            LIST_CHANGED.format(
                list=watchlist, current=previous.pk if previous else "-", previous=payload["previous_version"]
            ),
        )
    version = _import(fmt, paths, parsed, previous, approved_by, None)
    return {
        "version": version.pk,
        "entries": version.entries,
        "added": version.added,
        "removed": version.removed,
    }


approvals.register(
    approvals.ApprovalAction(
        key=IMPORT_APPROVAL,
        permission="compliance.add_watchlistversion",
        execute=_execute_import,
        label="Import a watch-list version that removes entries",
    )
)


def _id_key(external_id: str):
    return (0, int(external_id), "") if external_id.isdigit() else (1, 0, external_id)


# --- matching against the current versions ---------------------------------------------


@dataclass(frozen=True)
class Hit:
    watchlist: str
    entry_id: int
    external_id: str
    kind: str
    matched_name: str
    score: float

    def as_dict(self) -> dict:
        return {
            "list": self.watchlist,
            "entry_id": self.external_id,
            "entry_pk": self.entry_id,
            "kind": self.kind,
            "matched_name": self.matched_name,
            "score": self.score,
        }


class EntryIndex:
    """The current entries of some lists in memory, with a token -> names map: the
    prefilter for the bulk re-screen (the database's token table serves single names)."""

    def __init__(self, entries):
        self.entries = list(entries)
        self.names: list[tuple[int, list[str], str]] = []  # (entry position, tokens, original)
        self.by_token: dict[str, list[int]] = defaultdict(list)
        for pos, e in enumerate(self.entries):
            for n in e.all_names:
                toks = normalise(n).split()
                if not toks:
                    continue
                i = len(self.names)
                self.names.append((pos, toks, n))
                for t in {t[:64] for t in toks if len(t) >= 2}:
                    self.by_token[t].append(i)

    def name_hits(self, name: str, floor: float) -> dict[int, tuple[float, str]]:
        """Entry position -> (best name score, that name) for scores at or above floor."""
        query = normalise(name).split()
        candidates: set[int] = set()
        for t in {t[:64] for t in query if len(t) >= 2}:
            candidates.update(self.by_token.get(t, ()))
        best: dict[int, tuple[float, str]] = {}
        for i in candidates:
            pos, toks, original = self.names[i]
            s = name_score(query, toks)
            if s >= floor and s > best.get(pos, (-1.0, ""))[0]:
                best[pos] = (s, original)
        return best

    def screen(self, subject: Subject, cache: dict | None = None) -> list[Hit]:
        floor = _name_floor()
        key = normalise(subject.name)
        if cache is not None and key in cache:
            by_entry = cache[key]
        else:
            by_entry = self.name_hits(subject.name, floor)
            if cache is not None:
                cache[key] = by_entry
        hits = []
        for pos, (s, original) in by_entry.items():
            e = self.entries[pos]
            score = adjust(s, subject, e.dates_of_birth, e.countries)
            if band(score):
                hits.append(Hit(e.watchlist, e.pk, e.external_id, e.kind, original, score))
        return sorted(hits, key=lambda h: (-h.score, h.watchlist, h.external_id))


def _name_floor() -> float:
    """Below this name score no bonus can lift a match into the review band."""
    return (
        settings.SCREENING_REVIEW_THRESHOLD - settings.SCREENING_DOB_BONUS - settings.SCREENING_COUNTRY_BONUS
    )


def _current_entries(lists=None):
    qs = WatchlistEntry.objects.filter(version__current=True, kind__in=SCREENED_KINDS)
    return qs.filter(watchlist__in=lists) if lists else qs


def screen(subject: Subject, *, lists=None) -> list[Hit]:
    """Matches at or above the review threshold, best first: the ad-hoc screen, the
    `screen_name` command and the single player's screen. Two queries: the token
    prefilter (indexed) and the candidates' entries."""
    if not normalise(subject.name):
        raise DomainError("name_required", NAME_REQUIRED, field="name")
    ids = WatchlistToken.objects.filter(token__in=prefilter_tokens(subject.name)).values("entry_id")
    entries = (
        _current_entries(lists)
        .filter(pk__in=ids)
        .only("pk", "watchlist", "external_id", "kind", "name", "aliases", "dates_of_birth", "countries")
    )
    return EntryIndex(entries).screen(subject)


def player_subject(player) -> Subject:
    countries = tuple(sorted({c for c in (player.nationality, player.country) if c}))
    return Subject(player.full_name, player.date_of_birth, countries)


# --- matches ----------------------------------------------------------------------------


def _freezes(watchlist: str, status: str, band_: str) -> bool:
    if watchlist not in SANCTIONS_LISTS:
        return False  # a PEP is a risk factor (enhanced due diligence), not a freeze
    return status == ScreeningMatch.Status.CONFIRMED or (
        status == ScreeningMatch.Status.OPEN and band_ == ScreeningMatch.Band.STRONG
    )


def _upsert(hits_by_player: dict[int, tuple[str, list[Hit]]]) -> tuple[int, int]:
    """Create new matches and refresh open ones; decided matches are left alone (a
    dismissed false positive stays dismissed through every re-screen). Three queries a
    batch whatever its size. Returns (created, updated)."""
    if not hits_by_player:
        return 0, 0
    existing = {
        (m.player_id, m.watchlist, m.external_id): m
        for m in ScreeningMatch.objects.filter(player_id__in=list(hits_by_player)).only(
            "pk", "player_id", "watchlist", "external_id", "status"
        )
    }
    now, new, changed = timezone.now(), [], []
    for player_id, (screened, hits) in hits_by_player.items():
        for h in hits:
            b = band(h.score)
            m = existing.get((player_id, h.watchlist, h.external_id))
            if m is None:
                new.append(
                    ScreeningMatch(
                        player_id=player_id,
                        watchlist=h.watchlist,
                        external_id=h.external_id,
                        entry_id=h.entry_id,
                        screened_name=screened[:250],
                        matched_name=h.matched_name[:400],
                        score=h.score,
                        band=b,
                        freezes=_freezes(h.watchlist, ScreeningMatch.Status.OPEN, b),
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif m.status == ScreeningMatch.Status.OPEN:
                m.entry_id, m.screened_name, m.matched_name = h.entry_id, screened[:250], h.matched_name[:400]
                m.score, m.band, m.updated_at = h.score, b, now
                m.freezes = _freezes(h.watchlist, m.status, b)
                changed.append(m)
    # ignore_conflicts: a registration screening the same player concurrently wins.
    ScreeningMatch.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    ScreeningMatch.objects.bulk_update(
        changed,
        ["entry", "screened_name", "matched_name", "score", "band", "freezes", "updated_at"],
        batch_size=2000,
    )
    return len(new), len(changed)


PLAYER_SCREEN_ACTION = "compliance.screening.player"
RESCREEN_ACTION = "compliance.screening.rescreen"
PLAYER_NO_NAME = "This player has no name on file: there is nothing to screen yet."


@transaction.atomic
def player_screen(*, player_id: int, actor=None, trigger: str = "profile") -> list[Hit]:
    """Screen one player against every current list (registration, a change of name or
    birth date, an officer's "screen again"). Every screening is audited with the list
    versions it used: the record of when this player was screened against what. A player
    without a name is skipped (refused when an officer asks)."""
    from players.models import Player

    player = Player.objects.get(pk=player_id)
    if not player.full_name:
        if actor is not None:
            raise DomainError("name_required", PLAYER_NO_NAME, field="player")
        return []
    versions = dict(WatchlistVersion.objects.filter(current=True).values_list("watchlist", "pk"))
    hits = screen(player_subject(player))
    created, updated = _upsert({player.pk: (player.full_name, hits)}) if hits else (0, 0)
    audit.record(
        actor=actor,
        actor_label="system:screening" if actor is None else None,
        action=PLAYER_SCREEN_ACTION,
        target=player,
        after={
            "trigger": trigger,
            "versions": versions,
            "hits": len(hits),
            "created": created,
            "updated": updated,
            "matches": [h.as_dict() for h in hits[:20]],
        },
    )
    return hits


def screening_rescreen(*, version_id: int | None = None, batch_size: int = 5000) -> dict:
    """Re-screen every player who is not closed against the new version's list (or all
    current lists). Set-based: the list is held in memory once, players are read in
    batches of plain values, a name shared by many players is scored once, and each
    batch writes with three queries. Open matches whose entry left the list are marked
    delisted (and release their hold). Safe to retry: matches have a natural key."""
    from players.models import Player

    lists = None
    if version_id is not None:
        lists = [WatchlistVersion.objects.values_list("watchlist", flat=True).get(pk=version_id)]
    index = EntryIndex(
        _current_entries(lists).only(
            "pk", "watchlist", "external_id", "kind", "name", "aliases", "dates_of_birth", "countries"
        )
    )
    cache: dict = {}
    counts = {"players": 0, "matched_players": 0, "created": 0, "updated": 0}
    rows = (
        Player.objects.exclude(status=Player.Status.CLOSED)
        .order_by("pk")
        .values_list("pk", "first_name", "last_name", "date_of_birth", "nationality", "country")
    )
    batch: dict[int, tuple[str, list[Hit]]] = {}
    for pk, first, last, dob, nationality, country in rows.iterator(chunk_size=batch_size):
        counts["players"] += 1
        name = f"{first} {last}".strip()
        if not name:
            continue
        hits = index.screen(Subject(name, dob, tuple(c for c in {nationality, country} if c)), cache)
        if hits:
            batch[pk] = (name, hits)
        if len(batch) >= batch_size:
            _flush(batch, counts)
    _flush(batch, counts)
    stale = ScreeningMatch.objects.filter(status=ScreeningMatch.Status.OPEN)
    if lists:
        stale = stale.filter(watchlist__in=lists)
    listed = WatchlistEntry.objects.filter(
        version__current=True, watchlist=OuterRef("watchlist"), external_id=OuterRef("external_id")
    )
    counts["delisted"] = stale.filter(~Exists(listed)).update(
        status=ScreeningMatch.Status.DELISTED, freezes=False, updated_at=timezone.now()
    )
    audit.record(
        actor=None,
        actor_label="system:screening",
        action=RESCREEN_ACTION,
        after={"version_id": version_id, **counts},
    )
    return counts


def _flush(batch: dict, counts: dict) -> None:
    with transaction.atomic():
        created, updated = _upsert(batch)
    counts["matched_players"] += len(batch)
    counts["created"] += created
    counts["updated"] += updated
    batch.clear()


@transaction.atomic
def screening_match_decide(*, match_id: int, decision: str, reason: str, actor) -> ScreeningMatch:
    """Confirm (a true match) or dismiss (a false positive) an open match. Invariants: a
    reason; only open (or delisted) matches; a confirmed sanctions match freezes the
    player through the gates, a dismissed one releases any hold; audited."""
    if decision not in ("confirm", "dismiss"):
        raise DomainError("unknown_decision", UNKNOWN_DECISION, field="decision")
    if not (reason or "").strip():
        raise DomainError("reason_required", REASON_REQUIRED, field="reason")
    try:
        m = ScreeningMatch.objects.select_for_update().get(pk=match_id)
    except ScreeningMatch.DoesNotExist:
        raise DomainError("match_not_found", MATCH_NOT_FOUND, status=404) from None
    if m.status not in (ScreeningMatch.Status.OPEN, ScreeningMatch.Status.DELISTED):
        raise DomainError("match_decided", MATCH_DECIDED.format(status=m.get_status_display().lower()))
    before = {"status": m.status, "freezes": m.freezes}
    m.status = ScreeningMatch.Status.CONFIRMED if decision == "confirm" else ScreeningMatch.Status.DISMISSED
    m.freezes = _freezes(m.watchlist, m.status, m.band)
    m.reason, m.decided_by, m.decided_at = reason.strip(), actor, timezone.now()
    m.save(update_fields=["status", "freezes", "reason", "decided_by", "decided_at"])
    audit.record(
        actor=actor,
        action=f"compliance.screening_match.{decision}",
        target=m,
        before=before,
        after={"status": m.status, "freezes": m.freezes, "player_id": m.player_id, "entry": m.external_id},
        note=m.reason,
    )
    return m
