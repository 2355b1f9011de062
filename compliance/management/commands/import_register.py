from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from compliance.registers import REGISTERS, register_import


class Command(BaseCommand):
    help = (
        "Import a national exclusion register's file (one national id per line). Replaces its previous list."
    )

    def add_arguments(self, parser):
        parser.add_argument("register", choices=sorted(REGISTERS))
        parser.add_argument("path")

    def handle(self, register, path, **opts):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            imp = register_import(register=register, file_name=p.name, content=p.read_bytes(), actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{imp.entries} entries imported into {register} ({REGISTERS[register]}).")
