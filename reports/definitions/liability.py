"""Player liability: what the casino owes players at the end of a day, per currency (cash,
bonus money, withdrawals requested but not yet paid), from the player accounts' balances,
reconciled against the ledger: the sum of the same accounts' postings up to the same moment.
A difference other than 0 means the stored balances drifted from the postings (ledger_verify
names the accounts)."""

from datetime import datetime

from django.db.models import BigIntegerField, Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from reports import registry
from reports.registry import ChartSpec, Column, DateRangeForm, Report, Table
from wallet.models import Account, Posting

from .common import currency_field, cutoff_as_of, market_field, range_bounds

K = Account.Kind
PLAYER_KINDS = (K.PLAYER_CASH, K.PLAYER_BONUS, K.PLAYER_WITHDRAWAL_PENDING)


def player_funds(cutoff: datetime, *, market: str = "", currency: str = "") -> list[dict]:
    """Per currency at `cutoff`: players holding funds, cash, bonus, pending withdrawals,
    their total, the ledger's sum of postings and the difference. Two aggregate queries."""
    accounts = Account.objects.filter(kind__in=PLAYER_KINDS)
    if market:
        accounts = accounts.filter(player__jurisdiction=market)
    if currency:
        accounts = accounts.filter(currency=currency)
    if cutoff >= timezone.now():
        balance = Coalesce("balance", Value(0), output_field=BigIntegerField())
    else:
        # The balance the account showed at the cutoff: its last posting's balance_after.
        last = Posting.objects.filter(account=OuterRef("pk"), created_at__lt=cutoff).order_by(
            "-created_at", "-id"
        )
        balance = Coalesce(
            Subquery(last.values("balance_after")[:1]), Value(0), output_field=BigIntegerField()
        )
    rows = {
        r["currency"]: r
        for r in accounts.annotate(bal=balance)
        .values("currency")
        .annotate(
            cash=Coalesce(Sum("bal", filter=Q(kind=K.PLAYER_CASH)), 0),
            bonus=Coalesce(Sum("bal", filter=Q(kind=K.PLAYER_BONUS)), 0),
            pending=Coalesce(Sum("bal", filter=Q(kind=K.PLAYER_WITHDRAWAL_PENDING)), 0),
            players=Count("player", filter=Q(bal__gt=0), distinct=True),
        )
        .order_by("currency")
    }
    ledger = dict(
        Posting.objects.filter(account__in=accounts, created_at__lt=cutoff)
        .values("account__currency")
        .annotate(s=Sum("amount"))
        .values_list("account__currency", "s")
    )
    out = []
    for cur in sorted(set(rows) | set(ledger)):
        r = rows.get(cur, {"cash": 0, "bonus": 0, "pending": 0, "players": 0})
        total = r["cash"] + r["bonus"] + r["pending"]
        led = int(ledger.get(cur) or 0)
        out.append(
            {
                "currency": cur,
                "players": r["players"],
                "cash": r["cash"],
                "bonus": r["bonus"],
                "pending": r["pending"],
                "total": total,
                "ledger": led,
                "difference": total - led,
            }
        )
    return out


class LiabilityForm(DateRangeForm):
    market = market_field()
    currency = currency_field()


COLUMNS = [
    Column("currency", "Currency"),
    Column("players", "Players with funds", "int"),
    Column("cash", "Cash balances", "money"),
    Column("bonus", "Bonus balances", "money"),
    Column("pending", "Withdrawals pending", "money"),
    Column("total", "Total liability", "money"),
    Column("ledger", "Ledger (sum of postings)", "money"),
    Column("difference", "Difference", "money"),
]


def build(p: dict) -> Table:
    cutoff = range_bounds(p["date_from"], p["date_to"])[1]
    rows = player_funds(cutoff, market=p.get("market", ""), currency=p.get("currency", ""))
    notes = [f"Balances at the end of {p['date_to']} (reporting time zone); the From day is not used."]
    if any(r["difference"] for r in rows):
        notes.append("A difference is not 0: run ledger_verify to find the accounts that drifted.")
    return Table(
        columns=COLUMNS,
        rows=rows,
        as_of=cutoff_as_of(cutoff),
        chart=ChartSpec(
            "bar",
            "currency",
            ("cash", "bonus", "pending"),
            "Liability per currency (each in its own currency)",
        ),
        notes=notes,
    )


registry.register(
    Report(
        key="player-liability",
        title="Player liability",
        description="What the casino owes players per currency at the end date, reconciled against the ledger.",
        permission=registry.MONEY,
        form_class=LiabilityForm,
        build=build,
        order=40,
    )
)
