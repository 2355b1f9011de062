"""Sensitive console actions ask for a fresh sign-in (STYLE.md, "Sensitive actions").

allauth counts only an explicit re-entry as recent; an operator who signed in with
password and code a minute ago has just proved the same thing, so any authentication
record of this session within REAUTHENTICATION_TIMEOUT counts. Older than that, the POST
is refused and the operator is sent to allauth's reauthentication page, which brings them
back to the form."""

import time
from functools import wraps

from allauth.account import app_settings as account_settings
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from allauth.core.exceptions import ReauthenticationRequired


def recently_authenticated(request) -> bool:
    if not request.user.is_authenticated:
        return False
    if did_recently_reauthenticate(request):
        return True
    records = get_authentication_records(request, request.user)
    return bool(records) and time.time() - records[-1]["at"] < account_settings.REAUTHENTICATION_TIMEOUT


def sensitive(view):
    """Decorate a console view whose POST changes something sensitive."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and not recently_authenticated(request):
            raise ReauthenticationRequired()
        return view(request, *args, **kwargs)

    return wrapped
