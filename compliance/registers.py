"""National exclusion registers (Spelpaus in SE, GAMSTOP in GB, OASIS in DE).

One adapter per register behind one question: is this national id excluded? The shipped
adapter reads the register's last imported file (operators import it in the console or
with `manage.py import_register`); a live API adapter replaces it when the operator's
credentials exist. Ids are compared by their keyed hash, never stored in clear."""

import csv
import io

from django.db import transaction

from backoffice import audit
from backoffice.errors import DomainError

from .models import NationalRegisterEntry, NationalRegisterImport

REGISTERS = {"spelpaus": "Spelpaus (SE)", "gamstop": "GAMSTOP (GB)", "oasis": "OASIS (DE)"}


def _hash(national_id: str) -> str:
    from players.national_id import search_hash

    return search_hash(national_id)


class RegisterAdapter:
    """One national register behind one question. Subclass it for a live service (its
    API client and credentials from the environment) and put it in ADAPTERS."""

    name = ""

    def is_excluded(self, national_id_hash: str) -> bool:
        raise NotImplementedError


class FileRegister(RegisterAdapter):
    """The register's last imported file (compliance.NationalRegisterImport)."""

    def __init__(self, name: str):
        self.name = name

    def is_excluded(self, national_id_hash: str) -> bool:
        return NationalRegisterEntry.objects.filter(
            register=self.name, national_id_hash=national_id_hash, register_import__current=True
        ).exists()


ADAPTERS: dict[str, RegisterAdapter] = {name: FileRegister(name) for name in REGISTERS}


def national_register_check(
    *, register: str, national_id: str | None = None, national_id_hash: str = ""
) -> bool:
    """True when the person is on the register."""
    h = national_id_hash or (_hash(national_id) if national_id else "")
    adapter = ADAPTERS.get(register)
    if not h or adapter is None:
        return False
    return adapter.is_excluded(h)


@transaction.atomic
def register_import(*, register: str, file_name: str, content: bytes, actor) -> NationalRegisterImport:
    """Import a register file: one national id per line (a CSV's first column; a header
    line without digits is skipped). Replaces the register's previous list."""
    if register not in REGISTERS:
        raise DomainError(
            "unknown_register", f"Unknown register {register!r}: {', '.join(REGISTERS)}.", field="register"
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("register_file_unreadable", "The file is not UTF-8 text.", field="file") from None
    ids = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        value = row[0].strip()
        if not any(c.isdigit() for c in value):
            continue  # header
        ids.append(value)
    if not ids:
        raise DomainError("register_file_empty", "No national ids found in the file.", field="file")
    NationalRegisterImport.objects.filter(register=register, current=True).update(current=False)
    imp = NationalRegisterImport.objects.create(
        register=register, file_name=file_name[:200], entries=len(ids), imported_by=actor
    )
    NationalRegisterEntry.objects.bulk_create(
        [
            NationalRegisterEntry(register_import=imp, register=register, national_id_hash=_hash(v))
            for v in ids
        ],
        batch_size=2000,
    )
    audit.record(
        actor=actor,
        action="compliance.register.import",
        target=imp,
        after={"register": register, "entries": len(ids), "file": file_name},
    )
    return imp
