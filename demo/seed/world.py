"""The seeded casino's shape: markets, channels, player segments, payment providers and
their methods and failure rates, game outcome tables. Data only; history.py uses it."""

from dataclasses import dataclass

# Markets weighted like the business; each market's account currency is players.services'.
MARKETS = {"SE": 30, "FI": 20, "GB": 20, "DE": 15, "MT": 15}
# Stakes and amounts are set in EUR-like units; SEK amounts are ten times larger.
SCALE = {"SEK": 10}
# Share of registrations through Pay N Play (the deposit is the registration: Trustly or
# Zimpler identifies the player through their bank). Only the Nordic markets offer it.
PAY_N_PLAY_SHARE = {"SE": 0.55, "FI": 0.45}
# Share of standard registrations that ever make a first deposit (Pay N Play: all).
FIRST_DEPOSIT_SHARE = 0.55
# Markets that verify identity before play (compliance rule kyc_level_before_play >= 1).
KYC_BEFORE_PLAY = {"SE", "GB", "DE"}
# Markets whose rules require a deposit limit before play (compliance rule mandatory_limits).
MANDATORY_DEPOSIT_LIMIT = {"SE", "DE"}


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    active_day: float  # chance of a session on a day while retained
    churn: float  # daily hazard of leaving for good
    deposit: tuple[int, int]  # EUR minor units, one deposit
    stake: tuple[int, ...]  # EUR minor units
    rounds: tuple[int, int]  # rounds in a session (when the money lasts)
    cash_out: float  # balance / last deposit above which a withdrawal is likely


SEGMENTS = (
    Segment("casual", 0.75, 0.06, 0.035, (1_000, 5_000), (10, 20, 50, 100), (5, 30), 3.0),
    Segment("regular", 0.20, 0.15, 0.012, (2_000, 20_000), (50, 100, 200, 300), (15, 70), 2.5),
    Segment("vip", 0.05, 0.35, 0.006, (20_000, 300_000), (200, 500, 1_000, 2_500, 5_000), (20, 100), 2.0),
)

# Deposit providers by market (weights), and the method each provider's notification names.
PROVIDERS_BY_MARKET = {
    "SE": {"trustly": 50, "zimpler": 25, "adyen": 15, "payz": 10},
    "FI": {"trustly": 40, "zimpler": 35, "adyen": 10, "nuvei": 15},
    "GB": {"adyen": 55, "nuvei": 25, "payz": 20},
    "DE": {"adyen": 40, "trustly": 30, "nuvei": 20, "payz": 10},
    "MT": {"adyen": 40, "nuvei": 30, "payz": 20, "trustly": 10},
}
PAY_N_PLAY_PROVIDERS = {"trustly": 65, "zimpler": 35}
# (method, payment method type, brands or banks)
METHODS = {
    "adyen": ("card", "card", ("visa", "mc", "amex")),
    "nuvei": ("card", "card", ("visa", "mc", "maestro")),
    "trustly": ("trustly", "bank_account", ("SEB", "Swedbank", "Nordea", "Handelsbanken", "OP", "Danske")),
    "zimpler": ("zimpler", "bank_account", ("Swedbank", "Nordea", "OP", "S-Pankki", "SEB")),
    "payz": ("payz", "ewallet", ("payz",)),
}
# Share of deposits that fail at the provider (card refused, bank login abandoned...).
DEPOSIT_FAILURE = {"adyen": 0.08, "nuvei": 0.10, "trustly": 0.03, "zimpler": 0.04, "payz": 0.05}
# Share of withdrawals a player cancels while in review, and that fail at the provider.
WITHDRAWAL_CANCEL, PAYOUT_FAILURE = 0.04, 0.01

# Category preferences (weights); a player keeps one favourite category and provider.
CATEGORY_TASTE = {"slots": 70, "live": 15, "table": 8, "crash": 7}

# Win multipliers of the stake (times the game's RTP) and their probabilities; each table
# is normalised to a mean of 1, so a game pays back its RTP over many rounds.
OUTCOMES = {
    "slots": ((0, 0.68), (0.4, 0.12), (1, 0.08), (2, 0.06), (5, 0.04), (20, 0.018), (100, 0.002)),
    "live": ((0, 0.52), (2, 0.44), (3, 0.03), (12, 0.01)),
    "table": ((0, 0.5), (2, 0.47), (2.5, 0.02), (10, 0.01)),
    "crash": ((0, 0.45), (1.5, 0.3), (2, 0.15), (5, 0.08), (30, 0.02)),
}
ROLLBACK_SHARE = 0.001  # rounds the provider cancels (the bet is refunded)

# Names for the seeded players, by market (first names, last names).
NAMES = {
    "SE": (
        "Erik Anna Lars Karin Johan Maria Oskar Elin Nils Sara Gustav Ebba Axel Maja Hugo Alva".split(),
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Lindqvist Berg".split(),
    ),
    "FI": (
        "Mikko Aino Juha Laura Antti Emilia Ville Sanna Eero Helmi Onni Venla".split(),
        "Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen".split(),
    ),
    "GB": (
        "Oliver Amelia Harry Olivia George Isla Jack Emily Noah Grace Leo Freya".split(),
        "Smith Jones Taylor Brown Williams Wilson Davies Evans Thomas Roberts Walker Wright".split(),
    ),
    "DE": (
        "Lukas Anna Jonas Lea Felix Mia Paul Hannah Leon Emma Finn Lina".split(),
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz Koch".split(),
    ),
    "MT": (
        "Joseph Maria John Carmen Paul Rita Mark Josianne Daniel Claire Luke Sarah".split(),
        "Borg Camilleri Vella Farrugia Zammit Galea Micallef Grech Attard Spiteri".split(),
    ),
}
LANGUAGES = {"SE": "sv", "FI": "fi", "GB": "en", "DE": "de", "MT": "en"}
CITIES = {
    "SE": ("Stockholm", "Göteborg", "Malmö", "Uppsala"),
    "FI": ("Helsinki", "Espoo", "Tampere", "Turku"),
    "GB": ("London", "Manchester", "Leeds", "Bristol"),
    "DE": ("Berlin", "Hamburg", "München", "Köln"),
    "MT": ("Valletta", "Sliema", "Birkirkara", "Mosta"),
}
UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
)


def normalised_outcomes() -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Per category: (multipliers with mean 1, cumulative probabilities)."""
    out = {}
    for cat, table in OUTCOMES.items():
        mean = sum(m * p for m, p in table)
        total = sum(p for _, p in table)
        cum, acc = [], 0.0
        for _, p in table:
            acc += p / total
            cum.append(acc)
        cum[-1] = 1.0
        out[cat] = (tuple(m / mean * total for m, _ in table), tuple(cum))
    return out
