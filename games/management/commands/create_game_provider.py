from django.core.management.base import BaseCommand, CommandError

from backoffice.errors import DomainError
from games.services import provider_create


class Command(BaseCommand):
    help = "Create a game provider and print its HMAC secret (shown once; stored encrypted)."

    def add_arguments(self, parser):
        parser.add_argument("code", help='the provider\'s code, sent as X-Provider, e.g. "redstone"')
        parser.add_argument("--name", required=True, help="the provider's display name")

    def handle(self, code, name, **opts):
        try:
            provider, secret = provider_create(code=code, name=name, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Game provider {provider.code!r} created. Its secret (store it now, it is not shown again):"
        )
        self.stdout.write(secret)
        self.stdout.write(
            "The provider signs each wallet request: X-Signature: hex(HMAC-SHA256(secret, raw body))."
        )
