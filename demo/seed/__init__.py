"""Years of coherent casino history, simulated in memory and written in bulk (seed_demo).

    from demo.seed import seed_run
    run = seed_run(players=2_000, days=365, seed=1)

history.py simulates one player; book.py builds the rows the services would write;
writer.py allocates ids and writes (COPY on PostgreSQL); planted.py adds the cases the
AML rules and the sanctions screening must find; run.py ties them together."""

from .run import seed_run, summary_lines

__all__ = ["seed_run", "summary_lines"]
