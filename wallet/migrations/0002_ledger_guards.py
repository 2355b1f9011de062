"""PostgreSQL guards of the ledger's invariants (DESIGN.md, "Money and the ledger"):

1. the postings of a transaction sum to zero per currency: a deferred constraint
   trigger checks each transaction at commit (hordak's pattern), and a transaction
   without postings is refused the same way;
4. postings and transactions are insert-only: a trigger refuses UPDATE and DELETE,
   whoever issues them. TRUNCATE is left to privileges, as for the audit log (the test
   runner truncates between transactional tests).

Invariant 3 (no negative player balance) is a CheckConstraint in 0001, on both
databases. SQLite (the embedded demo) gets no triggers; ledger_verify still checks."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION wallet_posting_zero_sum_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
  SELECT a.currency, sum(p.amount) AS total INTO bad
    FROM wallet_posting p JOIN wallet_account a ON a.id = p.account_id
   WHERE p.transaction_id = NEW.transaction_id
   GROUP BY a.currency
  HAVING sum(p.amount) <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'wallet: the postings of transaction % sum to % %, not zero',
      NEW.transaction_id, bad.total, bad.currency USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER wallet_posting_zero_sum
  AFTER INSERT ON wallet_posting DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION wallet_posting_zero_sum_check();

CREATE OR REPLACE FUNCTION wallet_transaction_has_postings_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM wallet_posting WHERE transaction_id = NEW.id) THEN
    RAISE EXCEPTION 'wallet: transaction % has no postings', NEW.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER wallet_transaction_has_postings
  AFTER INSERT ON wallet_transaction DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION wallet_transaction_has_postings_check();

CREATE TRIGGER wallet_posting_insert_only
  BEFORE UPDATE OR DELETE ON wallet_posting
  FOR EACH ROW EXECUTE FUNCTION pitboss_refuse_change();
CREATE TRIGGER wallet_transaction_insert_only
  BEFORE UPDATE OR DELETE ON wallet_transaction
  FOR EACH ROW EXECUTE FUNCTION pitboss_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS wallet_transaction_insert_only ON wallet_transaction;
DROP TRIGGER IF EXISTS wallet_posting_insert_only ON wallet_posting;
DROP TRIGGER IF EXISTS wallet_transaction_has_postings ON wallet_transaction;
DROP TRIGGER IF EXISTS wallet_posting_zero_sum ON wallet_posting;
DROP FUNCTION IF EXISTS wallet_transaction_has_postings_check();
DROP FUNCTION IF EXISTS wallet_posting_zero_sum_check();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    # pitboss_refuse_change() comes from the audit log's migration.
    dependencies = [("wallet", "0001_initial"), ("backoffice", "0002_audit_immutable")]
    operations = [migrations.RunPython(forward, backward)]
