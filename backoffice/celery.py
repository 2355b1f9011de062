"""The Celery application. Broker and result backend come from settings (Redis in production
and CI, kombu's filesystem broker when no server is configured)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
