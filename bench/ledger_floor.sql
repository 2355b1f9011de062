-- The raw SQL floor for one bet, run by pgbench against the ledger's own schema (same
-- tables, indexes and triggers): what wallet.services.transaction_post issues, with no
-- Python in between. Variables: players, cash_min (first cash account id; cash accounts
-- are contiguous), house (the game provider account). players=1 is the hot-row case.
\set acct :cash_min + random(0, :players - 1)
\set k random(1, 9223372036854775806)
BEGIN;
INSERT INTO wallet_transaction (kind, idempotency_key, request_hash, reference, metadata, created_at)
  VALUES ('bet', concat('floor:', :client_id::text, ':', :k::text), '', '', '{}', now())
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING id AS txn \gset
UPDATE wallet_account SET balance = balance - 1
  WHERE id = :acct AND balance - 1 >= 0 RETURNING balance AS after \gset
INSERT INTO wallet_posting (transaction_id, account_id, amount, balance_after, created_at)
  VALUES (:txn, :acct, -1, :after, now()), (:txn, :house, 1, NULL, now());
END;
