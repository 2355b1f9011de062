"""Minimal Django settings for django-hordak, the peer in bench/ledger.py."""

import os

import environ

SECRET_KEY = "bench-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "mptt", "djmoney", "hordak"]
DATABASES = {"default": environ.Env.db_url_config(os.environ["HORDAK_DATABASE_URL"])}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_CURRENCY = "EUR"
CURRENCIES = ["EUR"]
