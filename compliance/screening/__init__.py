"""Sanctions and PEP screening: watch-list versions (OFAC SDN, UN, EU, PEP), name
matching, the review queue and the re-screen of the whole population. See
docs/compliance.md, "Sanctions and PEP screening"."""
