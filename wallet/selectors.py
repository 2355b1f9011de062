"""Ledger reads shared by the console, the player page and the platform API. Each runs a
fixed number of queries whatever the history length."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from players.models import Player

from .models import Account, Posting

_BALANCE_KEYS = {
    Account.Kind.PLAYER_CASH: "cash",
    Account.Kind.PLAYER_BONUS: "bonus",
    Account.Kind.PLAYER_WITHDRAWAL_PENDING: "withdrawal_pending",
}


def player_balances(player: Player) -> dict:
    """{"currency", "cash", "bonus", "withdrawal_pending", "withdrawable"}, ints of minor
    units, in one query. Withdrawable is the cash: bonus money is not withdrawable until
    converted, and pending withdrawals have already left the cash account."""
    out = {"currency": player.currency, "cash": 0, "bonus": 0, "withdrawal_pending": 0}
    rows = Account.objects.filter(player_id=player.pk, currency=player.currency).values_list(
        "kind", "balance"
    )
    for kind, balance in rows:
        out[_BALANCE_KEYS[kind]] = balance
    out["withdrawable"] = out["cash"]
    return out


def _start(d: date | datetime) -> datetime:
    if isinstance(d, datetime):
        return d
    return timezone.make_aware(datetime.combine(d, time.min), timezone.get_default_timezone())


def statement(
    player: Player,
    *,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
    kind: str | None = None,
) -> QuerySet[Posting]:
    """The player's postings (every account), newest first, each with `balance_after`
    (the running balance of its account). A date_to that is a date includes that day."""
    qs = (
        Posting.objects.filter(account__player_id=player.pk)
        .select_related("transaction", "account")
        .order_by("-id")  # ledger order: balance_after follows it (see wallet/posting.py)
    )
    if date_from:
        qs = qs.filter(created_at__gte=_start(date_from))
    if isinstance(date_to, datetime):
        qs = qs.filter(created_at__lte=date_to)
    elif date_to:
        qs = qs.filter(created_at__lt=_start(date_to) + timedelta(days=1))
    if kind:
        qs = qs.filter(transaction__kind=kind)
    return qs


def house_balance(account: Account) -> int:
    """A house account's balance: the sum of its postings (no stored row; see models)."""
    return Posting.objects.filter(account_id=account.pk).aggregate(s=Sum("amount"))["s"] or 0


def house_balances() -> dict[int, int]:
    """Every house account's balance in one grouped query: {account_id: minor units}."""
    rows = (
        Posting.objects.filter(account__player__isnull=True)
        .values("account_id")
        .annotate(s=Sum("amount"))
        .values_list("account_id", "s")
    )
    return dict(rows)
