import sys

from django.core.management.base import BaseCommand, CommandError

from backoffice import roles, services
from backoffice.errors import DomainError


class Command(BaseCommand):
    help = "Create a console operator with a role. Prints a one-time password unless --password is given."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            help=f"one of: {', '.join(roles.ROLES)} (repeat for several)",
        )
        parser.add_argument("--name", default="", help="full name")
        parser.add_argument("--password", default=None)

    def handle(self, email, role, name, password, **opts):
        unknown = [r for r in role if r not in roles.ROLES]
        if unknown:
            sys.stderr.write(f"Unknown role: {', '.join(unknown)}. Valid roles: {', '.join(roles.ROLES)}\n")
            raise SystemExit(2)
        shown = password or services.generate_password()
        try:
            # The shell is trusted to bootstrap (actor None), including the first administrator.
            user = services.operator_create(
                email=email, full_name=name, role_names=role, password=shown, actor=None
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created operator {user.email} with role(s): {', '.join(role)}")
        if not password:
            self.stdout.write(f"One-time password: {shown}")
        self.stdout.write("They must enrol a second factor (authenticator app) at first sign-in.")
