import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backoffice.models import User


def current_code(user: User) -> str:
    auth = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(auth.data["secret"])
    return format_hotp_value(hotp_value(secret, int(time.time()) // getattr(settings, "MFA_TOTP_PERIOD", 30)))


class Command(BaseCommand):
    help = "Print the current TOTP code of a DEMO operator (refused for every real account)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, email, **opts):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No operator {email}.")
        if not user.is_demo:
            raise CommandError(
                f"{email} is not a demo operator: its second factor stays on its owner's device."
            )
        try:
            self.stdout.write(current_code(user))
        except Authenticator.DoesNotExist:
            raise CommandError(f"{email} has no authenticator app enrolled.") from None
