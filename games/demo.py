"""Demo games catalogue (five fictional studios, about forty games) and demo rounds played
through the seamless wallet. Each loaded once."""

import json
import random
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


# --- demo rounds ---------------------------------------------------------------------------------

DEMO_ROUND_PLAYERS = 30
DEMO_DEPOSIT_KEY = "demo-games-deposit:{public_id}"
# Stakes in minor units of EUR-like currencies; SEK stakes are ten times larger.
STAKES = [10, 20, 50, 100, 200, 500]
CURRENCY_SCALE = {"SEK": 10}


def ensure_demo_rounds(seed: int = 20261201) -> int:
    """Play a few hundred game rounds for a sample of the demo players, unless rounds exist;
    the number of rounds played. Every call goes through the seamless wallet's own
    functions (games.wallet: the gates, the call record, the ledger), exactly as a signed
    aggregator call does after its signature is checked; only the HTTP door is skipped.
    Players the gates refuse (self-excluded, no mandatory limit set, identity not yet
    verified) are passed over, as the casino front end would not launch a game for them.
    Each player gets a demo deposit first, posted through the ledger."""
    from players.models import Player

    from .models import Round

    if Round.objects.exists() or not Game.objects.exists():
        return 0
    r = random.Random(seed)
    games = list(Game.objects.filter(enabled=True).select_related("provider").order_by("id"))
    candidates = list(Player.objects.filter(status=Player.Status.ACTIVE).order_by("id"))
    r.shuffle(candidates)
    rounds = players = 0
    with transaction.atomic():  # one commit: fast on SQLite, all or nothing everywhere
        for player in candidates:
            if players >= DEMO_ROUND_PLAYERS:
                break
            sessions = _demo_sessions(r, player, games)
            if not sessions:
                continue
            players += 1
            _demo_deposit(r, player)
            for _ in range(r.randint(5, 12)):
                played = _demo_round(r, player, r.choice(sessions))
                if played is None:  # the balance ran out or a limit was reached: the player stops
                    break
                rounds += played
    return rounds


def _demo_sessions(r: random.Random, player, games: list[Game]) -> list:
    from backoffice.errors import DomainError

    from .sessions import game_session_start

    offered = [g for g in games if player.jurisdiction in (g.markets or [])]
    sessions = []
    for game in r.sample(offered, k=min(len(offered), r.randint(1, 3))):
        try:
            sessions.append(
                game_session_start(player_id=player.pk, game_code=game.code, started_via="api:demo-casino")
            )
        except DomainError:  # the gates refuse this player: no launch, as in production
            return []
    return sessions


def _demo_deposit(r: random.Random, player) -> None:
    from wallet.models import Account
    from wallet.services import Leg, house_account, player_accounts_ensure, transaction_post

    amount = r.choice([5_000, 10_000, 20_000, 30_000]) * CURRENCY_SCALE.get(player.currency, 1)
    cash = player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    transaction_post(
        kind="deposit",
        idempotency_key=DEMO_DEPOSIT_KEY.format(public_id=player.public_id),
        legs=[
            Leg(cash, amount),
            Leg(house_account(Account.Kind.HOUSE_PSP, "demo", player.currency), -amount),
        ],
        reference=f"DEMO-{player.public_id}",
        metadata={"demo": True},
    )


def _demo_win_multiplier(r: random.Random) -> Decimal:
    # About 97% paid back on average: mostly small wins and losses, now and then a big one.
    roll = r.random()
    if roll < 0.02:
        return Decimal(r.choice([10, 15, 25]))
    if roll < 0.45:
        return Decimal(r.choice(["0.5", "1", "1.5", "2", "2.5"]))
    return Decimal(0)


def _demo_round(r: random.Random, player, session) -> int | None:
    """One round: usually a bet and the win that closes it (0 for a loss); sometimes a
    second bet (a double in a table game), a rollback (the provider cancelled the spin),
    or a round left open (still in play). 1 when a round was opened, None when the bet was
    refused (the player stops)."""
    from . import wallet as seamless

    game, provider = session.game, session.game.provider
    round_id = f"{provider.code[:2]}-{r.getrandbits(40):010x}"
    stake = r.choice(STAKES) * CURRENCY_SCALE.get(player.currency, 1)

    def call(endpoint: str, **fields) -> dict:
        body = {"player_id": player.public_id, "transaction_id": f"demo-{r.getrandbits(48):012x}", **fields}
        data = seamless.parse(endpoint, json.dumps(body).encode())
        return seamless.HANDLERS[endpoint](provider, data)

    common = {"round_id": round_id, "game_code": game.code, "currency": player.currency}
    bet_ids = []
    for _ in range(2 if game.category in ("table", "live") and r.random() < 0.15 else 1):
        answer = call("bet", token=session.token, amount=stake, **common)
        if answer["status"] != seamless.OK:
            return None if not bet_ids else 1
        bet_ids.append(answer["transaction_id"])
    fate = r.random()
    if fate < 0.04:
        call("rollback", reference_transaction_id=bet_ids[-1], round_id=round_id)
        if len(bet_ids) == 1:
            return 1
    if fate < 0.07:
        return 1  # still in play
    win = int(stake * len(bet_ids) * _demo_win_multiplier(r))
    call("win", amount=win, reference_transaction_id=bet_ids[0], round_closed=True, **common)
    return 1
