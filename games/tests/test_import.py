from decimal import Decimal

import pytest
import tablib

from backoffice.models import AuditEvent
from games.demo import DEMO_GAMES, ensure_demo_games
from games.models import Game
from games.resources import GameResource
from games.services import provider_create

pytestmark = pytest.mark.django_db

HEADERS = [
    "provider",
    "external_code",
    "title",
    "category",
    "rtp",
    "wagering_contribution",
    "markets",
    "enabled",
]


def _dataset(*rows):
    return tablib.Dataset(*rows, headers=HEADERS)


def _errors(result) -> str:
    parts = [str(e.error) for _i, errs in result.row_errors() for e in errs]
    parts += [str(r.error_dict) for r in result.invalid_rows]
    return " | ".join(parts)


def test_csv_import_creates_games(operators):
    provider_create(code="redstone", name="Redstone Gaming")
    csv = (
        "provider,external_code,title,category,rtp,wagering_contribution,markets,enabled\n"
        'redstone,rs-1,Dragon Vault,slots,96.20,100,"MT, se",1\n'
        "redstone,rs-2,Redstone Roulette,table,97.30,20,,0\n"
    )
    result = GameResource().import_data(tablib.Dataset().load(csv, format="csv"), user=operators["admin"])
    assert not result.has_errors() and not result.has_validation_errors(), _errors(result)
    g = Game.objects.get(code="redstone:rs-1")
    assert (g.title, g.category, g.rtp, g.markets, g.enabled) == (
        "Dragon Vault",
        "slots",
        Decimal("96.20"),
        ["MT", "SE"],
        True,
    )
    assert Game.objects.get(code="redstone:rs-2").enabled is False
    assert AuditEvent.objects.filter(action="games.game.import", actor=operators["admin"]).count() == 1


def test_csv_import_updates_by_provider_and_external_code():
    provider_create(code="redstone", name="Redstone Gaming")
    GameResource().import_data(_dataset(["redstone", "rs-1", "Old", "slots", "96", "100", "MT", "1"]))
    GameResource().import_data(_dataset(["redstone", "rs-1", "New", "slots", "95.5", "100", "MT", "1"]))
    assert Game.objects.get().title == "New"


@pytest.mark.parametrize(
    "bad_row, message",
    [
        (["nosuch", "x-1", "Ghost", "slots", "96", "100", "MT", "1"], "Unknown game provider 'nosuch'"),
        (["redstone", "rs-9", "Too Good", "slots", "120", "100", "MT", "1"], "less than or equal to 100"),
        (["redstone", "rs-9", "Bad Weight", "slots", "96", "150", "MT", "1"], "less than or equal to 100"),
    ],
)
def test_csv_import_refuses_a_bad_row_and_writes_nothing(bad_row, message):
    provider_create(code="redstone", name="Redstone Gaming")
    good = ["redstone", "rs-1", "Dragon Vault", "slots", "96.20", "100", "MT", "1"]
    result = GameResource().import_data(_dataset(good, bad_row))
    assert result.has_errors() or result.has_validation_errors()
    assert message in _errors(result)
    assert not Game.objects.exists()
    assert not AuditEvent.objects.filter(action="games.game.import").exists()


def test_export_round_trips_markets():
    ensure_demo_games()
    data = GameResource().export()
    assert data.headers == HEADERS
    row = dict(zip(data.headers, data[0], strict=True))
    assert "," in row["markets"] or row["markets"].isalpha()


def test_demo_catalogue_loads_once():
    assert ensure_demo_games() == len(DEMO_GAMES) >= 40
    assert ensure_demo_games() == 0
    assert Game.objects.values("provider").distinct().count() == 5
