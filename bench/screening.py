#!/usr/bin/env python
"""Screening benchmark: re-screen 100,000 generated players against the full OFAC SDN
list (the 2024 snapshot, 14,965 entries) with compliance.screening.services.
screening_rescreen, the function the Celery task runs; beside it, in the same run, the
reference: rapidfuzz's raw `process.extract` (token-sorted ratio, C loop, score cutoff; `cdist`
needs numpy, which we do not install)
of a sample of the same names against every list name, extrapolated to the population.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pitboss .venv/bin/python bench/screening.py

Creates (and drops first) the database pitboss_bench_screening on that server. Reads the
lists from ../shared/reference/watchlists (not copied into the repository: several MB);
--lists DIR points elsewhere. Players: European first and last names, some of them
listed names with a typo or swapped (so the matches are real work); most have a middle\nname, so nearly every name is distinct (no help from the per-name cache)."""

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = (
    "Anna Lukas Sofia Marco Emma Erik Maja Oskar Aino Juha Mikko Laura Oliver Charlotte Harry Amelia Jack "
    "Isabella Lucas Chloé Hugo Léa Pierre Camille Jan Katarzyna Piotr Agnieszka Tomáš Petra Jakub Eva Matteo "
    "Giulia Alessandro Chiara Pablo Lucía Javier Carmen Sven Ingrid Lars Mette Jens Thomas Julia Stefan Sarah "
    "Daniel Joseph Maria Nikos Eleni Mohammed Ali Ivan Olga Sergei Natalia Ahmed Fatima Carlos José"
).split()
LAST = (
    "Schmidt Müller Rossi Bianchi Johansson Lindqvist Nilsson Andersson Virtanen Korhonen Mäkinen Nieminen "
    "Smith Brown Wilson Taylor Thompson Clarke Dubois Lefèvre Moreau Fontaine Girard Rousseau Kowalski Nowak "
    "Wiśniewski Wójcik Novák Svobodová Dvořák Horváth Ferrari Romano Esposito Colombo Fernández Martín Ruiz "
    "Navarro Hansen Larsen Pedersen Kristensen Jørgensen Bauer Wagner Becker Hoffmann Schulz Borg Camilleri "
    "Papadopoulos Georgiou Hassan Ivanov Petrov Smirnova Garcia Lopez Rodriguez Khan Rahman"
).split()


def _url(base: str, dbname: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{dbname}"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--players", type=int, default=100_000)
    ap.add_argument("--lists", default=str(ROOT.parent / "shared" / "reference" / "watchlists"))
    ap.add_argument("--reference-sample", type=int, default=2000)
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pitboss")
    parts = urlsplit(base)
    dbname = "pitboss_bench_screening"
    conn = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    subprocess.run(["dropdb", *conn, "--if-exists", dbname], check=True)
    subprocess.run(["createdb", *conn, dbname], check=True)
    os.environ["DATABASE_URL"] = _url(base, dbname)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from rapidfuzz import fuzz, process

    from compliance.screening.matching import normalise
    from compliance.screening.services import (
        EntryIndex,
        _current_entries,
        screening_rescreen,
        watchlist_import,
    )
    from players.models import Player

    lists = Path(args.lists)
    t = time.perf_counter()
    from compliance import tasks

    tasks.screening_rescreen_task.delay = lambda **kw: None  # timed below, in this process
    with transaction.atomic():
        v = watchlist_import(fmt="ofac-csv", paths=[lists / "ofac_sdn_2024" / "sdn.csv"])
    t_import = time.perf_counter() - t
    listed = [e.name for e in _current_entries().filter(kind="individual").only("name")[:2000]]
    rng = random.Random(7)

    def listed_variant() -> tuple[str, str]:
        name = rng.choice(listed).split()
        if rng.random() < 0.5:
            name.reverse()
        i = rng.randrange(len(name))
        if len(name[i]) > 4:  # one typo
            w = name[i]
            j = rng.randrange(1, len(w) - 1)
            name[i] = w[:j] + w[j + 1 :]
        return " ".join(name[:-1]), name[-1]

    players = []
    for _ in range(args.players):
        if rng.random() < 0.002:
            first, last = listed_variant()
        else:  # a middle name for most: ~270,000 distinct names, so the per-name cache helps little
            first = rng.choice(FIRST) + (f" {rng.choice(FIRST)}" if rng.random() < 0.8 else "")
            last = rng.choice(LAST)
        players.append(
            Player(jurisdiction="MT", currency="EUR", first_name=first[:100], last_name=last[:100])
        )
    Player.objects.bulk_create(players, batch_size=5000)
    print(
        f"OFAC SDN 2024 imported: {v.entries} entries, {v.names} names in {t_import:.1f} s; {len(players)} players"
    )

    t = time.perf_counter()
    counts = screening_rescreen(version_id=v.pk)
    t_ours = time.perf_counter() - t
    print(
        f"screening_rescreen: {t_ours:.1f} s for {counts['players']} players "
        f"({counts['matched_players']} matched, {counts['created']} matches)"
    )

    index = EntryIndex(_current_entries())
    choices = [" ".join(sorted(toks)) for _, toks, _ in index.names]
    sample = [normalise(p.full_name) for p in rng.sample(players, args.reference_sample)]
    sample = [" ".join(sorted(s.split())) for s in sample]
    t = time.perf_counter()
    for q in sample:
        process.extract(q, choices, scorer=fuzz.ratio, score_cutoff=85, limit=None)
    t_ref = (time.perf_counter() - t) * len(players) / len(sample)
    print(
        f"reference, rapidfuzz process.extract (token-sorted ratio, in C, one core) of every player against every "
        f"list name: {t_ref:.1f} s extrapolated from {len(sample)} players x {len(choices)} names"
    )


if __name__ == "__main__":
    main()
