"""django-hordak 2.0 as the benchmark peer: `transfer_to` (a transaction and two legs,
checked by hordak's deferred zero-sum trigger) in one database transaction per bet.
Hordak keeps no stored balance, no overdraft floor, no idempotency key and takes no
row lock, so it does less than our service per bet."""

import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_accounts: list = []
_house = None


def _django(url: str) -> None:
    os.environ["HORDAK_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.ledger_hordak_settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def setup(url: str, players: int) -> None:
    """Migrate and create `players` liability accounts and one income account."""
    _django(url)
    from django.core.management import call_command
    from hordak.models import Account

    call_command("migrate", verbosity=0)
    Account.objects.create(name="Game provider", code="9", type="IN", currencies=["EUR"])
    for i in range(players):
        Account.objects.create(name=f"Player {i}", code=f"{i + 10}", type="LI", currencies=["EUR"])


def init(url: str) -> None:
    global _accounts, _house
    _django(url)
    from hordak.models import Account

    _house = Account.objects.get(code="9")
    _accounts = list(Account.objects.exclude(code="9").order_by("id"))


def run(args: tuple) -> tuple[int, int]:
    scenario, start_at, seconds = args
    from django.db import transaction
    from djmoney.money import Money

    one_cent = Money(Decimal("0.01"), "EUR")
    while time.time() < start_at:
        time.sleep(0.001)
    done = errors = 0
    end = start_at + seconds
    while time.time() < end:
        acc = _accounts[0] if scenario == "hot" else random.choice(_accounts)
        try:
            with transaction.atomic():
                acc.transfer_to(_house, one_cent)
            done += 1
        except Exception:  # counted, not hidden: the table prints errors
            errors += 1
    return done, errors


if __name__ == "__main__":
    setup(sys.argv[1], int(sys.argv[2]))
