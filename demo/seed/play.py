"""A seeded player's play: sessions of game rounds, each a bet and the win that closes it
(or a rollback), with the wallet API's call records as games.wallet stores them."""

import hashlib
import zlib
from bisect import bisect

from . import world as W
from .base import Game


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Play:
    """Mixed into history.PlayerSim."""

    def excluded_at(self, at: float) -> bool:
        return self.excluded_until is not None and at < self.excluded_until

    def session(
        self,
        at: float,
        *,
        rounds: int | None = None,
        stakes=None,
        device: str | None = None,
        ip: str | None = None,
    ) -> float:
        """Log in and play until the rounds are done or the money runs out; returns the time
        the session ended."""
        world, r = self.world, self.r
        if at >= world.end - 120:  # the history ends before the game would load
            return at
        games = r.sample(self.games, k=min(len(self.games), r.randint(1, 2)))
        stakes = stakes or [s * self.scale for s in self.segment.stake]
        n = rounds if rounds is not None else r.randint(*self.segment.rounds)
        t = at
        for game in games:
            world.writer.add(
                "gsession",
                (
                    f"{world.run:04x}{r.getrandbits(112):028x}",
                    self.player_id,
                    game.id,
                    world.dt(t),
                    world.dt(t + 8 * 3600),
                    "api:seed-casino",
                ),
            )
        cash = self.book.balances
        for i in range(n):
            if t > world.end - 120:
                break
            stake = stakes[int(r.random() * len(stakes))]
            if cash[self.cash_id] < stake:
                stake = max((s for s in stakes if s <= cash[self.cash_id]), default=0)
                if not stake:
                    break
            game = games[i % len(games)] if len(games) > 1 and r.random() < 0.3 else games[0]
            t += 4 + r.random() * 12
            self.round(t, game, stake)
            t += 1 + r.random() * 3
        end = max(t + 30, at + 60)
        world.writer.add(
            "session",
            (
                self.player_id,
                world.dt(at),
                world.dt(min(end, world.end)),
                ip or self.ip,
                W.UA[zlib.crc32(self.devices[0].encode()) % len(W.UA)],
                device or self.devices[0],
                "api:seed-casino",
            ),
        )
        self.last_seen = min(end, world.end)
        return end

    def round(self, at: float, game: Game, stake: int) -> None:
        """One round as an aggregator plays it: a bet, then the win that closes the round
        (0 for a loss); now and then the provider cancels the spin (a rollback)."""
        world, r, ids, w, book = self.world, self.r, self.ids, self.w, self.book
        cur, pub, code, gc = self.currency, self.public_id, game.provider, game.code
        rid, bet_id = ids.take("round"), ids.take("call")
        ext, bet_tx = f"sd-{rid}", f"sd-{bet_id}"
        house = world.house_game(code, cur)
        contribution = stake * game.contribution // 100
        reference, key = f"{code}:{ext}", f"wallet:{code}:{bet_tx}"
        bet_txn = book.post(
            "bet",
            key,
            [(house, stake), (self.cash_id, -stake)],
            at=at,
            reference=reference,
            metadata=f'{{"provider": "{code}", "round": "{ext}", "game": "{gc}", "bonus": 0, '
            f'"wagering_contribution": {contribution}}}',
            player_accounts=self.player_accounts,
        )
        balance = book.balances[self.cash_id]
        t_bet = world.dt(at)
        self.tally.rounds += 1
        if r.random() < W.ROLLBACK_SHARE:
            rb_id = ids.take("call")
            rb_tx = f"sd-{rb_id}"
            t_rb = at + 2
            rb_txn = book.post(
                "rollback",
                f"wallet:{code}:{rb_tx}",
                [(self.cash_id, stake), (house, -stake)],
                at=t_rb,
                reference=reference,
                metadata=f'{{"provider": "{code}", "round": "{ext}", "bet": "{bet_tx}"}}',
                player_accounts=self.player_accounts,
                reverses=bet_txn,
            )
            w.add("round", (rid, game.provider_id, ext, self.player_id, game.id, cur, 0, 0, 0, t_bet, None))
            self._bet_call(
                bet_id, game, rid, ext, bet_tx, stake, contribution, balance, bet_txn, t_bet, rb_id
            )
            after = book.balances[self.cash_id]
            w.add(
                "call",
                (
                    rb_id,
                    game.provider_id,
                    rb_tx,
                    "rollback",
                    "OK",
                    False,
                    self.player_id,
                    rid,
                    game.id,
                    0,
                    "",
                    0,
                    0,
                    bet_tx,
                    False,
                    _hash(f'["rollback","{pub}","{bet_tx}","{ext}",null]'),
                    f'{{"player_id": "{pub}", "transaction_id": "{rb_tx}", "reference_transaction_id": "{bet_tx}", '
                    f'"round_id": "{ext}"}}',
                    f'{{"status": "OK", "balance": {after}, "currency": "{cur}", "transaction_id": "{rb_tx}"}}',
                    rb_txn,
                    None,
                    world.dt(t_rb),
                    1 + int(r.random() * 9),
                ),
            )
            return
        self.tally.bets += stake
        mults, cum = world.outcomes[game.category]
        win = int(stake * game.rtp * mults[bisect(cum, r.random())])
        win_id = ids.take("call")
        win_tx = f"sd-{win_id}"
        t_win = at + 1 + r.random() * 3
        win_txn = None
        if win:
            win_txn = book.post(
                "win",
                f"wallet:{code}:{win_tx}",
                [(house, -win), (self.cash_id, win)],
                at=t_win,
                reference=reference,
                metadata=f'{{"provider": "{code}", "round": "{ext}", "game": "{gc}", "bet": "{bet_tx}", "bonus": 0}}',
                player_accounts=self.player_accounts,
            )
            self.tally.wins += win
        dt_win = world.dt(t_win)
        w.add(
            "round",
            (
                rid,
                game.provider_id,
                ext,
                self.player_id,
                game.id,
                cur,
                stake,
                win,
                contribution,
                t_bet,
                dt_win,
            ),
        )
        self._bet_call(bet_id, game, rid, ext, bet_tx, stake, contribution, balance, bet_txn, t_bet, None)
        after = book.balances[self.cash_id]
        w.add(
            "call",
            (
                win_id,
                game.provider_id,
                win_tx,
                "win",
                "OK",
                False,
                self.player_id,
                rid,
                game.id,
                win,
                cur,
                0,
                0,
                bet_tx,
                True,
                _hash(f'["win","{pub}","{ext}","{gc}",{win},"{cur}","{bet_tx}",true]'),
                f'{{"player_id": "{pub}", "transaction_id": "{win_tx}", "round_id": "{ext}", "game_code": "{gc}", '
                f'"amount": {win}, "currency": "{cur}", "reference_transaction_id": "{bet_tx}", "round_closed": true}}',
                f'{{"status": "OK", "balance": {after}, "currency": "{cur}", "transaction_id": "{win_tx}"}}',
                win_txn,
                None,
                dt_win,
                1 + int(r.random() * 9),
            ),
        )

    def _bet_call(
        self, bet_id, game, rid, ext, bet_tx, stake, contribution, balance, txn, when, rolled_back_by
    ):
        pub, cur, gc = self.public_id, self.currency, game.code
        self.w.add(
            "call",
            (
                bet_id,
                game.provider_id,
                bet_tx,
                "bet",
                "OK",
                False,
                self.player_id,
                rid,
                game.id,
                stake,
                cur,
                0,
                contribution,
                "",
                False,
                _hash(f'["bet","{pub}","{ext}","{gc}",{stake},"{cur}",false]'),
                f'{{"player_id": "{pub}", "transaction_id": "{bet_tx}", "round_id": "{ext}", "game_code": "{gc}", '
                f'"amount": {stake}, "currency": "{cur}", "round_closed": false}}',
                f'{{"status": "OK", "balance": {balance}, "currency": "{cur}", "transaction_id": "{bet_tx}"}}',
                txn,
                rolled_back_by,
                when,
                1 + int(self.r.random() * 9),
            ),
        )
