"""Demo players for `make run`: a few hundred across MT, SE, FI, GB and DE with names,
addresses, phones and national ids in each country's own format (the check digits of
Swedish and Finnish numbers are right), sessions on shared and own devices, notes,
some suspended or closed accounts, and goodwill credits on the ledger. Everything goes
through the services, so the audit log and the wallet accounts are as in production.
Deterministic (seeded), loaded once."""

import logging
import random
import unicodedata
from datetime import date, timedelta

from django.db import DatabaseError, transaction
from django.utils import timezone

from . import services
from .models import Player, PlayerSession

_C = {
    "MT": dict(
        first="Joseph Maria John Carmen Paul Rita Mark Josianne Daniel Claire Luke Sarah".split(),
        last="Borg Camilleri Vella Farrugia Zammit Galea Micallef Grech Attard Spiteri".split(),
        cities=["Valletta", "Sliema", "Birkirkara", "Mosta", "Qormi", "St. Julian's"],
        streets=["Triq il-Kbira", "Triq San Pawl", "Triq ir-Repubblika", "Triq il-Knisja"],
        lang="en",
    ),
    "SE": dict(
        first="Erik Anna Lars Karin Johan Maria Oskar Elin Nils Sara Gustav Ebba".split(),
        last="Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Lindqvist".split(),
        cities=["Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro"],
        streets=["Storgatan", "Drottninggatan", "Kungsgatan", "Vasagatan"],
        lang="sv",
    ),
    "FI": dict(
        first="Mikko Aino Juha Laura Antti Emilia Ville Sanna Eero Helmi".split(),
        last="Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen".split(),
        cities=["Helsinki", "Espoo", "Tampere", "Turku", "Oulu", "Jyväskylä"],
        streets=["Mannerheimintie", "Hämeenkatu", "Aleksanterinkatu", "Puistokatu"],
        lang="fi",
    ),
    "GB": dict(
        first="Oliver Amelia Harry Olivia George Isla Jack Emily Noah Grace".split(),
        last="Smith Jones Taylor Brown Williams Wilson Davies Evans Thomas Roberts".split(),
        cities=["London", "Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff"],
        streets=["High Street", "Station Road", "Church Lane", "Victoria Road"],
        lang="en",
    ),
    "DE": dict(
        first="Lukas Anna Jonas Lea Felix Mia Paul Hannah Leon Emma".split(),
        last="Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz".split(),
        cities=["Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Leipzig"],
        streets=["Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Gartenstraße"],
        lang="de",
    ),
}
MARKETS = ["SE", "SE", "FI", "FI", "GB", "GB", "DE", "MT"]  # weighted like the business
NOTES = [
    "Called about a delayed withdrawal; explained the KYC step.",
    "Asked how to set a deposit limit; walked through it.",
    "Complained about a game disconnect; round settled correctly.",
    "VIP: prefers contact by email only.",
    "Mentioned playing more than planned; offered RG tools.",
]
logger = logging.getLogger(__name__)
UA_PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
)
UA_DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
SUSPEND_REASONS = ["Chargeback under investigation", "RG concern raised on chat", "Suspected shared account"]


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _national_id(r: random.Random, market: str, dob: date) -> str:
    if market == "SE":  # personnummer YYYYMMDD-NNNC, Luhn over YYMMDDNNN
        serial = f"{r.randint(0, 999):03d}"
        return f"{dob:%Y%m%d}-{serial}{_luhn_digit(f'{dob:%y%m%d}{serial}')}"
    if market == "FI":  # henkilötunnus DDMMYY-NNNC, check character mod 31
        serial = f"{r.randint(2, 899):03d}"
        check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(f"{dob:%d%m%y}{serial}") % 31]
        return f"{dob:%d%m%y}{'-' if dob.year < 2000 else 'A'}{serial}{check}"
    if market == "GB":  # National Insurance number
        return f"{r.choice(['AB', 'JG', 'NP', 'SK', 'TW', 'WL'])}{r.randint(0, 999999):06d}{r.choice('ABCD')}"
    if market == "MT":  # Maltese identity card
        return f"{r.randint(1, 999999):07d}{r.choice('MGALHBPZ')}"
    return f"{r.randint(1, 9)}{r.randint(0, 10**10 - 1):010d}"  # German Steuer-ID: 11 digits


def _phone(r: random.Random, market: str) -> str:
    return {
        "MT": lambda: f"+35679{r.randint(0, 999999):06d}",
        "SE": lambda: f"+4670{r.randint(0, 9999999):07d}",
        "FI": lambda: f"+35840{r.randint(0, 9999999):07d}",
        "GB": lambda: f"+447{r.randint(100000000, 999999999)}",
        "DE": lambda: f"+4915{r.randint(10**8, 10**9 - 1)}",
    }[market]()


def _postcode(r: random.Random, market: str) -> str:
    return {
        "MT": lambda: f"{r.choice(['SLM', 'BKR', 'MST', 'QRM', 'STJ', 'VLT'])} {r.randint(1000, 9999)}",
        "SE": lambda: f"{r.randint(100, 989)} {r.randint(10, 99)}",
        "FI": lambda: f"{r.randint(0, 99):02d}{r.randint(1, 9)}00",
        "GB": lambda: (
            f"{r.choice(['M1', 'LS2', 'BS1', 'G2', 'CF10', 'SW1A'])} {r.randint(1, 9)}{r.choice('ABDEFHJ')}{r.choice('LNPQRSTUW')}"
        ),
        "DE": lambda: f"{r.randint(10000, 99999)}",
    }[market]()


def ensure_demo_players(count: int = 300, seed: int = 20260101) -> int:
    """Load the demo players unless players exist. Returns how many were created."""
    if Player.objects.exists():
        return 0
    from backoffice.models import User

    support = User.objects.filter(email="support@pitboss.test").first()
    compliance = User.objects.filter(email="compliance@pitboss.test").first()
    finance = User.objects.filter(email="finance@pitboss.test").first()
    r = random.Random(seed)
    now = timezone.now()
    shared_devices = [f"dev-shared-{i:02d}" for i in range(8)]  # duplicate-account hints for risk
    goodwill_ok = True
    sessions: list[PlayerSession] = []
    with transaction.atomic():
        for n in range(count):
            market = r.choice(MARKETS)
            c = _C[market]
            first, last = r.choice(c["first"]), r.choice(c["last"])
            dob = date(r.randint(1955, 2004), r.randint(1, 12), r.randint(1, 28))
            player = services.player_register(
                jurisdiction=market,
                email=f"{_ascii(first)}.{_ascii(last)}{n}@example.com",
                phone=_phone(r, market),
                first_name=first,
                last_name=last,
                date_of_birth=dob,
                address_line=f"{r.randint(1, 120)} {r.choice(c['streets'])}"
                if market in ("GB", "MT")
                else f"{r.choice(c['streets'])} {r.randint(1, 120)}",
                postcode=_postcode(r, market),
                city=r.choice(c["cities"]),
                nationality=market,
                language=c["lang"],
                national_id=_national_id(r, market, dob),
                consents={"email": r.random() < 0.6, "sms": r.random() < 0.3, "phone": r.random() < 0.1},
                actor=None,
                actor_label="api:demo-frontend",
            )
            registered = now - timedelta(days=r.randint(1, 720), minutes=r.randint(0, 1440))
            # Demo only: spread registrations over two years (the service stamps "now").
            Player.objects.filter(pk=player.pk).update(created_at=registered)
            rows = _demo_sessions(r, player, registered, shared_devices)
            sessions.extend(rows)
            if rows:
                Player.objects.filter(pk=player.pk).update(last_seen_at=rows[-1].ended_at)
            if support and r.random() < 0.2:
                services.note_add(
                    player_id=player.pk, body=r.choice(NOTES), pinned=r.random() < 0.3, actor=support
                )
            if finance and goodwill_ok and r.random() < 0.35:
                goodwill_ok = _demo_goodwill(r, player, finance)
            roll = r.random()
            if compliance and roll < 0.05:
                services.player_suspend(
                    player_id=player.pk, reason=r.choice(SUSPEND_REASONS), actor=compliance
                )
            elif compliance and roll < 0.07:
                services.player_close(
                    player_id=player.pk, reason="Player asked to close the account", actor=compliance
                )
        PlayerSession.objects.bulk_create(sessions, batch_size=500)
    return count


def _demo_sessions(
    r: random.Random, player: Player, registered, shared_devices: list[str]
) -> list[PlayerSession]:
    # Past sessions, as the front end would have reported them; inserted in bulk by the
    # caller (a session report is the player's activity: no audit event, no rules beyond
    # the row's own constraints).
    own_device = f"dev-{r.getrandbits(48):012x}"
    ip = f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    start, rows = registered, []
    for _ in range(r.randint(0, 8)):
        start = start + timedelta(days=r.randint(0, 20), hours=r.randint(0, 12))
        if start > timezone.now():
            break
        device = r.choice(shared_devices) if r.random() < 0.05 else own_device
        rows.append(
            PlayerSession(
                player=player,
                started_at=start,
                ended_at=start + timedelta(minutes=r.randint(3, 150)),
                ip=ip,
                device_id=device,
                user_agent=UA_PHONE if device == own_device and r.random() < 0.5 else UA_DESKTOP,
                reported_by="api:demo-frontend",
            )
        )
    return rows


def _demo_goodwill(r: random.Random, player: Player, finance) -> bool:
    """A goodwill credit through the wallet's service. If the ledger cannot post on this
    database, the demo goes on without ledger history (and says so)."""
    from backoffice.money import Money
    from wallet.services import adjustment_request

    try:
        with transaction.atomic():
            _post_goodwill(r, player, finance, adjustment_request, Money)
    except DatabaseError as exc:
        logger.warning("Demo goodwill credits skipped: the ledger could not post (%s).", exc)
        return False
    return True


def _post_goodwill(r, player, finance, adjustment_request, Money) -> None:
    adjustment_request(
        player_id=player.pk,
        amount=Money(
            r.choice([500, 1000, 2000, 2500, 4000]) * (10 if player.currency == "SEK" else 1), player.currency
        ),
        direction="credit",
        reason="Goodwill credit (demo data)",
        reference=f"DEMO-{player.public_id}",
        actor=finance,
        idempotency_key=f"demo-goodwill:{player.public_id}",
    )
