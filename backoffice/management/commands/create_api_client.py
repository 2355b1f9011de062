from django.core.management.base import BaseCommand, CommandError

from backoffice.apiclients import api_client_create
from backoffice.errors import DomainError


class Command(BaseCommand):
    help = "Create a platform API client and print its key (shown once; only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help='who will use the key, e.g. "frontend"')

    def handle(self, name, **opts):
        try:
            client, key = api_client_create(name=name, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"API client {client.name!r} created. Its key (store it now, it is not shown again):"
        )
        self.stdout.write(key)
        self.stdout.write("Use it as: Authorization: Bearer <key>  on /api/platform/v1/")
