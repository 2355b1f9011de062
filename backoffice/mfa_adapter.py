from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


class OperatorMFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """An operator may not remove their last second factor: add another one first."""
        if authenticator.type not in SECOND_FACTOR_TYPES:
            return True
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id, type__in=SECOND_FACTOR_TYPES
        ).exclude(pk=authenticator.pk)
        return others.exists()
