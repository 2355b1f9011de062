from django.core.management.base import BaseCommand

from backoffice.demo import DEMO_OPERATORS, DEMO_PASSWORD, ensure_demo_operators


class Command(BaseCommand):
    help = "Load the demo data once: demo operators (one per role) and what other apps add."

    def add_arguments(self, parser):
        parser.add_argument("--list-only", action="store_true", help="print the demo logins, load nothing")

    def handle(self, list_only=False, **opts):
        if not list_only:
            ensure_demo_operators()
        self.stdout.write(f"Demo operators (password for all: {DEMO_PASSWORD}):")
        for email, _name, role_names in DEMO_OPERATORS:
            self.stdout.write(f"  {email:28} {', '.join(role_names)}")
        self.stdout.write(
            "Second factor: python manage.py totp_code EMAIL prints the current code of a demo operator."
        )
