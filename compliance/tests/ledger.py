"""Moving a player's money in compliance tests the way deposits, bets and wins will:
through the ledger service, against a house account."""

import uuid
from datetime import datetime

import time_machine

CREDITS = ("deposit", "win", "rollback", "withdrawal_cancel")


def post(player, kind: str, amount: int, *, at: datetime | None = None, metadata: dict | None = None):
    from wallet.models import Account
    from wallet.services import Leg, house_account, player_accounts_ensure, transaction_post

    cash = player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    house_kind = (
        Account.Kind.HOUSE_PSP
        if kind in ("deposit", "withdrawal_cancel")
        else Account.Kind.HOUSE_GAME_PROVIDER
    )
    house = house_account(house_kind, "test", player.currency)
    sign = 1 if kind in CREDITS else -1

    def _do():
        return transaction_post(
            kind=kind,
            idempotency_key=str(uuid.uuid4()),
            metadata=metadata,
            legs=[Leg(cash, sign * amount), Leg(house, -sign * amount)],
        )

    if at is None:
        return _do()
    with time_machine.travel(at, tick=False):
        return _do()
