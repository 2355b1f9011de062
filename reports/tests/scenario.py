"""A seeded random casino day-by-day for the rollup tests: players register, deposit
(payments through the real services, the provider's notification applied), get bonus money,
bet, win and roll back through the real wallet API (a signed aggregator double), convert
bonus money and withdraw (checks, finance's approval, the payout confirmation). Time is
frozen at each event; the caller decides when the rollups run."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from compliance.models import KycProfile
from compliance.rg import limit_set
from games.models import Game
from games.services import provider_create
from games.sessions import game_session_start
from games.tests.aggregator import Aggregator, credit
from payments import withdrawals
from payments.models import Notification, Payment
from payments.providers.base import EventType, ProviderEvent
from payments.services import deposit_apply_event
from payments.tests.factories import deposit
from players.models import Player
from wallet.models import Account, Transaction
from wallet.services import Leg, player_accounts_ensure, transaction_post
from wallet.tests.factories import PlayerFactory

# Markets and currencies the scenario mixes (the market is the player's jurisdiction).
PROFILES = [("MT", "EUR"), ("MT", "SEK"), ("MT", "GBP"), ("DE", "EUR")]


@dataclass
class Casino:
    rnd: random.Random
    client: object
    finance: object
    agg: Aggregator | None = None
    games: list = field(default_factory=list)
    players: list = field(default_factory=list)
    open_deposits: list = field(default_factory=list)
    open_bets: list = field(default_factory=list)  # (player, game, txid, round_id)
    open_withdrawals: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def setup(self) -> None:
        provider, secret = provider_create(code="northlight", name="Northlight Studios")
        self.agg = Aggregator(self.client, "northlight", secret)
        for code in ("frost", "ember"):
            self.games.append(
                Game.objects.create(
                    provider=provider,
                    external_code=code,
                    code=Game.code_for("northlight", code),
                    title=code.title(),
                    category="slots",
                    rtp="96.00",
                    markets=[m for m, _c in PROFILES],
                )
            )

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # --- actions ------------------------------------------------------------------------------

    def register(self) -> None:
        market, currency = self.rnd.choice(PROFILES)
        player = PlayerFactory(jurisdiction=market, currency=currency)
        KycProfile.objects.create(player=player, level=2)
        # Markets with mandatory limits (DE: a monthly deposit limit) refuse play without one.
        limit_set(
            player_id=player.pk, kind="deposit", period="month", amount=10**9, actor=None, source="test"
        )
        self.players.append(player)
        self._count("register")

    def deposit_start(self) -> None:
        player = self.rnd.choice(self.players)
        provider = self.rnd.choice(["adyen", "trustly"])
        self.open_deposits.append(deposit(player, self.rnd.randrange(1_000, 20_000), provider=provider))
        self._count("deposit_start")

    def _notify(self, payment: Payment, kind: EventType, *, method: str = "") -> None:
        n = Notification.objects.create(provider=payment.provider, body="{}")
        deposit_apply_event(
            event=ProviderEvent(
                payment_reference=payment.reference,
                provider_reference=payment.provider_reference or f"psp-{uuid.uuid4().hex[:10]}",
                type=kind,
                amount=payment.amount,
                currency=payment.currency,
                notification_id=uuid.uuid4().hex,
                method=method,
            ),
            notification=n,
        )

    def deposit_outcome(self) -> None:
        payment = self.open_deposits.pop(self.rnd.randrange(len(self.open_deposits)))
        if self.rnd.random() < 0.8:
            self._notify(payment, EventType.SUCCEEDED, method=self.rnd.choice(["visa", "mc", "bank"]))
            self._count("deposit_ok")
        else:
            self._notify(payment, EventType.FAILED)
            self._count("deposit_failed")

    def bonus(self) -> None:
        credit(self.rnd.choice(self.players), self.rnd.randrange(500, 3_000), bonus=True)
        self._count("bonus")

    def convert(self) -> None:
        rich = [p for p in self.players if self._balances(p)[1] > 0]
        if not rich:
            return
        player = self.rnd.choice(rich)
        accounts = player_accounts_ensure(player)
        amount = self.rnd.randrange(1, accounts[Account.Kind.PLAYER_BONUS].balance + 1)
        transaction_post(
            kind=Transaction.Kind.BONUS_CONVERSION,
            idempotency_key=f"test:convert:{uuid.uuid4()}",
            legs=[
                Leg(accounts[Account.Kind.PLAYER_BONUS], -amount),
                Leg(accounts[Account.Kind.PLAYER_CASH], amount),
            ],
        )
        self._count("convert")

    def _balances(self, player: Player) -> tuple[int, int]:
        a = player_accounts_ensure(player)
        return a[Account.Kind.PLAYER_CASH].balance, a[Account.Kind.PLAYER_BONUS].balance

    def withdraw(self) -> None:
        funded = [
            p
            for p in self.players
            if self._balances(p)[0] >= 500 and p.payments.filter(state="succeeded").exists()
        ]
        if not funded:
            return
        player = self.rnd.choice(funded)
        paid_in = player.payments.filter(state="succeeded").values_list("provider", flat=True).first()
        cash = self._balances(player)[0]
        amount = self.rnd.randrange(100, cash // 2 + 101)
        w = withdrawals.withdrawal_request(
            player=player,
            provider=paid_in,
            amount=f"{amount // 100}.{amount % 100:02d}",
            currency=player.currency,
        )
        self.open_withdrawals.append(w)
        self._count("withdraw_request")

    def withdrawal_paid(self) -> None:
        w = Payment.objects.get(pk=self.open_withdrawals.pop(0).pk)
        if w.state != Payment.State.IN_REVIEW:
            self._count(f"withdraw_{w.state}")
            return
        withdrawals.withdrawal_approve(payment_id=w.pk, actor=self.finance)
        self._notify(w, EventType.PAYOUT_PAID)
        self._count("withdraw_paid")

    def play(self) -> None:
        if self.open_bets and self.rnd.random() < 0.5:
            player, _game, txid, round_id = self.open_bets.pop(self.rnd.randrange(len(self.open_bets)))
            if self.rnd.random() < 0.15:
                self._call("rollback", player, None, reference_transaction_id=txid, round_id=round_id)
                self._count("rollback")
            else:
                amount = self.rnd.choice([0, 0, self.rnd.randrange(1, 5_000)])
                self._call(
                    "win", player, _game, amount=amount, reference_transaction_id=txid, round_id=round_id
                )
                self._count("win")
            return
        with_money = [p for p in self.players if sum(self._balances(p)) > 0]
        if not with_money:
            return
        player = self.rnd.choice(with_money)
        game = self.rnd.choice(self.games)
        amount = self.rnd.randrange(1, min(sum(self._balances(player)), 4_000) + 1)
        txid, round_id = f"b-{uuid.uuid4().hex[:12]}", f"r-{uuid.uuid4().hex[:12]}"
        session = game_session_start(player_id=player.pk, game_code=game.code, started_via="api:test")
        answer = self._call(
            "bet", player, game, amount=amount, round_id=round_id, token=session.token, txid=txid
        )
        if answer["status"] == "OK":
            self.open_bets.append((player, game, txid, round_id))
            self._count("bet")

    def _call(
        self, endpoint: str, player: Player, game: Game | None, *, txid: str | None = None, **body
    ) -> dict:
        body = {
            "player_id": player.public_id,
            "transaction_id": txid or f"t-{uuid.uuid4().hex[:12]}",
            "currency": player.currency,
            **({"game_code": game.code} if game is not None else {}),
            **body,
        }
        return self.agg.call(endpoint, body)

    def step(self) -> None:
        """One random event at the current (frozen) time."""
        r = self.rnd.random()
        if len(self.players) < 3 or r < 0.08:
            self.register()
        elif r < 0.24:
            self.deposit_start()
        elif r < 0.36 and self.open_deposits:
            self.deposit_outcome()
        elif r < 0.40:
            self.bonus()
        elif r < 0.43:
            self.convert()
        elif r < 0.51 and self.open_withdrawals:
            self.withdrawal_paid()
        elif r < 0.51:
            self.withdraw()
        else:
            self.play()


def times_in(rnd: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    span = (end - start).total_seconds()
    return sorted(start + (end - start) * (rnd.random()) for _ in range(n)) if span > 0 else []
