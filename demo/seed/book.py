"""The rows each service writes, built in memory: a ledger transaction with its postings
(wallet.services.transaction_post), a wallet API bet, win or rollback (games.wallet), a
deposit and a withdrawal with their events (payments.services, payments.withdrawals).

Same transaction kinds, idempotency keys, request hashes, references, metadata, legs in
the same order (so posting ids in the same order), balance_after on player postings, and
call records with the request and answer the wallet API stores. Only the clock is the
seed's: every row carries the simulated time it happened."""

import hashlib
import json
from collections.abc import Callable

from .writer import Ids, Writer


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def txn_request_hash(kind: str, legs: list[tuple[int, int]], reference: str, reverses: int | None) -> str:
    """wallet.services._request_hash, without json.dumps on the hot path (our references
    are plain ASCII without quotes or backslashes; demo/tests check the two agree)."""
    body = ",".join(f"[{a},{x}]" for a, x in sorted(legs))
    rev = "null" if reverses is None else reverses
    return _sha(f'{{"kind":"{kind}","legs":[{body}],"reference":"{reference}","reverses":{rev}}}')


def call_request_hash(endpoint: str, values: tuple) -> str:
    """games.wallet.request_hash: sha256 of [endpoint, *the hashed fields]."""
    return _sha(json.dumps([endpoint, *values], separators=(",", ":")))


class Book:
    """Posts for one player at a time; `balances` are the player's accounts' running
    balances (what the stored balance and each posting's balance_after hold)."""

    def __init__(self, writer: Writer, ids: Ids, dt: Callable[[float], str]):
        self.w, self.ids, self.dt = writer, ids, dt
        self.balances: dict[int, int] = {}

    def post(
        self,
        kind: str,
        key: str,
        legs: list[tuple[int, int]],
        *,
        at: float,
        reference: str,
        metadata: str,
        player_accounts: tuple[int, ...],
        reverses: int | None = None,
    ) -> int:
        """One balanced transaction; legs are (account id, signed amount) in the caller's
        order, which is the postings' order (and so their ids')."""
        tid = self.ids.take("txn")
        when = self.dt(at)
        self.w.add(
            "txn",
            (
                tid,
                kind,
                key,
                txn_request_hash(kind, legs, reference, reverses),
                reference,
                metadata,
                reverses,
                when,
            ),
        )
        for account, amount in legs:
            after = None
            if account in player_accounts:
                after = self.balances[account] + amount
                if after < 0:
                    raise AssertionError(f"seed bug: account {account} would go to {after}")
                self.balances[account] = after
            self.w.add("posting", (tid, account, amount, after, when))
        return tid
