"""Planted cases: a few players whose recent history matches each AML rule's definition
(compliance/aml/rules.py, and the rules being added beside them), and players named like
persons on the sanctions and PEP lists. They are ordinary seeded players (same rows, same
ledger) whose behaviour is scripted instead of drawn; docs/demo.md maps them to the rules.

Everything happens in the last days of the history, inside every rule's window."""

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .base import DAY
from .history import PlayerSim
from .world import SEGMENTS

DATA = Path(__file__).resolve().parent / "data"
VIP = SEGMENTS[2]
REGULAR = SEGMENTS[1]
PLANTED_INDEX = 10_000_000  # planted players' indexes (public ids, emails) start here

# Persons on the demo lists (data/): (list, first, last, date of birth, nationality, market)
LISTED = [
    ("ofac_sdn", "Viktor", "Drakonov", date(1966, 3, 14), "MT", "MT"),
    ("ofac_sdn", "Magnus", "Kesselring", date(1971, 11, 2), "DE", "DE"),
    ("pep", "Aurelio", "Vantaggio", date(1961, 4, 17), "MT", "MT"),
    ("pep", "Henrietta", "Oakhampton", date(1968, 9, 2), "GB", "GB"),
]


@dataclass
class Case:
    rule: str
    player_id: int
    public_id: str


def _sim(
    world, k: int, *, market: str = "MT", segment=REGULAR, registered_days_ago: float = 40, **kw
) -> PlayerSim:
    index = PLANTED_INDEX + k
    sim = PlayerSim(world, index, random.Random(f"planted:{world.seed}:{k}"))
    sim.register(
        at=world.end - registered_days_ago * DAY,
        market=market,
        channel="standard",
        segment=segment,
        limits=False,
        **kw,
    )
    sim.provider = "adyen"
    return sim


def _eur(sim: PlayerSim, euros: int) -> int:
    """An amount in the player's currency worth about `euros` EUR (minor units)."""
    return int(euros * 100 / sim.world.eur_rate(sim.currency)) // 100 * 100


def plant(world) -> list[Case]:
    """Write the planted players (each finished: accounts, KYC profile); the caller flushes."""
    end, cases, k = world.end, [], 0

    def done(rule: str, sim: PlayerSim) -> None:
        sim.finish()
        cases.append(Case(rule, sim.player_id, sim.public_id))

    def new(**kw) -> PlayerSim:
        nonlocal k
        k += 1
        return _sim(world, k, **kw)

    # cdd_threshold: accrued deposits cross EUR 2,000 (a KYC requirement opens).
    s = new()
    for days in (20, 12, 4):
        s.deposit(end - days * DAY, _eur(s, 800), "adyen")
        s.session(end - days * DAY + 600, rounds=15)
    done("cdd_threshold", s)
    # structuring: three deposits just below EUR 2,000 within a week.
    s = new()
    for days, euros in ((5, 1_800), (3, 1_900), (1, 1_750)):
        s.deposit(end - days * DAY, _eur(s, euros), "nuvei")
    done("structuring", s)
    # deposit_withdraw_little_play: EUR 1,000 in, a few small bets, most of it asked back.
    s = new()
    s.deposit(end - 3 * DAY, _eur(s, 1_000), "adyen")
    s.session(end - 3 * DAY + 600, rounds=8, stakes=[_eur(s, 5)])
    s.withdraw(end - 2 * DAY, _eur(s, 900), "adyen", fate="in_review")
    done("deposit_withdraw_little_play", s)
    # shared_instrument: two accounts paying with the same card.
    for _ in range(2):
        s = new()
        s.deposit(end - 6 * DAY, _eur(s, 100), "adyen", fingerprint_seed="planted-shared-card-4242")
        s.session(end - 6 * DAY + 600, rounds=20)
        done("shared_instrument", s)
    # large_deposit: one deposit of EUR 6,000.
    s = new(segment=VIP)
    s.deposit(end - 10 * DAY, _eur(s, 6_000), "trustly")
    s.session(end - 10 * DAY + 600, rounds=40)
    done("large_deposit", s)
    # large_total: EUR 12,000 in four deposits within a week.
    s = new(segment=VIP)
    for days in (6, 4, 3, 1):
        s.deposit(end - days * DAY, _eur(s, 3_000), "trustly")
    done("large_total", s)
    # many_methods: five instruments in a month.
    s = new()
    for i, provider in enumerate(("adyen", "adyen", "nuvei", "payz", "trustly")):
        s.deposit(
            end - (20 - 3 * i) * DAY, _eur(s, 50), provider, fingerprint_seed=f"planted-{s.player_id}-{i}"
        )
    done("many_methods", s)
    # approaching_cdd: deposits at about 90% of the CDD threshold, not over it.
    s = new()
    for days in (9, 5, 2):
        s.deposit(end - days * DAY, _eur(s, 600), "nuvei")
    done("approaching_cdd", s)
    # withdrawal_unused_instrument: paid in by card, asks the payout to a bank account never used.
    s = new()
    s.deposit(end - 5 * DAY, _eur(s, 400), "adyen")
    s.session(end - 5 * DAY + 600, rounds=60, stakes=[_eur(s, 2)])
    s.withdraw(end - 2 * DAY, _eur(s, 300), "trustly", fate="in_review")
    done("withdrawal_unused_instrument", s)
    # shared_device_ip: three accounts logging in from one device and address.
    device, ip = f"dev-planted-{world.run}-shared", "185.220.101.47"
    for i in range(3):
        s = new()
        s.deposit(end - (4 - i) * DAY, _eur(s, 50), "payz")
        s.session(end - (4 - i) * DAY + 600, rounds=20, device=device, ip=ip)
        done("shared_device_ip", s)
    # deposit_velocity: a steady small depositor for three months, then eight deposits of
    # EUR 150 within two hours (far above their own daily rate).
    s = new(registered_days_ago=95)
    for days in (80, 55, 30):
        s.deposit(end - days * DAY, _eur(s, 50), "adyen")
        s.session(end - days * DAY + 600, rounds=10)
    start = end - 2 * DAY
    for i in range(8):
        s.deposit(start + i * 900, _eur(s, 150), "adyen")
        s.session(start + i * 900 + 300, rounds=6)
    done("deposit_velocity", s)
    # dormant_reactivated: active a year ago, silent since, back with a large deposit.
    s = new(registered_days_ago=400)
    s.deposit(end - 398 * DAY, _eur(s, 50), "adyen")
    s.session(end - 398 * DAY + 600, rounds=20)
    s.deposit(end - 1 * DAY, _eur(s, 1_500), "adyen")
    done("dormant_reactivated", s)
    # high_risk_country: a national of a FATF "call for action" country.
    s = new(nationality="IR")
    s.deposit(end - 3 * DAY, _eur(s, 300), "nuvei")
    s.session(end - 3 * DAY + 600, rounds=30)
    done("high_risk_country", s)
    # sanctions_pep_match: players named like listed persons. A sanctions match in the
    # strong band holds the player before any money moves; a PEP plays normally.
    for listed, first, last, dob, nationality, market in LISTED:
        s = new(
            market=market, first=first, last=last, dob=dob, nationality=nationality, registered_days_ago=2
        )
        if listed == "pep":
            s.kyc_level = max(s.kyc_level, 1)
            s.deposit(end - 1.5 * DAY, _eur(s, 200), "adyen")
            s.session(end - 1.5 * DAY + 600, rounds=20)
        done("sanctions_pep_match", s)
    return cases


def ensure_demo_lists() -> bool:
    """The demo sanctions and PEP lists (fictional persons, data/), imported through the
    screening service unless a current version of that list exists. True when imported."""
    from compliance.screening.models import WatchlistVersion
    from compliance.screening.services import watchlist_import

    imported = False
    for fmt, watchlist, name in (("ofac-csv", "ofac_sdn", "sdn.csv"), ("pep-csv", "pep", "demo_pep.csv")):
        if not WatchlistVersion.objects.filter(watchlist=watchlist, current=True).exists():
            watchlist_import(fmt=fmt, paths=[DATA / name], actor_label="seed_demo")
            imported = True
    return imported


def screen(cases: list[Case]) -> int:
    """Screen the players named like listed persons through the screening service (as
    registration does); the number of matches found."""
    from compliance.screening.services import player_screen

    return sum(len(player_screen(player_id=c.player_id)) for c in cases if c.rule == "sanctions_pep_match")
