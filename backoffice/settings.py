"""Pitboss settings. Every value that differs between machines comes from the environment
(12-factor, django-environ); `.env.example` and the README list them all."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.urls import reverse_lazy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for developers; production passes real environment variables.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DATA_DIR = Path(env("PITBOSS_DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# The default key is for a developer's machine only: `check --deploy` flags it, and the
# production compose file refuses to start without SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-do-not-use-in-production-000000000000000000")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The container's own health checks call the probes on loopback.
ALLOWED_HOSTS += [h for h in ("localhost", "127.0.0.1") if h not in ALLOWED_HOSTS]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PITBOSS_ENVIRONMENT = env("PITBOSS_ENVIRONMENT", default="development")

INSTALLED_APPS = [
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "backoffice.apps.PitbossAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_celery_beat",
    "import_export",
    "ninja",
    "backoffice",
    "players",
    "wallet",
    "compliance",
    "disputes",
    "games",
    "payments",
    "reports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "backoffice.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "backoffice.middleware.RequireSecondFactorMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backoffice.context_processors.operator",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Unset (or empty) DATABASE_URL: a SQLite file in the data folder, so `make run` needs no server.
DATABASES = {
    "default": env.db_url_config(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'pitboss.sqlite3'}"
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_broker_dir = DATA_DIR / "broker"
_results_dir = DATA_DIR / "celery-results"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{_results_dir}")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for d in (_broker_dir / "queue", _broker_dir / "processed", _broker_dir / "control", _results_dir):
        d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "store_processed": False,
        # kombu's default is ./control, relative to wherever the process started.
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
# Reporting days and hours (rollups, reports) in this zone; the database stays in UTC.
REPORTS_TIMEZONE = env("REPORTS_TIMEZONE", default="UTC")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth: operators sign in with allauth, a second factor is mandatory ---------------
AUTH_USER_MODEL = "backoffice.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/admin/"
ACCOUNT_ADAPTER = "backoffice.auth_adapter.OperatorAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("REAUTHENTICATION_TIMEOUT_SECONDS", default=300)
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins: 10 a minute per IP, 5 per 5 minutes per account.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
    "reset_password": "5/m/ip,3/5m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Pitboss"
# Accept the adjacent 30-second step too (RFC 6238 §5.2: clock drift, and a code typed just
# as it rolls over). Each code is still single-use.
MFA_TOTP_TOLERANCE = 1
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_RATE_LIMITS = {"webauthn_login": "10/m/ip"}
MFA_ADAPTER = "backoffice.mfa_adapter.OperatorMFAAdapter"

# Idle timeout: the session cookie is renewed on every request and expires after this
# many idle minutes, so an unattended console signs itself out.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
)

# Paths an operator without a second factor may still open (sign-in, enrolment, probes).
MFA_ENROLMENT_EXEMPT_PREFIXES = ["/accounts/", "/static/", "/healthz", "/readyz", "/api/", "/webhooks/"]

# --- Security ---------------------------------------------------------------------------
SECURE_SSL = env.bool("SECURE_SSL", default=False)
SECURE_SSL_REDIRECT = SECURE_SSL
# Probes answer over plain HTTP on loopback (container health checks), never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_SSL else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"  # views that preview documents inline opt in with @xframe_options_sameorigin
# The number of trusted proxies in front of the web process, to take the client IP
# from X-Forwarded-For for the audit log. 0: use REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The secret national identity numbers are encrypted with (and their search hash keyed
# by). INSECURE default for a developer's machine and the demo only: `check --deploy`
# refuses it (players/checks.py). Changing it makes stored numbers unreadable.
NATIONAL_ID_KEY = env("NATIONAL_ID_KEY", default="insecure-dev-national-id-key-do-not-use-in-production")

# --- i18n, static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_STORAGE", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="pitboss@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Money and compliance ---------------------------------------------------------------
# Manual ledger adjustments at or above this many minor units need a second operator.
WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR = env.int(
    "WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR", default=50000
)
# KYC documents: stored outside any public URL; size cap per upload.
KYC_STORAGE_DIR = Path(env("KYC_STORAGE_DIR", default=str(DATA_DIR / "private" / "kyc")))
KYC_MAX_UPLOAD_BYTES = env.int("KYC_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# AML case attachments: outside any public URL, served to permitted roles only.
AML_CASE_STORAGE_DIR = Path(env("AML_CASE_STORAGE_DIR", default=str(DATA_DIR / "private" / "aml_cases")))
AML_CASE_MAX_ATTACHMENT_BYTES = env.int("AML_CASE_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024)
# Days to decide an AML case, by severity (JSON), e.g. {"high": 5, "medium": 14, "low": 30}.
AML_CASE_SLA_DAYS = env.json("AML_CASE_SLA_DAYS", default={})
# Encrypts game providers' HMAC secrets at rest. Empty: derived from SECRET_KEY (then
# rotating SECRET_KEY makes stored provider secrets unreadable: set this in production).
GAME_PROVIDER_SECRET_KEY = env("GAME_PROVIDER_SECRET_KEY", default="")
# How long a game launch token lets the aggregator authenticate and bet (wins come later too).
GAME_SESSION_TTL_MINUTES = env.int("GAME_SESSION_TTL_MINUTES", default=240)

# --- Payment providers ----------------------------------------------------------------
# Every default below (also when the variable is set but empty) is a PUBLISHED TEST KEY
# (payments/tests/vectors, the providers' own test suites) or a sandbox URL: fine for tests
# and the demo, refused by `check --deploy` (payments/checks.py). Production sets each one.
_PAYMENTS_KEYS = BASE_DIR / "payments" / "sandbox" / "keys"
PAYMENTS_TEST_KEYS = {
    "ADYEN_HMAC_KEY": "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
    "NUVEI_SECRET_KEY": "THE_SECRET_KEY",
    "PAYZ_MERCHANT_PASSWORD": "Y23X05ZS4TDA",
    "ZIMPLER_API_KEY": "test-zimpler-api-key",
    "ADYEN_API_KEY": "test-adyen-api-key",
}
ADYEN_HMAC_KEY = env("ADYEN_HMAC_KEY", default="") or PAYMENTS_TEST_KEYS["ADYEN_HMAC_KEY"]  # hex
ADYEN_API_KEY = env("ADYEN_API_KEY", default="") or PAYMENTS_TEST_KEYS["ADYEN_API_KEY"]
ADYEN_MERCHANT_ACCOUNT = env("ADYEN_MERCHANT_ACCOUNT", default="") or "PitbossTest"
ADYEN_API_BASE_URL = env("ADYEN_API_BASE_URL", default="") or "https://checkout-test.adyen.com/v71"
# Adyen's Payout API (submitThirdParty), a host of its own.
ADYEN_PAYOUT_API_BASE_URL = (
    env("ADYEN_PAYOUT_API_BASE_URL", default="") or "https://pal-test.adyen.com/pal/servlet/Payout/v68"
)
NUVEI_SECRET_KEY = env("NUVEI_SECRET_KEY", default="") or PAYMENTS_TEST_KEYS["NUVEI_SECRET_KEY"]
NUVEI_API_BASE_URL = env("NUVEI_API_BASE_URL", default="") or "https://ppp-test.nuvei.com/ppp/api/v1"
PAYZ_MERCHANT_PASSWORD = (
    env("PAYZ_MERCHANT_PASSWORD", default="") or PAYMENTS_TEST_KEYS["PAYZ_MERCHANT_PASSWORD"]
)
PAYZ_API_BASE_URL = env("PAYZ_API_BASE_URL", default="") or "https://secure.test.payz.com"
# Trustly's public key (verifies its notifications) and ours (signs our answers), PEM files.
TRUSTLY_PUBLIC_KEY_FILE = env("TRUSTLY_PUBLIC_KEY_FILE", default="") or str(
    _PAYMENTS_KEYS / "trustly-test-public.pem"
)
TRUSTLY_PRIVATE_KEY_FILE = env("TRUSTLY_PRIVATE_KEY_FILE", default="") or str(
    _PAYMENTS_KEYS / "merchant-test-private.pem"
)
TRUSTLY_API_BASE_URL = env("TRUSTLY_API_BASE_URL", default="") or "https://test.trustly.com/api/1"
ZIMPLER_API_KEY = env("ZIMPLER_API_KEY", default="") or PAYMENTS_TEST_KEYS["ZIMPLER_API_KEY"]
ZIMPLER_API_BASE_URL = env("ZIMPLER_API_BASE_URL", default="") or "https://api.sandbox.zimpler.net/v4"
# Account identifiers (not secrets) sent with each provider's API calls.
TRUSTLY_USERNAME = env("TRUSTLY_USERNAME", default="") or "pitboss-test"
TRUSTLY_PASSWORD = env("TRUSTLY_PASSWORD", default="") or "test-trustly-password"
NUVEI_MERCHANT_ID = env("NUVEI_MERCHANT_ID", default="") or "pitboss-test"
NUVEI_MERCHANT_SITE_ID = env("NUVEI_MERCHANT_SITE_ID", default="") or "100000"
PAYZ_MERCHANT_ACCOUNT_NUMBER = env("PAYZ_MERCHANT_ACCOUNT_NUMBER", default="") or "100000"
PAYZ_PAYMENT_PAGE_ID = env("PAYZ_PAYMENT_PAGE_ID", default="") or "1000"
PAYZ_MERCHANT_ID = env("PAYZ_MERCHANT_ID", default="") or "1000"  # the SOAP Payout's MerchantID [I]
# Our public base URL: providers that take a notification URL per request (Trustly,
# Zimpler, Nuvei, Payz) get <this>/webhooks/<provider>/.
PAYMENTS_WEBHOOK_BASE_URL = env("PAYMENTS_WEBHOOK_BASE_URL", default="") or "http://127.0.0.1:8000"
# How long an anonymous Pay N Play deposit (a PayNPlaySession row) waits for the bank identity.
PAYNPLAY_SESSION_TTL_SECONDS = env.int("PAYNPLAY_SESSION_TTL_SECONDS", default=2 * 3600)
# Where the provider sends the player back after paying (the casino front end).
PAYMENTS_RETURN_URL = env("PAYMENTS_RETURN_URL", default="") or "http://localhost:3000/cashier/return"
# Outbound provider calls only to loopback (the sandbox doubles): on everywhere but production.
PAYMENTS_LOOPBACK_ONLY = env.bool("PAYMENTS_LOOPBACK_ONLY", default=PITBOSS_ENVIRONMENT != "production")
PAYMENTS_HTTP_TIMEOUT_SECONDS = env.int("PAYMENTS_HTTP_TIMEOUT_SECONDS", default=10)
# Withdrawals at or above this many minor units need a second finance approver (four-eyes).
PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR = env.int(
    "PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR", default=100000
)
# The KYC level every market requires before a payout (a market's kyc_level_before_play
# rule raises it): 1 = basic identity verified.
PAYMENTS_WITHDRAWAL_KYC_LEVEL = env.int("PAYMENTS_WITHDRAWAL_KYC_LEVEL", default=1)

# --- The console ------------------------------------------------------------------------
HEARTBEAT_STALE_AFTER = timedelta(minutes=5)

UNFOLD = {
    "SITE_TITLE": "Pitboss",
    "SITE_HEADER": "Pitboss",
    "SITE_SUBHEADER": "Casino back office",
    "SITE_URL": None,
    "SITE_SYMBOL": "casino",
    "SHOW_HISTORY": False,
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "backoffice.console.environment_label",
    "DASHBOARD_CALLBACK": "backoffice.console.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "command_search": True,
        "show_all_applications": False,
        "navigation": "backoffice.console.sidebar_navigation",
    },
    # The sidebar search box (and Ctrl-K) finds players by id, email, phone, national id,
    # IP or device as well as console pages.
    "COMMAND": {"search_models": False, "search_callback": "players.views.command_search"},
    "ACCOUNT": {
        "navigation": [
            {"title": "Security (second factor)", "link": reverse_lazy("mfa_index")},
            {"title": "Change password", "link": reverse_lazy("account_change_password")},
        ]
    },
}

# --- Sanctions and PEP screening (docs/compliance.md) ------------------------------------
# Scores are 0-100: the name score, plus a bonus for a matching date of birth or country,
# minus a penalty for a mismatch. At or above REVIEW a match goes to the review queue; at
# or above CONFIRM it is "strong", and a strong sanctions match holds the player until
# an officer decides.
SCREENING_REVIEW_THRESHOLD = env.float("SCREENING_REVIEW_THRESHOLD", default=85.0)
SCREENING_CONFIRM_THRESHOLD = env.float("SCREENING_CONFIRM_THRESHOLD", default=95.0)
SCREENING_DOB_BONUS = env.float("SCREENING_DOB_BONUS", default=10.0)
SCREENING_DOB_PENALTY = env.float("SCREENING_DOB_PENALTY", default=15.0)
SCREENING_COUNTRY_BONUS = env.float("SCREENING_COUNTRY_BONUS", default=5.0)
SCREENING_COUNTRY_PENALTY = env.float("SCREENING_COUNTRY_PENALTY", default=5.0)
