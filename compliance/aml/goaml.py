"""The goAML STR for an AML case: build the XML in the schema's element order, validate it
with lxml against GOAML_SCHEMA_PATH (compiled once per path), report each schema error.

Every FIU code comes from a GOAML_* setting. The defaults below are TEST VALUES that suit
the generic UNODC 5.0.1 schema shipped in compliance/aml/goaml_schema/ (placeholder code
lists); production sets the FIU's own values and points GOAML_SCHEMA_PATH at its package."""

import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from lxml import etree

from backoffice.money import exponent

SCHEMA_DEFAULT = Path(__file__).resolve().parent / "goaml_schema" / "goAMLSchema-5.0.1.xsd"

# TEST VALUES: what each FIU issues (reporting entity id, branch, code lists) differs.
DEFAULTS: dict = {
    "GOAML_SCHEMA_PATH": str(SCHEMA_DEFAULT),
    "GOAML_RENTITY_ID": 9999,  # TEST: the FIU's registration number for the casino
    "GOAML_RENTITY_BRANCH": "Pitboss Online (TEST)",
    "GOAML_CURRENCY_LOCAL": "EUR",
    "GOAML_ENTITY": {  # the casino: counterparty of every player transaction
        "name": "Pitboss Gaming Ltd (TEST)",
        "incorporation_number": "C-00000-TEST",
        "country": "MT",
        "institution_code": "PITBOSS-TEST",
    },
    "GOAML_LOCATION": {  # where the reporting entity reports from (t_address)
        "address_type": "-",
        "address": "1 Test Street (TEST)",
        "city": "Valletta",
        "zip": "VLT 1000",
        "country_code": "MT",
    },
    "GOAML_REPORTING_PERSON": {  # the MLRO's contact details not held on the operator
        "occupation": "Money laundering reporting officer",
        "phone_prefix": "356",
        "phone_number": "21000000",
        "contact_type": "-",
        "communication_type": "-",
    },
    "GOAML_CONTACT_TYPE": "-",  # the player's address and phone (contact_type)
    "GOAML_COMMUNICATION_TYPE": "-",  # the player's phone (communication_type)
    "GOAML_OCCUPATION_UNKNOWN": "Not known to the reporting entity",
    # funds_type by ledger transaction kind ("default" for the rest), both sides.
    "GOAML_FUNDS_CODES": {"default": "-"},
    # conduction_type (how the money moved) by transaction kind.
    "GOAML_TRANSMODE_CODES": {"default": "-"},
    # report_indicator_type by AML rule code; "default" when a rule has none.
    "GOAML_INDICATORS": {"default": ["-"]},
    "GOAML_ACTION": "The customer relationship is under review; no further transactions are facilitated "
    "without compliance approval.",
}

# Kinds where money moves from the player to the casino; the rest of the known flows go
# from the casino to the player. Anything else follows the sign of the player's cash.
FROM_PLAYER = {"deposit", "bet"}
TO_PLAYER = {"withdrawal_request", "withdrawal", "win"}
# Calling codes, longest first, to split "+35699123456" into prefix and number.
_CALLING_CODES = sorted(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 351 352 353 354 356 357 358 359 370 371 "
    "372 385 386 420 421 423".split(),
    key=len,
    reverse=True,
)


def conf(name: str):
    """A Django setting of that name, else the environment variable (JSON for the code
    maps, an integer for GOAML_RENTITY_ID), else the test default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    raw, default = os.environ.get(name), DEFAULTS[name]
    if raw is None:
        return default
    if isinstance(default, dict | list):
        return json.loads(raw)
    return int(raw) if isinstance(default, int) else raw


@dataclass
class Built:
    xml: str
    errors: list[str]  # schema errors, plus data problems found while building

    @property
    def valid(self) -> bool:
        return not self.errors


@lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def schema() -> etree.XMLSchema:
    """The compiled schema for the configured path (compiled once: ~190 kB of XSD)."""
    return _schema(str(conf("GOAML_SCHEMA_PATH")))


def validate(xml: str | bytes) -> list[str]:
    """Each schema error as "line N: message"; [] when the document is valid."""
    doc = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    s = schema()
    if s.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in s.error_log]


def sql_date(value: datetime | date) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    return datetime.combine(value, time()).isoformat()


def sql_decimal(minor: int, currency: str) -> str:
    """Minor units as a plain decimal in the currency's units ("1234.50")."""
    digits = exponent(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


# Characters XML 1.0 cannot carry (C0 controls but tab/newline/CR, surrogates, U+FFFE/F):
# lxml refuses them, so a control character in a player's name or a reason is dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def has_non_xml(text: str) -> bool:
    return bool(_NOT_XML.search(text or ""))


def _sub(parent, tag: str, text=None):
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = xml_safe(str(text))
    return el


def _opt(parent, tag: str, text) -> None:
    if text not in (None, ""):
        _sub(parent, tag, text)


def split_phone(phone: str) -> tuple[str, str] | None:
    digits = (phone or "").lstrip("+")
    if not digits.isdigit():
        return None
    for code in _CALLING_CODES:
        if digits.startswith(code) and len(digits) > len(code):
            return code, digits[len(code) :]
    return None


def _ssn(player) -> str:
    if not player.national_id_encrypted:
        return ""
    from players import national_id  # noqa: PLC0415

    try:
        return national_id.decrypt(player.national_id_encrypted)[:25]
    except Exception:  # noqa: BLE001  (a key rotated away: the report shows ssn missing)
        return ""


def _address(parent, tag: str, *, address_type, address, city, zip_code, country) -> None:
    a = _sub(parent, tag)
    _sub(a, "address_type", address_type)
    _sub(a, "address", address)
    _sub(a, "city", city)
    _opt(a, "zip", zip_code)
    _sub(a, "country_code", country)


def _person_my_client(parent, tag: str, player) -> None:
    """t_person_my_client, in the schema's order. Missing mandatory data (birth date,
    national id, phone) is left out, so the schema reports it by name."""
    p = _sub(parent, tag)
    _sub(p, "first_name", player.first_name)
    _sub(p, "last_name", player.last_name)
    if player.date_of_birth:
        _sub(p, "birthdate", sql_date(player.date_of_birth))
    ssn = _ssn(player)
    if ssn:
        _sub(p, "ssn", ssn)
    _sub(p, "id_number", player.public_id)
    _sub(p, "nationality1", player.nationality or player.country or player.jurisdiction)
    _sub(p, "residence", player.country or player.jurisdiction)
    phone = split_phone(player.phone)
    if phone:
        phones = _sub(p, "phones")
        ph = _sub(phones, "phone")
        _sub(ph, "tph_contact_type", conf("GOAML_CONTACT_TYPE"))
        _sub(ph, "tph_communication_type", conf("GOAML_COMMUNICATION_TYPE"))
        _sub(ph, "tph_country_prefix", phone[0])
        _sub(ph, "tph_number", phone[1])
    if player.address_line and player.city:
        addresses = _sub(p, "addresses")
        _address(
            addresses,
            "address",
            address_type=conf("GOAML_CONTACT_TYPE"),
            address=player.address_line,
            city=player.city,
            zip_code=player.postcode,
            country=player.country or player.jurisdiction,
        )
    _opt(p, "email", player.email)
    _sub(p, "occupation", conf("GOAML_OCCUPATION_UNKNOWN"))


def _casino_account(parent, tag: str, account_label: str, currency: str) -> None:
    """t_account: the casino's house account on the other side of the player's transaction."""
    entity = conf("GOAML_ENTITY")
    a = _sub(parent, tag)
    _sub(a, "institution_name", entity["name"])
    _sub(a, "institution_code", entity["institution_code"])
    _sub(a, "institution_country", entity["country"])
    _sub(a, "non_bank_institution", "true")
    _sub(a, "account", account_label)
    _sub(a, "currency_code", currency)
    _sub(a, "account_name", f"{entity['name']}: {account_label}")
    e = _sub(a, "t_entity")
    _sub(e, "name", entity["name"])
    _opt(e, "incorporation_number", entity.get("incorporation_number"))
    _sub(e, "incorporation_country_code", entity["country"])


def _reporting_person(parent, actor) -> None:
    cfg = conf("GOAML_REPORTING_PERSON")
    names = (actor.full_name or actor.email).split()
    first, last = (names[0], " ".join(names[1:])) if len(names) > 1 else (names[0], names[0])
    rp = _sub(parent, "reporting_person")
    _sub(rp, "first_name", first)
    _sub(rp, "last_name", last)
    if cfg.get("phone_number"):
        phones = _sub(rp, "phones")
        ph = _sub(phones, "phone")
        _sub(ph, "tph_contact_type", cfg["contact_type"])
        _sub(ph, "tph_communication_type", cfg["communication_type"])
        _sub(ph, "tph_country_prefix", cfg["phone_prefix"])
        _sub(ph, "tph_number", cfg["phone_number"])
    _sub(rp, "email", actor.email)
    _opt(rp, "occupation", cfg.get("occupation"))


def _code(setting: str, kind: str) -> str:
    codes = conf(setting)
    return codes.get(kind, codes.get("default", "-"))


def _narrative(case) -> str:
    lines = [f"Case {case.reference}: {case.title}.", case.decision_reason.strip()]
    return "\n".join(x for x in lines if x)[:8000]


def _transaction(parent, txn, flow: dict) -> None:
    """One bi-party transaction: the player (my client) on one side, the casino's house
    account on the other, the direction given by the ledger transaction's kind."""
    player, local = flow["player"], conf("GOAML_CURRENCY_LOCAL")
    t = _sub(parent, "transaction")
    _sub(t, "transactionnumber", f"TXN-{txn.pk}")
    _sub(t, "internal_ref_number", (txn.reference or txn.idempotency_key)[:50])
    _sub(t, "transaction_location", conf("GOAML_RENTITY_BRANCH"))
    described = f"{txn.get_kind_display()} (ledger transaction #{txn.pk})"
    if flow["payment"] is not None:
        pay = flow["payment"]
        described += f", payment {pay.reference} via {pay.provider} {pay.method}".rstrip()
    _sub(t, "transaction_description", described)
    _sub(t, "date_transaction", sql_date(txn.created_at))
    _sub(t, "transmode_code", _code("GOAML_TRANSMODE_CODES", txn.kind))
    if flow["payment"] is not None:
        _sub(t, "transmode_comment", f"{flow['payment'].provider} {flow['payment'].method}".strip()[:50])
    _sub(t, "amount_local", sql_decimal(flow["amount"], local))
    funds = _code("GOAML_FUNDS_CODES", txn.kind)
    country = player.country or player.jurisdiction
    casino_country = conf("GOAML_ENTITY")["country"]
    if flow["from_player"]:
        f = _sub(t, "t_from_my_client")
        _sub(f, "from_funds_code", funds)
        _person_my_client(f, "from_person", player)
        _sub(f, "from_country", country)
        to = _sub(t, "t_to")
        _sub(to, "to_funds_code", funds)
        _casino_account(to, "to_account", flow["house_account"], local)
        _sub(to, "to_country", casino_country)
    else:
        f = _sub(t, "t_from")
        _sub(f, "from_funds_code", funds)
        _casino_account(f, "from_account", flow["house_account"], local)
        _sub(f, "from_country", casino_country)
        to = _sub(t, "t_to_my_client")
        _sub(to, "to_funds_code", funds)
        _person_my_client(to, "to_person", player)
        _sub(to, "to_country", country)


def _flows(case) -> tuple[list[tuple], list[str]]:
    """(transaction, flow) for each linked ledger transaction, oldest first, and the data
    problems that keep one out of the report (no linked player, a foreign currency)."""
    from payments.models import Payment  # noqa: PLC0415
    from wallet.models import Account  # noqa: PLC0415

    players = {p.pk: p for p in case.players.all()}
    txns = list(case.transactions.prefetch_related("postings__account").order_by("created_at", "id"))
    ids = [t.pk for t in txns]
    payments = {}
    for pay in (
        Payment.objects.filter(credit_txn_id__in=ids)
        | Payment.objects.filter(request_txn_id__in=ids)
        | Payment.objects.filter(settle_txn_id__in=ids)
    ):
        for tid in (pay.credit_txn_id, pay.request_txn_id, pay.settle_txn_id):
            if tid:
                payments[tid] = pay
    local = conf("GOAML_CURRENCY_LOCAL")
    out, problems = [], []
    for txn in txns:
        mine = [p for p in txn.postings.all() if p.account.player_id in players]
        house = [p for p in txn.postings.all() if p.account.player_id is None]
        if not mine:
            problems.append(f"Transaction #{txn.pk}: no linked player's account is part of it.")
            continue
        currency = mine[0].account.currency
        if currency != local:
            problems.append(
                f"Transaction #{txn.pk} is in {currency}; the report's local currency is {local} "
                "(GOAML_CURRENCY_LOCAL): convert it or report it separately."
            )
            continue
        cash = sum(p.amount for p in mine if p.account.kind == Account.Kind.PLAYER_CASH)
        from_player = txn.kind in FROM_PLAYER or (txn.kind not in TO_PLAYER and cash < 0)
        h = house[0].account if house else None
        label = ":".join(x for x in (h.kind, h.code, h.currency) if x) if h else "casino"
        out.append(
            (
                txn,
                {
                    "player": players[mine[0].account.player_id],
                    "amount": max(abs(p.amount) for p in mine),
                    "from_player": from_player,
                    "house_account": label,
                    "payment": payments.get(txn.pk),
                },
            )
        )
    return out, problems


def build(case, actor) -> Built:
    """The STR for `case`, reported by `actor` (the MLRO), and its validation."""
    report = etree.Element("report")
    _sub(report, "rentity_id", conf("GOAML_RENTITY_ID"))
    _sub(report, "rentity_branch", conf("GOAML_RENTITY_BRANCH"))
    _sub(report, "submission_code", "E")
    _sub(report, "report_code", "STR")
    _sub(report, "entity_reference", case.reference)
    _sub(report, "submission_date", sql_date(timezone.now()))
    _sub(report, "currency_code_local", conf("GOAML_CURRENCY_LOCAL"))
    _reporting_person(report, actor)
    loc = conf("GOAML_LOCATION")
    _address(
        report,
        "location",
        address_type=loc["address_type"],
        address=loc["address"],
        city=loc["city"],
        zip_code=loc.get("zip"),
        country=loc["country_code"],
    )
    _sub(report, "reason", _narrative(case))
    _sub(report, "action", conf("GOAML_ACTION"))
    flows, problems = _flows(case)
    if not flows:
        problems.append("The case has no linked transaction of a linked player: link at least one.")
    for txn, flow in flows:
        _transaction(report, txn, flow)
    indicators = _sub(report, "report_indicators")
    codes = conf("GOAML_INDICATORS")
    rules = sorted({link.alert.rule for link in case.alert_links.select_related("alert")})
    wanted = []
    for rule in rules or ["default"]:
        for code in codes.get(rule, codes.get("default", ["-"])):
            if code not in wanted:
                wanted.append(code)
    for code in wanted:
        _sub(indicators, "indicator", code)
    xml = etree.tostring(report, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()
    return Built(xml=seal(xml), errors=problems + validate(xml))


# The stored report keeps national ids encrypted (as Player.national_id_encrypted does);
# the download and export_str open them.
SEALED_PREFIX = "enc:"


def _map_ssn(xml: str, fn) -> str:
    doc = etree.fromstring(xml.encode())
    for el in doc.iter("ssn"):
        if el.text:
            el.text = fn(el.text)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()


def seal(xml: str) -> str:
    """The report with each <ssn> encrypted, for storage."""
    from players import national_id  # noqa: PLC0415

    return _map_ssn(
        xml, lambda v: v if v.startswith(SEALED_PREFIX) else SEALED_PREFIX + national_id.encrypt(v)
    )


def unseal(xml: str) -> str:
    """The report as filed: each stored <ssn> decrypted."""
    from players import national_id  # noqa: PLC0415

    return _map_ssn(
        xml, lambda v: national_id.decrypt(v[len(SEALED_PREFIX) :]) if v.startswith(SEALED_PREFIX) else v
    )
