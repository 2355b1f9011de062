import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from compliance.screening.matching import Subject
from compliance.screening.parsers import country_code
from compliance.screening.services import screen


class Command(BaseCommand):
    help = (
        "Screen a name against the current sanctions and PEP lists: the matches at or above the review "
        "threshold, best first (list, entry id, matched name, score). With --file, one name per line and one "
        "JSON line per name, in order."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?")
        parser.add_argument("--dob", help="YYYY-MM-DD")
        parser.add_argument("--country", help="ISO alpha-2 code (or a country name)")
        parser.add_argument("--file", help="One name per line")
        parser.add_argument("--json", action="store_true")

    def handle(self, name, dob, country, file, **opts):
        if bool(name) == bool(file):
            raise CommandError("Give a NAME or --file PATH (not both).")
        try:
            born = date.fromisoformat(dob) if dob else None
        except ValueError:
            raise CommandError(f"--dob {dob!r} is not a date: write YYYY-MM-DD.") from None
        code = country_code(country) if country else ""
        if country and not code:
            raise CommandError(f"--country {country!r} is not a country we know: use a code such as MT.")
        countries = (code,) if code else ()
        if file:
            p = Path(file)
            if not p.is_file():
                raise CommandError(f"No file at {file}.")
            try:
                lines = p.read_text(encoding="utf-8-sig").splitlines()
            except UnicodeDecodeError:
                raise CommandError(
                    f"{file} is not UTF-8 text: save it as UTF-8, one name per line."
                ) from None
            for line in lines:
                if not line.strip():
                    continue
                out: dict = {"name": line.strip()}
                try:
                    out["matches"] = [h.as_dict() for h in screen(Subject(line.strip(), born, countries))]
                except DomainError as exc:  # a line with no letters: said on its own line, in order
                    out.update(matches=[], error={"code": exc.code, "message": exc.message})
                self.stdout.write(json.dumps(out, ensure_ascii=False))
            return
        try:
            hits = screen(Subject(name, born, countries))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(json.dumps([h.as_dict() for h in hits]))
            return
        if not hits:
            self.stdout.write("No match at or above the review threshold.")
        for h in hits:
            self.stdout.write(f"{h.score:5.1f}  {h.watchlist:8}  {h.external_id:12}  {h.matched_name}")
