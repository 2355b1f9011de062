from allauth.account.adapter import DefaultAccountAdapter


class OperatorAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """Operators are created by administrators (`create_operator` or the console),
        never by signing themselves up."""
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """An operator who has just signed in with a password and has no second factor yet
        is enrolling one because we force them to: asking for the password again there
        adds nothing. Every other sensitive step (removing a factor, new recovery codes)
        still asks."""
        from allauth.core import context

        request = self.request or context.request
        if app == "allauth.mfa" and request is not None and request.user.is_authenticated:
            from .middleware import has_second_factor

            if not has_second_factor(request.user):
                return False
        return super().is_reauthentication_required(app=app, **kwargs)
