"""Readers for the published list formats. Each returns a ParsedList: the publisher's
date (if it gives one) and the entries as plain dicts, nothing written. The formats are
described in docs/compliance.md and ../shared/reference/watchlists/README.md."""

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pycountry

from backoffice.errors import DomainError

FORMATS = ("ofac-csv", "un-xml", "eu-xml", "pep-csv")
LIST_OF_FORMAT = {"ofac-csv": "ofac_sdn", "un-xml": "un", "eu-xml": "eu", "pep-csv": "pep"}
BAD_FILE = "{name} is not a readable {format} file: {problem}."


@dataclass
class ParsedList:
    published_at: str = ""
    entries: list[dict] = field(default_factory=list)


def _entry(external_id: str, kind: str, name: str, **kw) -> dict:
    return {
        "external_id": external_id,
        "kind": kind,
        "name": name.strip(),
        "aliases": kw.get("aliases", []),
        "dates_of_birth": kw.get("dates_of_birth", []),
        "countries": kw.get("countries", []),
        "programs": kw.get("programs", "")[:300],
        "details": kw.get("details", ""),
    }


# --- countries ------------------------------------------------------------------------

# The publishers' own spellings that ISO 3166 does not carry.
_COUNTRY_ALIASES = {
    "burma": "MM",
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "korea north": "KP",
    "north korea": "KP",
    "democratic people s republic of korea": "KP",
    "korea south": "KR",
    "congo democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo republic of the": "CG",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "united republic of tanzania": "TZ",
    "vietnam": "VN",
    "viet nam": "VN",
    "laos": "LA",
    "moldova": "MD",
    "palestinian": "PS",
    "west bank": "PS",
    "region gaza": "PS",
    "state of palestine": "PS",
    "the gambia": "GM",
    "bahamas the": "BS",
    "cote d ivoire": "CI",
    "kosovo": "XK",
    "macau": "MO",
    "turkey": "TR",
    "czech republic": "CZ",
    "virgin islands british": "VG",
    "netherlands antilles": "AN",
    "taiwan": "TW",
    "brunei": "BN",
    "iran islamic republic of": "IR",
    "syrian arab republic": "SY",
    "libyan arab jamahiriya": "LY",
    "united kingdom of great britain and northern ireland": "GB",
    "united states of america": "US",
}
_COUNTRIES: dict[str, str] = {}


def _country_key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())


def country_code(text: str) -> str:
    """ISO alpha-2 for a country as the lists write it; "" when unknown."""
    if not _COUNTRIES:
        for c in pycountry.countries:
            for attr in ("name", "official_name", "common_name"):
                if getattr(c, attr, None):
                    _COUNTRIES[_country_key(getattr(c, attr))] = c.alpha_2
        _COUNTRIES.update(_COUNTRY_ALIASES)
    text = (text or "").strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return _COUNTRIES.get(_country_key(text), "")


def _codes(values) -> list[str]:
    return sorted({c for c in (country_code(v) for v in values) if c})


# --- OFAC SDN legacy CSV ----------------------------------------------------------------

_OFAC_KIND = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft"}
_AKA = re.compile(r"\b[afn]\.k\.a\. '([^']+)'")
_DOB = re.compile(
    r"DOB (?:circa )?((?:\d{1,2} )?(?:[A-Z][a-z]{2} )?\d{4})(?: to ((?:\d{1,2} )?(?:[A-Z][a-z]{2} )?\d{4}))?"
)
_NATIONALITY = re.compile(r"\b(?:nationality|citizen) ([A-Z][A-Za-z ,]+?)(?:;|\.|$)")


def _ofac_value(v: str) -> str:
    return "" if v.strip() == "-0-" else v.strip()


def _ofac_date(text: str) -> str:
    for fmt in ("%d %b %Y", "%b %Y"):
        try:
            d = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return d.date().isoformat() if fmt == "%d %b %Y" else str(d.year)
    return text[-4:]


def _ofac_rows(path: Path, width: int) -> list[list[str]]:
    text = path.read_bytes().decode("latin-1").replace("\x1a", "")
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    for r in rows:
        if len(r) != width:
            raise DomainError(
                "bad_file",
                BAD_FILE.format(name=path.name, format="OFAC", problem=f"a row has {len(r)} fields"),
            )
    return rows


def parse_ofac(paths: list[Path]) -> ParsedList:
    """sdn.csv (required), alt.csv and add.csv (optional), told apart by their width."""
    by_name = {p.name.lower(): p for p in paths}
    sdn = by_name.get("sdn.csv") or next((p for p in paths if "sdn" in p.name.lower()), None)
    if sdn is None:
        raise DomainError("bad_file", "The OFAC import needs sdn.csv (alt.csv and add.csv go with it).")
    entries: dict[str, dict] = {}
    for r in _ofac_rows(sdn, 12):
        ent, name, kind, program, remarks = (
            r[0],
            r[1],
            _ofac_value(r[2]),
            _ofac_value(r[3]),
            _ofac_value(r[11]),
        )
        if not ent.isdigit():
            raise DomainError("bad_file", BAD_FILE.format(name=sdn.name, format="OFAC", problem="no ent_num"))
        if "," in name and kind == "individual":  # "LAST, First Middle" -> "First Middle LAST"
            last, first = name.split(",", 1)
            name = f"{first.strip()} {last.strip()}"
        dobs = []
        for m in _DOB.finditer(remarks):
            dobs += [_ofac_date(m.group(1))] + ([_ofac_date(m.group(2))] if m.group(2) else [])
        entries[ent] = _entry(
            ent,
            _OFAC_KIND.get(kind.lower(), "entity"),
            name,
            aliases=_AKA.findall(remarks),
            dates_of_birth=sorted(set(dobs)),
            countries=_codes(m.group(1) for m in _NATIONALITY.finditer(remarks)),
            programs=program.replace("] [", ", "),
            details=remarks,
        )
    for p in paths:
        if p == sdn:
            continue
        width = len(_peek(p))
        if width not in (5, 6):
            raise DomainError(
                "bad_file", BAD_FILE.format(name=p.name, format="OFAC", problem="neither alt.csv nor add.csv")
            )
        for r in _ofac_rows(p, width):
            e = entries.get(r[0])
            if e is None:
                continue
            if len(r) == 5 and _ofac_value(r[3]):  # alt.csv
                alias = _ofac_value(r[3])
                if "," in alias and e["kind"] == "individual":
                    last, first_names = alias.split(",", 1)
                    alias = f"{first_names.strip()} {last.strip()}"
                if alias not in e["aliases"]:
                    e["aliases"].append(alias)
            elif len(r) == 6:  # add.csv: the country of each address
                code = country_code(_ofac_value(r[4]))
                if code and code not in e["countries"]:
                    e["countries"] = sorted([*e["countries"], code])
    return ParsedList(entries=list(entries.values()))


def _peek(path: Path) -> list[str]:
    return ofac_first_row(path.read_bytes()[:4096])


def ofac_first_row(head: bytes) -> list[str]:
    """The first row of an OFAC CSV from its first bytes: 12 fields in sdn.csv, 5 in alt.csv,
    6 in add.csv (the files have no header, so the width is what tells them apart)."""
    return next(csv.reader(io.StringIO(head.decode("latin-1"))), [])


OFAC_WIDTHS = {"sdn": 12, "alt": 5, "add": 6}


# --- UN consolidated XML ----------------------------------------------------------------


def _text(el, tag: str) -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _parse_xml(path: Path, fmt: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DomainError("bad_file", BAD_FILE.format(name=path.name, format=fmt, problem=exc)) from None


def parse_un(paths: list[Path]) -> ParsedList:
    root = _parse_xml(paths[0], "UN XML")
    if root.tag != "CONSOLIDATED_LIST":
        raise DomainError(
            "bad_file",
            BAD_FILE.format(name=paths[0].name, format="UN XML", problem="no CONSOLIDATED_LIST root"),
        )
    out = ParsedList(published_at=root.get("dateGenerated", ""))
    for kind, tag in (("individual", "INDIVIDUALS/INDIVIDUAL"), ("entity", "ENTITIES/ENTITY")):
        for el in root.iterfind(tag):
            parts = [_text(el, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
            aliases = [
                a.findtext("ALIAS_NAME").strip()
                for a in el.iterfind(f"{kind.upper()}_ALIAS")
                if (a.findtext("ALIAS_NAME") or "").strip()
            ]
            original = _text(el, "NAME_ORIGINAL_SCRIPT")
            if original:
                aliases.append(original)
            dobs = []
            for d in el.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
                if _text(d, "DATE"):
                    dobs.append(_text(d, "DATE")[:10])
                for t in ("YEAR", "FROM_YEAR", "TO_YEAR"):
                    if _text(d, t):
                        dobs.append(_text(d, t))
            countries = [v.text or "" for v in el.iterfind("NATIONALITY/VALUE")]
            countries += [c.text or "" for c in el.iterfind(f"{kind.upper()}_ADDRESS/COUNTRY")]
            out.entries.append(
                _entry(
                    _text(el, "REFERENCE_NUMBER") or _text(el, "DATAID"),
                    kind,
                    " ".join(p for p in parts if p),
                    aliases=aliases,
                    dates_of_birth=sorted(set(dobs)),
                    countries=_codes(countries),
                    programs=_text(el, "UN_LIST_TYPE"),
                    details=_text(el, "COMMENTS1")[:2000],
                )
            )
    return out


# --- EU consolidated XML (Financial Sanctions Files, FSF) -------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_eu(paths: list[Path]) -> ParsedList:
    """`<export generationDate=...><sanctionEntity logicalId=...>` with `<subjectType
    code="person|enterprise">`, `<nameAlias wholeName=...>`, `<birthdate birthdate=...
    year=...>`, `<citizenship countryIso2Code=...>`, `<regulation programme=...>`. The
    published file has a namespace; it is ignored here."""
    root = _parse_xml(paths[0], "EU XML")
    if _local(root.tag) != "export":
        raise DomainError(
            "bad_file", BAD_FILE.format(name=paths[0].name, format="EU XML", problem="no export root")
        )
    out = ParsedList(published_at=root.get("generationDate", ""))
    for el in root:
        if _local(el.tag) != "sanctionEntity":
            continue
        names, dobs, countries, programmes, kind = [], [], [], [], "entity"
        for child in el:
            tag = _local(child.tag)
            if tag == "subjectType" and child.get("code") == "person":
                kind = "individual"
            elif tag == "nameAlias" and (child.get("wholeName") or "").strip():
                names.append(child.get("wholeName").strip())
            elif tag == "birthdate":
                dobs.append(child.get("birthdate") or child.get("year") or "")
            elif tag == "citizenship" and child.get("countryIso2Code", "00") != "00":
                countries.append(child.get("countryIso2Code"))
            elif tag == "regulation" and child.get("programme"):
                programmes.append(child.get("programme"))
        if not names:
            continue
        out.entries.append(
            _entry(
                el.get("logicalId") or el.get("euReferenceNumber", ""),
                kind,
                names[0],
                aliases=list(dict.fromkeys(names[1:])),
                dates_of_birth=sorted({d for d in dobs if d}),
                countries=_codes(countries),
                programs=", ".join(dict.fromkeys(programmes)),
                details=el.get("euReferenceNumber", ""),
            )
        )
    return out


# --- PEP CSV (our documented format) --------------------------------------------------

PEP_COLUMNS = ("id", "name", "aliases", "dob", "country", "position")


def parse_pep(paths: list[Path]) -> ParsedList:
    """UTF-8 CSV with a header: id, name, aliases ("; "-separated), dob (YYYY-MM-DD or
    YYYY), country (ISO alpha-2 or a name), position."""
    try:
        return _parse_pep(paths)
    except UnicodeDecodeError:
        raise DomainError(
            "bad_file",
            BAD_FILE.format(
                name=paths[0].name,
                format="PEP CSV",
                problem="it is not UTF-8 text (save it from the spreadsheet as CSV UTF-8)",
            ),
        ) from None


def _parse_pep(paths: list[Path]) -> ParsedList:
    out = ParsedList()
    with paths[0].open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(PEP_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise DomainError(
                "bad_file",
                BAD_FILE.format(
                    name=paths[0].name,
                    format="PEP CSV",
                    problem=f"missing columns {', '.join(sorted(missing))}",
                ),
            )
        for i, row in enumerate(reader, start=2):
            if not (row["id"] or "").strip() or not (row["name"] or "").strip():
                raise DomainError(
                    "bad_file",
                    BAD_FILE.format(
                        name=paths[0].name, format="PEP CSV", problem=f"line {i} has no id or name"
                    ),
                )
            out.entries.append(
                _entry(
                    row["id"].strip(),
                    "individual",
                    row["name"],
                    aliases=[a.strip() for a in (row["aliases"] or "").split(";") if a.strip()],
                    dates_of_birth=[row["dob"].strip()] if (row["dob"] or "").strip() else [],
                    countries=_codes([row["country"] or ""]),
                    programs=(row["position"] or "").strip(),
                )
            )
    return out


PARSERS = {"ofac-csv": parse_ofac, "un-xml": parse_un, "eu-xml": parse_eu, "pep-csv": parse_pep}
