"""Settings for bench/wallet_api.py's gunicorn: the application's own settings (every
value still from the environment), with the bench URLconf, which adds `bench/ping` (the
bare Django JSON endpoint the wallet calls are compared with) to the application's URLs."""

from backoffice.settings import *  # noqa: F403

ROOT_URLCONF = "bench.wallet_urls"
