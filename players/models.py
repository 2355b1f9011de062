"""Players: identity, profile, status, sessions and devices, notes (issue: Players and the wallet ledger)."""
