from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import path, reverse
from unfold.sites import UnfoldAdminSite

from . import console


class PitbossAdminSite(UnfoldAdminSite):
    """The console. Its own login and logout are replaced by allauth's, so there is one
    door and it always asks for the second factor."""

    site_header = "Pitboss"
    site_title = "Pitboss"
    index_title = "Dashboard"
    index_template = "admin/pitboss_index.html"

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and not self.has_permission(request):
            # Signed in but not an active operator: allauth's sign-in would loop.
            return redirect(reverse("account_logout"))
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")

    def logout(self, request, extra_context=None):
        return redirect(reverse("account_logout"))

    def password_change(self, request, extra_context=None):
        return redirect(reverse("account_change_password"))

    def extra_urls(self):
        urls = []
        for v in console.views():
            urls.append(path(v.route, self.admin_view(console.require(v.permission)(v.view)), name=v.name))
        return urls
