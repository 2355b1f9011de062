"""Demo games catalogue: five fictional studios, about forty games. Loaded once."""

from decimal import Decimal

from django.db import transaction

from .models import Game, GameProvider
from .services import provider_create

ALL = ["MT", "SE", "FI", "GB", "DE"]
# Germany's federal licence (GlüStV 2021) covers virtual slots; table and live games are
# left to the states, so the demo does not offer them there.
NO_DE = ["MT", "SE", "FI", "GB"]

DEMO_PROVIDERS = [
    ("redstone", "Redstone Gaming"),
    ("northlight", "Northlight Studios"),
    ("bluefox", "Blue Fox Live"),
    ("orbit", "Orbit Interactive"),
    ("lumen", "Lumen Play"),
]

# (provider, external code, title, category, RTP, contribution %, markets)
DEMO_GAMES = [
    ("redstone", "rs-dragon-vault", "Dragon Vault", "slots", "96.20", 100, ALL),
    ("redstone", "rs-golden-mine", "Golden Mine Express", "slots", "95.80", 100, ALL),
    ("redstone", "rs-pharaoh-fire", "Pharaoh's Fire", "slots", "96.50", 100, ALL),
    ("redstone", "rs-viking-storm", "Viking Storm", "slots", "96.10", 100, ALL),
    ("redstone", "rs-fruit-blast", "Fruit Blast Deluxe", "slots", "94.90", 100, ALL),
    ("redstone", "rs-lucky-sevens", "Lucky Sevens Classic", "slots", "95.00", 100, ALL),
    ("redstone", "rs-jungle-quest", "Jungle Quest", "slots", "96.30", 100, ALL),
    ("redstone", "rs-midnight-wolf", "Midnight Wolf", "slots", "96.00", 100, ALL),
    ("northlight", "nl-aurora-gems", "Aurora Gems", "slots", "96.70", 100, ALL),
    ("northlight", "nl-fjord-fishing", "Fjord Fishing", "slots", "96.40", 100, ALL),
    ("northlight", "nl-troll-treasure", "Troll Treasure", "slots", "96.10", 100, ALL),
    ("northlight", "nl-frost-reels", "Frost Reels", "slots", "95.90", 100, ALL),
    ("northlight", "nl-saga-of-runes", "Saga of Runes", "slots", "96.60", 100, ALL),
    ("northlight", "nl-polar-jackpot", "Polar Jackpot", "slots", "94.00", 100, ALL),
    ("northlight", "nl-blackjack-classic", "Northlight Blackjack", "table", "99.50", 10, NO_DE),
    ("northlight", "nl-euro-roulette", "European Roulette", "table", "97.30", 20, NO_DE),
    ("bluefox", "bf-live-blackjack-a", "Live Blackjack A", "live", "99.28", 10, NO_DE),
    ("bluefox", "bf-live-blackjack-vip", "Live Blackjack VIP", "live", "99.28", 10, NO_DE),
    ("bluefox", "bf-live-roulette", "Live Roulette", "live", "97.30", 10, NO_DE),
    ("bluefox", "bf-lightning-wheel", "Fox Money Wheel", "live", "96.00", 10, NO_DE),
    ("bluefox", "bf-live-baccarat", "Live Baccarat Squeeze", "live", "98.94", 10, NO_DE),
    ("bluefox", "bf-dice-duel", "Dice Duel Live", "live", "97.20", 10, NO_DE),
    ("bluefox", "bf-poker-holdem", "Casino Hold'em Live", "live", "97.84", 10, NO_DE),
    ("bluefox", "bf-game-show", "Fox Prize Show", "live", "95.50", 10, ["MT", "GB"]),
    ("orbit", "or-rocket", "Rocket Orbit", "crash", "97.00", 50, ["MT", "FI", "GB"]),
    ("orbit", "or-comet", "Comet Run", "crash", "96.00", 50, ["MT", "FI", "GB"]),
    ("orbit", "or-plinko", "Orbit Plinko", "crash", "97.00", 50, ["MT", "GB"]),
    ("orbit", "or-mines", "Asteroid Mines", "crash", "97.00", 50, ["MT", "GB"]),
    ("orbit", "or-hilo", "Star Hi-Lo", "table", "97.00", 20, NO_DE),
    ("orbit", "or-space-slots", "Space Cadet Spins", "slots", "96.00", 100, ALL),
    ("orbit", "or-nebula", "Nebula Nudges", "slots", "95.50", 100, ALL),
    ("lumen", "lu-candy-cascade", "Candy Cascade", "slots", "96.48", 100, ALL),
    ("lumen", "lu-neon-nights", "Neon Nights", "slots", "96.21", 100, ALL),
    ("lumen", "lu-tiki-bonanza", "Tiki Bonanza", "slots", "96.05", 100, ALL),
    ("lumen", "lu-book-of-lumen", "Book of Lumen", "slots", "96.21", 100, ALL),
    ("lumen", "lu-wild-buffalo", "Wild Buffalo Ways", "slots", "96.00", 100, ALL),
    ("lumen", "lu-baccarat", "Lumen Baccarat", "table", "98.94", 10, NO_DE),
    ("lumen", "lu-video-poker", "Jacks or Better", "table", "99.54", 10, NO_DE),
    ("lumen", "lu-retro-reels", "Retro Reels", "slots", "92.00", 100, ALL),
    ("lumen", "lu-magic-garden", "Magic Garden", "slots", "96.30", 100, ALL, False),
]


@transaction.atomic
def ensure_demo_games() -> int:
    """Create the demo providers and games unless providers already exist; the number of
    games created. The providers' secrets are not kept: rotate one in the console to
    give the demo aggregator a secret."""
    if GameProvider.objects.exists():
        return 0
    providers = {code: provider_create(code=code, name=name)[0] for code, name in DEMO_PROVIDERS}
    games = []
    for provider_code, external, title, category, rtp, contribution, markets, *rest in DEMO_GAMES:
        games.append(
            Game(
                provider=providers[provider_code],
                external_code=external,
                code=Game.code_for(provider_code, external),
                title=title,
                category=category,
                rtp=Decimal(rtp),
                wagering_contribution=contribution,
                markets=list(markets),
                enabled=rest[0] if rest else True,
            )
        )
    Game.objects.bulk_create(games)
    return len(games)
