from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

from . import views

urlpatterns = [
    path("", lambda request: redirect("admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
