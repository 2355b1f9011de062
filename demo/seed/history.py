"""One player's history, simulated day by day in memory and written as the services would
have written it (book.py): registration, KYC, limits, deposits through the market's
providers (some failing), sessions of game rounds paid back at each game's RTP,
withdrawals, the CDD meter opening a KYC requirement, time-outs and self-exclusions.

Players are independent of each other (house accounts carry no balance), so each is
simulated from its own random stream: the result does not depend on batch sizes."""

import random
from datetime import date

from . import world as W
from .base import DAY, PUBLIC_ALPHABET, Game, Tally, geometric, scrambled
from .book import Book
from .money import Payments
from .play import Play
from .world import Segment


class PlayerSim(Payments, Play):
    """Simulates one player; the world (context.World) holds the shared look-ups."""

    def __init__(self, world, index: int, r: random.Random):
        self.world, self.r, self.index = world, r, index
        self.w, self.ids = world.writer, world.ids
        self.book = Book(self.w, self.ids, world.dt)
        self.cash_id = self.bonus_id = self.pending_id = 0
        self.methods: dict[tuple[str, str], int] = {}  # (provider, fingerprint) -> method id
        self.deposited_lifetime = 0
        self.kyc_level = 0
        self.kyc_required_since: float | None = None
        self.kyc_done_at: float | None = None
        self.limits: dict[str, int] = {}  # period -> amount (deposit limits in force)
        self.period_deposits: dict[tuple[str, int], int] = {}
        self.last_deposit = 0
        self.last_seen = None
        self.excluded_until: float | None = None  # a time-out's end; inf: self-excluded
        self.sessions_at: list[float] = []

    # --- identity ---------------------------------------------------------------------------

    def register(
        self,
        *,
        at: float,
        market: str,
        channel: str,
        segment: Segment,
        first: str | None = None,
        last: str | None = None,
        nationality: str | None = None,
        dob: date | None = None,
        email: bool = True,
        limits: bool = True,
    ) -> None:
        from players.demo import _ascii, _national_id, _phone, _postcode
        from players.national_id import protect
        from players.services import MARKET_CURRENCIES

        r, world = self.r, self.world
        self.market, self.channel, self.segment, self.registered = market, channel, segment, at
        self.currency = MARKET_CURRENCIES[market]
        self.scale = W.SCALE.get(self.currency, 1)
        self.tally: Tally = world.tally(market)
        self.tally.players += 1
        firsts, lasts = W.NAMES[market]
        first, last = first or r.choice(firsts), last or r.choice(lasts)
        dob = dob or date(r.randint(1950, 2004), r.randint(1, 12), r.randint(1, 28))
        self.player_id = pid = self.ids.take("player")
        self.public_id = "P" + scrambled(world.run * 1_000_003 + self.index, 9, PUBLIC_ALPHABET)
        address = (
            f"{r.randint(1, 120)} High Street" if market in ("GB", "MT") else f"Hauptweg {r.randint(1, 120)}"
        )
        mail = f"{_ascii(first)}.{_ascii(last)}.{world.run}-{self.index}@seed.example.net" if email else ""
        nid = protect(_national_id(r, market, dob))
        when = world.dt(at)
        self._player_row = [
            pid,
            self.public_id,
            market,
            mail,
            _phone(r, market),
            first,
            last,
            dob.isoformat(),
            address,
            _postcode(r, market),
            r.choice(W.CITIES[market]),
            market,
            nationality or market,
            self.currency,
            W.LANGUAGES[market],
            nid["national_id_encrypted"],
            nid["national_id_hash"],
            nid["national_id_last4"],
            "active",
            "",
            None,
            channel,
            when,
            None,  # last_seen_at: known at the end (finish)
            " ".join(p for p in (first, last, mail) if p).lower()[:400],
        ]
        self.first, self.last = first, last
        self.cash_id, self.bonus_id, self.pending_id = (self.ids.take("account") for _ in range(3))
        self.book.balances = {self.cash_id: 0, self.bonus_id: 0, self.pending_id: 0}
        self.player_accounts = (self.cash_id, self.bonus_id, self.pending_id)
        # Identity verified at registration where the market requires it before play
        # (Pay N Play: by the bank, which is also the first deposit).
        self.verified_by_bank = channel == "pay_n_play"
        if self.verified_by_bank or market in W.KYC_BEFORE_PLAY:
            self.kyc_level = 1
        if market in W.MANDATORY_DEPOSIT_LIMIT or (limits and r.random() < 0.08):
            period = "month" if market in W.MANDATORY_DEPOSIT_LIMIT else "week"
            amount = {"casual": 50_000, "regular": 200_000, "vip": 2_000_000}[segment.name] * self.scale
            amount = amount if period == "month" else amount // 4
            self.limits[period] = amount
            self.w.add(
                "limit",
                (pid, "deposit", period, amount, "active", when, when, "api:seed", "set at registration"),
            )
        # One or two devices and a home address on the internet.
        self.devices = [f"dev-{r.getrandbits(48):012x}" for _ in range(r.randint(1, 2))]
        self.ip = f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        self.favourite_provider = None
        self.games = self._taste()

    def _taste(self) -> list[Game]:
        r, offered = self.r, self.world.games[self.market]
        cats = [c for c in W.CATEGORY_TASTE if offered.get(c)]
        cat = r.choices(cats, weights=[W.CATEGORY_TASTE[c] for c in cats])[0]
        pool = offered[cat]
        provider = r.choice(pool).provider
        mine = [g for g in pool if g.provider == provider]
        picks = r.sample(mine, k=min(len(mine), r.randint(1, 3)))
        others = [g for c in cats for g in offered[c]]
        picks += r.sample(others, k=min(len(others), r.randint(1, 3)))
        return picks

    # --- a whole life -------------------------------------------------------------------------

    def live(self) -> None:
        """The ordinary player: registration, maybe a first deposit, then active days until
        they churn, with deposits when the money runs out and withdrawals after a good run."""
        world, r, seg = self.world, self.r, self.segment
        day0 = int((self.registered - world.start) // DAY)
        pnp = self.channel == "pay_n_play"
        if not pnp and r.random() > W.FIRST_DEPOSIT_SHARE:
            if r.random() < 0.5:  # registered, looked around, never paid
                self.session_only(self.registered + r.randint(60, 900))
            return
        self.provider = self._provider_choice(pnp)
        churn_day = day0 + geometric(r, seg.churn)
        exclusion = r.random()
        exclusion_day = day0 + int(r.random() * (churn_day - day0 + 1)) if exclusion < 0.035 else None
        day = day0
        first = True
        while day < world.days and day <= churn_day:
            at = (self.registered + r.randint(30, 600)) if first else world.start + day * DAY + self._hour()
            if at >= world.end - 600:
                break
            if exclusion_day is not None and day >= exclusion_day:
                ends = self._exclude(at, indefinite=exclusion < 0.02)
                exclusion_day = None
                if ends is None:
                    break
                day = int((ends - world.start) // DAY) + 1
                continue
            self.active_day(at, first=first)
            first = False
            day += geometric(r, seg.active_day)

    def session_only(self, at: float) -> None:
        if at >= self.world.end - 300:
            return
        self.world.writer.add(
            "session",
            (
                self.player_id,
                self.world.dt(at),
                self.world.dt(min(at + 300, self.world.end)),
                self.ip,
                W.UA[0],
                self.devices[0],
                "api:seed-casino",
            ),
        )
        self.last_seen = at + 300

    def _hour(self) -> int:
        return self.world.hour_of_day(self.r) * 3600 + self.r.randint(0, 3599)

    def _provider_choice(self, pnp: bool) -> str:
        table = W.PAY_N_PLAY_PROVIDERS if pnp else W.PROVIDERS_BY_MARKET[self.market]
        return self.r.choices(list(table), weights=list(table.values()))[0]

    def _deposit_amount(self) -> int:
        low, high = self.segment.deposit
        raw = self.r.uniform(low, high)
        unit = 1_000 if raw < 10_000 else 5_000  # people deposit round sums
        return max(unit, int(raw // unit) * unit) * self.scale

    def try_deposit(self, at: float, *, first: bool = False) -> bool:
        r = self.r
        amount = self._deposit_amount()
        if not self.deposit_allowed(amount, at):
            return False
        provider = self.provider if first or r.random() < 0.85 else self._provider_choice(False)
        for attempt in range(2):
            failed = r.random() < W.DEPOSIT_FAILURE[provider]
            if self.deposit(at + attempt * 120, amount, provider, fail=failed):
                return True
            if r.random() < 0.5:
                return False
        return False

    def active_day(self, at: float, *, first: bool = False) -> None:
        r, seg = self.r, self.segment
        minimum = seg.stake[0] * self.scale
        if self.book.balances[self.cash_id] < minimum * 5 and not self.try_deposit(at, first=first):
            if first:
                self.session_only(at)
            return
        end = self.session(at + 300)
        # Chasing: out of money mid-evening, regulars and VIPs sometimes deposit again.
        if self.book.balances[self.cash_id] < minimum and seg.name != "casual" and r.random() < 0.35:
            if self.try_deposit(end + 60):
                end = self.session(end + 400)
        cash = self.book.balances[self.cash_id]
        if (
            self.last_deposit
            and cash >= seg.cash_out * self.last_deposit
            and cash >= 2_000 * self.scale
            and not self.withdrawal_held(end)
            and r.random() < 0.6
        ):
            amount = cash // (100 * self.scale) * (100 * self.scale)
            fate = r.random()
            fate = (
                "cancelled"
                if fate < W.WITHDRAWAL_CANCEL
                else "failed"
                if fate < W.WITHDRAWAL_CANCEL + W.PAYOUT_FAILURE
                else "paid"
            )
            self.withdraw(end + r.randint(60, 900), amount, self.provider, fate=fate)

    def _exclude(self, at: float, *, indefinite: bool) -> float | None:
        """A time-out (7 to 30 days) or a self-exclusion (indefinite, or six months). The
        player withdraws what is left if they can; while excluded nothing is played or
        deposited. Returns when play may resume (None: never within the history)."""
        r, world = self.r, self.world
        if indefinite or r.random() < 0.3:
            kind = "self_exclusion"
            ends = None if indefinite else at + 183 * DAY
        else:
            kind = "timeout"
            ends = at + r.randint(7, 30) * DAY
        self.world.writer.add(
            "exclusion",
            (
                self.player_id,
                kind,
                world.dt(at),
                world.dt(ends) if ends else None,
                True,
                "Player's request" if kind == "self_exclusion" else "",
                "api:seed-casino",
                "",
            ),
        )
        self.excluded_until = ends if ends is not None else float("inf")
        cash = self.book.balances[self.cash_id]
        if cash >= 1_000 * self.scale and not self.withdrawal_held(at) and self.last_deposit:
            self.withdraw(at + r.randint(120, 3600), cash, self.provider)
        if ends is None or ends >= world.end:
            return None
        return ends

    def finish(self) -> None:
        """The rows that hold the player's final state: accounts, KYC profile, last seen."""
        world, pid = self.world, self.player_id
        when = world.dt(self.registered)
        b = self.book.balances
        for account, kind in (
            (self.cash_id, "player_cash"),
            (self.bonus_id, "player_bonus"),
            (self.pending_id, "player_withdrawal_pending"),
        ):
            self.w.add("account", (account, kind, self.currency, pid, "", b[account], when))
        level, required, reason, since, due = self.kyc_level, 0, "", None, None
        if self.kyc_required_since is not None:
            required = 2
            since = self.kyc_required_since
            due = since + world.cdd_due_days(self.market) * DAY
            threshold = world.cdd_threshold(self.market)
            reason = (
                f"CDD threshold EUR {threshold // 100:,} crossed (accrued deposits over the relationship; "
                f"{self.market} rule cdd_threshold)"
            )
            if self.kyc_done_at is not None and self.kyc_done_at < world.end:
                level = 2
        elif self.deposited_lifetime and level == 0 and self.r.random() < 0.6:
            level = 1
        updated = max(self.registered, since or 0, self.kyc_done_at or 0)
        self.w.add(
            "kyc",
            (
                pid,
                level,
                self.verified_by_bank,
                required,
                reason,
                world.dt(since) if since else None,
                world.dt(due) if due else None,
                world.dt(min(updated, world.end)),
            ),
        )
        self._player_row[-2] = world.dt(self.last_seen) if self.last_seen else None
        self.w.add("player", tuple(self._player_row))
