"""What every simulated player shares: the clock of the history, the games offered in each
market, the house accounts (created through wallet.services), provider fees, the CDD
thresholds of each market, and the running tallies for the summary."""

import random
from bisect import bisect
from datetime import UTC, datetime

from . import world as W
from .base import DAY, EVENING, Game, Tally
from .writer import Ids, Writer


class World:
    def __init__(self, *, run: int, seed: int, end: datetime, days: int, writer: Writer, ids: Ids):
        from compliance.kyc import _EUR_PER_UNIT

        self.run, self.seed, self.days, self.writer, self.ids = run, seed, days, writer, ids
        self.end = end.timestamp()
        self.start = self.end - days * DAY
        self.tallies: dict[str, Tally] = {}
        self.outcomes = W.normalised_outcomes()
        self.frozen_ids: set[int] = set()
        # Per value segment: depositors and what they deposited (EUR minor units).
        self.segments = {s.name: {"depositors": 0, "deposited_eur_minor": 0} for s in W.SEGMENTS}
        self._eur = _EUR_PER_UNIT
        self._house: dict[tuple, int] = {}
        self._fees: dict[tuple, object] = {}
        self._rules: dict[tuple, object] = {}
        acc, self._hours = 0, []
        for w in EVENING:
            acc += w
            self._hours.append(acc)
        self.games = self._games()
        self._naive = not writer.pg

    @staticmethod
    def _games() -> dict[str, dict[str, list[Game]]]:
        from games.demo import ensure_demo_games
        from games.models import Game as GameRow

        ensure_demo_games()  # the demo catalogue, through games.services, unless games exist
        by_market: dict[str, dict[str, list[Game]]] = {m: {} for m in W.MARKETS}
        rows = GameRow.objects.filter(enabled=True, provider__status="active").select_related("provider")
        for g in rows.order_by("id"):
            game = Game(
                g.pk,
                g.provider_id,
                g.provider.code,
                g.code,
                g.category,
                float(g.rtp) / 100,
                g.wagering_contribution,
            )
            for market in g.markets or []:
                if market in by_market:
                    by_market[market].setdefault(g.category, []).append(game)
        return by_market

    def dt(self, seconds: float) -> str:
        """A timestamp as the database takes it in bulk: ISO text (aware on PostgreSQL; naive
        UTC on SQLite, as Django stores it there)."""
        if self._naive:
            return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat(" ")
        return datetime.fromtimestamp(seconds, UTC).isoformat()

    def tally(self, market: str) -> Tally:
        return self.tallies.setdefault(market, Tally())

    def hour_of_day(self, r: random.Random) -> int:
        return bisect(self._hours, r.random() * self._hours[-1])

    def period_index(self, period: str, at: float) -> int:
        day = int(at // DAY)
        if period == "day":
            return day
        if period == "week":
            return (day + 3) // 7  # 1 January 1970 was a Thursday: weeks start on Monday
        d = datetime.fromtimestamp(at, UTC)
        return d.year * 12 + d.month

    def frozen(self, sim) -> bool:
        return sim.player_id in self.frozen_ids

    # --- house accounts, fees, rules (looked up once) ----------------------------------------

    def _house_account(self, kind: str, code: str, currency: str) -> int:
        key = (kind, code, currency)
        if key not in self._house:
            from wallet.services import house_account

            self._house[key] = house_account(kind, code, currency).pk
        return self._house[key]

    def house_psp(self, provider: str, currency: str) -> int:
        return self._house_account("house_psp", provider, currency)

    def house_game(self, provider: str, currency: str) -> int:
        return self._house_account("house_game_provider", provider, currency)

    def house_fees(self, currency: str) -> int:
        return self._house_account("house_fees", "", currency)

    def fee(self, provider: str, market: str, currency: str, kind: str, amount: int) -> int:
        from payments.provider_settings import fee, setting_for

        key = (provider, market, currency)
        if key not in self._fees:
            self._fees[key] = setting_for(provider=provider, market=market, currency=currency)
        return fee(self._fees[key], kind, amount)

    def eur_rate(self, currency: str) -> float:
        return self._eur.get(currency, 1.0)

    def _rule(self, market: str, key: str, default):
        if (market, key) not in self._rules:
            from compliance.selectors import rule_value

            self._rules[(market, key)] = rule_value(
                jurisdiction=market, key=key, at=datetime.fromtimestamp(self.end, UTC), default=default
            )
        return self._rules[(market, key)]

    def cdd_threshold(self, market: str) -> int:
        return int(self._rule(market, "cdd_threshold", {"amount": 200_000})["amount"])

    def cdd_due_days(self, market: str) -> int:
        return int(self._rule(market, "cdd_risk_assessment_due_days", 30))
