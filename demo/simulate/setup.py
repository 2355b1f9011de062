"""Credentials for a simulation of this installation (the command runs beside it, on the
same database): a platform API client and a game provider named "simulator", made through
their services (audited) the first time and reused after.

- The API key exists in clear only when created: it is kept in a state file (mode 600,
  PITBOSS_DATA_DIR/simulator.json by default). A missing or stale file (another
  database) gets a new client, "simulator-2" and so on; the old one stays until an
  administrator deactivates it.
- The provider's secret is stored encrypted by Pitboss: the command reads it back with
  games.services.provider_secrets, as the wallet API does to verify a signature.
- One slot game of the provider, offered in every market (configuration data, as the
  console's CSV import creates it).

Against another installation give --api-key, --provider, --provider-secret and --game
instead (see docs/demo.md)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

from .world import Credentials

CLIENT_NAME = "simulator"
PROVIDER_CODE = "simulator"
PROVIDER_NAME = "Traffic simulator (test provider)"
GAME = ("sim-reels", "Simulator Reels (test game)")
MARKETS = ["MT", "FI", "SE", "GB", "DE"]


def _api_key(state_file: Path) -> str:
    from backoffice.apiclients import api_client_create, api_client_for_key
    from backoffice.models import ApiClient

    try:
        key = json.loads(state_file.read_text()).get("api_key", "")
    except (OSError, ValueError):
        key = ""
    if key and api_client_for_key(key) is not None:
        return key
    name, n = CLIENT_NAME, 1
    while ApiClient.objects.filter(name=name).exists():
        n += 1
        name = f"{CLIENT_NAME}-{n}"
    _client, key = api_client_create(name=name, actor=None)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"api_client": name, "api_key": key, "note": "test key of the traffic simulator"}, fh)
    return key


def _provider() -> tuple[str, str]:
    from games.models import GameProvider
    from games.services import provider_create, provider_secrets

    provider = GameProvider.objects.filter(code=PROVIDER_CODE).first()
    if provider is None:
        provider, secret = provider_create(code=PROVIDER_CODE, name=PROVIDER_NAME, actor=None)
    else:
        secret = provider_secrets(provider)[0]
    if provider.status != GameProvider.Status.ACTIVE:
        raise RuntimeError(
            f"The game provider {PROVIDER_CODE!r} is suspended: reactivate it in the console to simulate."
        )
    return provider.code, secret


def _game(provider_code: str) -> str:
    from games.models import Game, GameProvider

    provider = GameProvider.objects.get(code=provider_code)
    game, _created = Game.objects.get_or_create(
        provider=provider,
        external_code=GAME[0],
        defaults={
            "code": Game.code_for(provider.code, GAME[0]),
            "title": GAME[1],
            "category": Game.Category.SLOTS,
            "rtp": Decimal("96.00"),
            "markets": MARKETS,
        },
    )
    if not game.enabled or not set(MARKETS) <= set(game.markets or []):
        raise RuntimeError(f"The game {game.code!r} must be enabled in {', '.join(MARKETS)} to simulate.")
    return game.code


def local_credentials(state_file: Path) -> Credentials:
    code, secret = _provider()
    game = _game(code)
    return Credentials(
        api_key=_api_key(state_file), provider=code, secret=secret, games={m: game for m in MARKETS}
    )
