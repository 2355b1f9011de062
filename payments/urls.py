from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("<slug:provider>/", views.webhook, name="webhook"),
]
