"""Name normalisation and scoring. Pure functions: no database here, so the ad-hoc
screen, registration and the bulk re-screen score exactly alike.

Normalising: transliterate to Latin ASCII (anyascii: Cyrillic, Arabic, Greek, CJK, and
diacritics: "Müller" -> "muller"), lower case, punctuation to spaces, drop honorifics;
token order is handled by the scorer (tokens are compared sorted and one by one)."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from anyascii import anyascii
from django.conf import settings
from rapidfuzz import fuzz

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Titles and particles that say nothing about who a person is. Dropped from the score
# and from the prefilter (a token shared by thousands of names selects nothing).
STOP_TOKENS = frozenset(
    "mr mrs ms miss dr prof sir haji hajji sheikh shaykh general gen col colonel maj major capt "
    "the of and de del da di do dos das la le el al bin ibn bint ben van von der den du y e "
    "co ltd llc inc sa s a sl srl gmbh ag plc jsc ooo oao zao".split()
)


def normalise(name: str) -> str:
    """Latin lower-case words separated by one space, honorifics dropped."""
    # NFKC first so compatibility forms (full-width letters, ligatures) map to plain ones.
    text = anyascii(unicodedata.normalize("NFKC", name or "")).lower()
    return " ".join(t for t in _NON_ALNUM.sub(" ", text).split() if t not in STOP_TOKENS)


def tokens(name: str) -> list[str]:
    return normalise(name).split()


def prefilter_tokens(name: str) -> set[str]:
    """The tokens a candidate must share with the name: two letters or more."""
    return {t[:64] for t in tokens(name) if len(t) >= 2}


TOKEN_FLOOR = 80.0  # one typo in a 5-letter token is 80


def name_score(query: list[str], candidate: list[str]) -> float:
    """0-100: how close two token lists are.

    Why not a single rapidfuzz scorer: `token_sort_ratio` (the whole name compared with
    tokens sorted) handles swapped tokens and typos, but a list entry usually carries
    middle names a player leaves out ("Manuel Noriega" vs "NORIEGA, Manuel Antonio" is
    only ~80). `token_set_ratio` forgives the missing names but gives 100 to any name
    contained in another ("Ali" in every "ALI, ..."), and `WRatio` adds `partial_ratio`,
    which scores substrings ("Ann" in "Joanna"): both flag ordinary names. So we take
    the better of token_sort_ratio and an aligned score: every query token against its
    best entry token (`fuzz.ratio`, so a typo costs a little), averaged by token length,
    where a token below TOKEN_FLOOR counts as no match at all (sharing a first name with
    a listed person is not a match), less 2 points per entry token left unmatched
    (capped at 6)."""
    if not query or not candidate:
        return 0.0
    whole = fuzz.token_sort_ratio(" ".join(query), " ".join(candidate))
    used: set[int] = set()
    total = weight = 0.0
    for q in sorted(query, key=len, reverse=True):
        best, best_i = 0.0, -1
        for i, c in enumerate(candidate):
            if i in used:
                continue
            s = fuzz.ratio(q, c)
            if s > best:
                best, best_i = s, i
        if best_i >= 0:
            used.add(best_i)
        total += (best if best >= TOKEN_FLOOR else 0.0) * len(q)
        weight += len(q)
    aligned = total / weight - min(2 * (len(candidate) - len(used)), 6)
    if len(query) == 1 and len(candidate) > 1:
        aligned -= 10  # one word against a full name is weak evidence
    return max(whole, aligned)


@dataclass(frozen=True)
class Subject:
    name: str
    date_of_birth: date | None = None
    countries: tuple[str, ...] = ()


def adjust(score: float, subject: Subject, dobs: list[str], countries: list[str]) -> float:
    """Raise the name score for a matching date of birth (full date, or year only where
    the list knows only the year) or country; lower it for a mismatch. Unknown on either
    side changes nothing."""
    if subject.date_of_birth and dobs:
        full, year = subject.date_of_birth.isoformat(), subject.date_of_birth.year
        if full in dobs:
            score += settings.SCREENING_DOB_BONUS
        elif any(d[:4].isdigit() and abs(int(d[:4]) - year) <= 1 for d in dobs):
            score += settings.SCREENING_DOB_BONUS / 2 if any(len(d) == 4 for d in dobs) else 0
        else:
            score -= settings.SCREENING_DOB_PENALTY
    if subject.countries and countries:
        if set(subject.countries) & set(countries):
            score += settings.SCREENING_COUNTRY_BONUS
        else:
            score -= settings.SCREENING_COUNTRY_PENALTY
    return round(max(0.0, min(100.0, score)), 1)


def band(score: float) -> str | None:
    if score >= settings.SCREENING_CONFIRM_THRESHOLD:
        return "strong"
    if score >= settings.SCREENING_REVIEW_THRESHOLD:
        return "review"
    return None
