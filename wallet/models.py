"""The double-entry ledger."""
