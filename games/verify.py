"""The wallet API's records checked against the ledger, as part of `ledger_verify` (and
its nightly run): every accepted money call posted exactly its amount, and every round's
totals are the sum of its calls. Portable SQL, one statement per check."""

from wallet.models import PLAYER_KINDS

_PLAYER_KINDS_SQL = ", ".join(f"'{k}'" for k in PLAYER_KINDS)

CHECKS: list[tuple[str, str, str]] = [
    (
        "wallet_call_posted",
        "every accepted bet and win of the wallet API with an amount has its ledger transaction",
        """SELECT w.id, w.kind, w.transaction_id FROM games_wallettransaction w
            WHERE w.status = 'OK' AND w.kind IN ('bet', 'win') AND w.amount > 0 AND NOT w.tombstone
              AND w.ledger_transaction_id IS NULL""",
    ),
    (
        "wallet_call_amount",
        "a wallet call's ledger transaction moves the player's money by exactly the call's amount",
        f"""SELECT w.id, w.kind, w.amount, SUM(p.amount)
              FROM games_wallettransaction w
              JOIN wallet_posting p ON p.transaction_id = w.ledger_transaction_id
              JOIN wallet_account a ON a.id = p.account_id AND a.kind IN ({_PLAYER_KINDS_SQL})
             WHERE w.kind IN ('bet', 'win')
             GROUP BY w.id, w.kind, w.amount
            HAVING SUM(p.amount) <> CASE WHEN w.kind = 'bet' THEN -w.amount ELSE w.amount END""",
    ),
    (
        "round_totals",
        "each round's total bet and win are the sums of its accepted, not rolled-back bets and its wins",
        """SELECT r.id, r.total_bet, COALESCE(s.bets, 0), r.total_win, COALESCE(s.wins, 0)
             FROM games_round r
             LEFT JOIN (
               SELECT round_id,
                      SUM(CASE WHEN kind = 'bet' AND rolled_back_by_id IS NULL THEN amount ELSE 0 END) AS bets,
                      SUM(CASE WHEN kind = 'win' THEN amount ELSE 0 END) AS wins
                 FROM games_wallettransaction
                WHERE status = 'OK' AND round_id IS NOT NULL
                GROUP BY round_id) s ON s.round_id = r.id
            WHERE r.total_bet <> COALESCE(s.bets, 0) OR r.total_win <> COALESCE(s.wins, 0)""",
    ),
]
