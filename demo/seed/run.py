"""The seed from start to end: a SeedRun row, the population simulated player by player
and flushed in batches, the planted cases, their screening, and the summary."""

import random
import time
from bisect import bisect
from collections.abc import Callable
from datetime import datetime

from django.db import connection
from django.utils import timezone

from . import planted
from . import world as W
from .base import DAY
from .context import World
from .history import PlayerSim
from .writer import Ids, Writer

FLUSH_ROWS = 200_000  # rows buffered before a flush (one database transaction)
ProgressFn = Callable[[int, int, int], None]  # (players done, players in all, rounds so far)


def _registration_days(days: int) -> list[float]:
    """Cumulative weights of registration per day: growing over the history (marketing
    spend rises), more at weekends."""
    acc, out = 0.0, []
    for d in range(days):
        acc += (1.0 + 1.5 * d / max(days, 1)) * (1.25 if d % 7 in (5, 6) else 1.0)
        out.append(acc)
    return out


def _population(world: World, players: int, seed: int, progress: ProgressFn | None) -> None:
    cum = _registration_days(world.days)
    markets, market_w = list(W.MARKETS), list(W.MARKETS.values())
    segment_w = [s.share for s in W.SEGMENTS]
    writer = world.writer
    for i in range(players):
        r = random.Random(f"{seed}:{i}")
        day = bisect(cum, r.random() * cum[-1])
        at = world.start + day * DAY + r.randint(0, DAY - 1)
        if at > world.end - 3600:
            at = world.end - 3600 - r.randint(0, 3600)
        market = r.choices(markets, weights=market_w)[0]
        pnp = r.random() < W.PAY_N_PLAY_SHARE.get(market, 0.0)
        sim = PlayerSim(world, i, r)
        sim.register(
            at=at,
            market=market,
            channel="pay_n_play" if pnp else "standard",
            segment=r.choices(W.SEGMENTS, weights=segment_w)[0],
            email=not pnp or r.random() < 0.5,  # a Pay N Play player may never give an email
        )
        sim.live()
        sim.finish()
        if writer.pending >= FLUSH_ROWS:
            writer.flush()
        if progress and (i + 1) % 100 == 0:
            progress(i + 1, players, _rounds(world))
    if progress:
        progress(players, players, _rounds(world))


def _rounds(world: World) -> int:
    return sum(t.rounds for t in world.tallies.values())


def seed_run(
    *,
    players: int,
    days: int,
    seed: int,
    end: datetime | None = None,
    progress: ProgressFn | None = None,
    fast_load: bool = True,
):
    """Seed `players` players over the `days` before `end` (now), reproducibly from `seed`,
    plus the planted cases; returns the finished SeedRun (its summary holds the figures)."""
    from demo.models import SeedRun

    end = end or timezone.now()
    started = time.monotonic()
    run = SeedRun.objects.create(seed=seed, players=players, days=days, history_end=end)
    writer, ids = Writer(fast_load=fast_load), Ids()
    world = World(run=run.pk, seed=seed, end=end, days=days, writer=writer, ids=ids)
    planted.ensure_demo_lists()
    _population(world, players, seed, progress)
    cases = planted.plant(world)
    writer.flush()
    matches = planted.screen(cases)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:  # fresh statistics for the planner after a bulk load
            cur.execute(
                "ANALYZE players_player, wallet_account, wallet_transaction, wallet_posting, games_round, "
                "games_wallettransaction, payments_payment"
            )
    run.summary = _summary(world, cases, matches, time.monotonic() - started, writer)
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "finished_at"])
    return run


def _summary(world: World, cases, matches: int, seconds: float, writer: Writer) -> dict:
    markets = {}
    for market, t in sorted(world.tallies.items()):
        markets[market] = {
            "players": t.players,
            "depositors": t.depositors,
            "rounds": t.rounds,
            "deposits": t.deposits,
            "deposited_minor": t.deposited,
            "failed_deposits": t.failed_deposits,
            "withdrawals": t.withdrawals,
            "withdrawn_minor": t.withdrawn,
            "bets_minor": t.bets,
            "wins_minor": t.wins,
            "ggr_minor": t.ggr,
            "by_provider": dict(sorted(t.by_provider.items())),
        }
    total = {k: sum(m[k] for m in markets.values()) for k in ("players", "rounds", "deposits", "withdrawals")}
    return {
        **total,
        "markets": markets,
        "segments": world.segments,
        "planted": [[c.rule, c.public_id] for c in cases],
        "screening_matches": matches,
        "seconds": round(seconds, 1),
        "rounds_per_second": round(total["rounds"] / seconds) if seconds else None,
        "bulk_load_without_row_triggers": writer.fast_load,
        "rows_written": dict(writer.written),
        "write_seconds": round(sum(writer.seconds.values()), 1),
        "write_seconds_by_table": {k: round(v, 1) for k, v in writer.seconds.items()},
    }


def summary_lines(summary: dict) -> list[str]:
    """The summary as the command prints it."""
    from backoffice.money import format_minor
    from players.services import MARKET_CURRENCIES

    lines = [
        f"Seeded {summary['players']:,} players, {summary['rounds']:,} game rounds, "
        f"{summary['deposits']:,} deposits, {summary['withdrawals']:,} withdrawals paid "
        f"in {summary['seconds']:.0f} s ({summary['rounds_per_second'] or 0:,} rounds/s).",
        f"{'market':6} {'players':>8} {'depositors':>10} {'rounds':>11} {'deposits':>9} "
        f"{'deposited':>18} {'withdrawn':>18} {'GGR':>16}",
    ]
    for market, m in summary["markets"].items():
        cur = MARKET_CURRENCIES.get(market, "EUR")
        lines.append(
            f"{market:6} {m['players']:>8,} {m['depositors']:>10,} {m['rounds']:>11,} {m['deposits']:>9,} "
            f"{format_minor(m['deposited_minor'], cur):>18} {format_minor(m['withdrawn_minor'], cur):>18} "
            f"{format_minor(m['ggr_minor'], cur):>16}"
        )
    rules = sorted({rule for rule, _ in summary["planted"]})
    lines.append(
        f"Planted cases: {len(summary['planted'])} players for {len(rules)} rules ({', '.join(rules)}); "
        f"{summary['screening_matches']} screening matches."
    )
    return lines
