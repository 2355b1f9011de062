from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

from games.wallet_api import wallet_api

from . import views
from .api import platform_api

urlpatterns = [
    path("", lambda request: redirect("admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/platform/v1/", platform_api.urls),
    path("api/wallet/v1/", wallet_api.urls),
    path("webhooks/", include("payments.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
