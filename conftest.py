"""Shared test set-up: real PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set
(make test sets them), Chromium from Debian for Playwright."""

import os
import shutil

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright's sync API
# Tests serve static files from the finders, not a collected manifest: `make test` sets
# STATICFILES_STORAGE to the plain storage before Django loads its settings.

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _fresh_cache():
    # TOTP codes are single-use (allauth marks them in the cache) and rate limits count
    # in the cache: each test starts from an empty one.
    from django.core.cache import cache

    from compliance.selectors import clear_rule_cache
    from games.wallet import clear_caches

    cache.clear()
    clear_caches()  # house account ids and providers: each test's database starts empty
    clear_rule_cache()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2 at production strength costs ~0.3 s a password; tests create many operators.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operators(db):
    from backoffice.demo import ensure_demo_operators

    return {u.email.split("@")[0]: u for u in ensure_demo_operators()}


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker (a separate process) on the test database and the Redis broker.
    Yields once the worker answers a ping; stopped warmly afterwards."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    from backoffice.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("The worker tests need REDIS_URL (make test sets it).")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    root = Path(__file__).resolve().parent
    app.control.purge()
    hostname = f"pytest-{os.getpid()}@localhost"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backoffice",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-n",
            hostname,
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=root,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not app.control.inspect(destination=[hostname], timeout=1).ping():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("The Celery worker did not start.")
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
