"""`manage.py check --deploy` with production-like environment values prints no warnings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "SECURE_SSL": "true",
        "BEHIND_PROXY": "true",
        "ALLOWED_HOSTS": "pitboss.example.com",
        "PITBOSS_ENVIRONMENT": "production",
        "NATIONAL_ID_KEY": secrets.token_urlsafe(32),
        # Payment providers: the defaults are published test keys, refused in production.
        "ADYEN_HMAC_KEY": secrets.token_hex(32).upper(),
        "ADYEN_API_KEY": secrets.token_urlsafe(32),
        "NUVEI_SECRET_KEY": secrets.token_urlsafe(32),
        "PAYZ_MERCHANT_PASSWORD": secrets.token_urlsafe(16),
        "ZIMPLER_API_KEY": secrets.token_urlsafe(32),
        "TRUSTLY_PUBLIC_KEY_FILE": "/run/secrets/trustly-public.pem",
        "TRUSTLY_PRIVATE_KEY_FILE": "/run/secrets/trustly-merchant-private.pem",
    }
    for test_only in ("STATICFILES_STORAGE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(test_only, None)
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
