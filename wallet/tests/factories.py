"""Test data for the ledger. Money moves only through wallet.services, so the factories
create players and accounts; `fund` posts a real deposit."""

import uuid

import factory

from players.models import Player
from wallet import services
from wallet.models import Account, Transaction


class PlayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Player

    jurisdiction = "MT"
    currency = "EUR"
    first_name = factory.Sequence(lambda n: f"Test{n}")
    last_name = "Player"
    email = factory.Sequence(lambda n: f"player{n}@example.test")


def key(prefix: str = "t") -> str:
    return f"{prefix}:{uuid.uuid4()}"


def player_with_accounts(**kwargs) -> tuple[Player, dict[str, Account]]:
    player = PlayerFactory(**kwargs)
    return player, services.player_accounts_ensure(player)


def psp(currency: str = "EUR") -> Account:
    return services.house_account(Account.Kind.HOUSE_PSP, "sandbox", currency)


def provider(currency: str = "EUR") -> Account:
    return services.house_account(Account.Kind.HOUSE_GAME_PROVIDER, "testgames", currency)


def fund(player: Player, amount: int, *, idempotency_key: str | None = None) -> Transaction:
    """A deposit of `amount` minor units into the player's cash from the sandbox PSP."""
    cash = services.player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    return services.transaction_post(
        kind=Transaction.Kind.DEPOSIT,
        idempotency_key=idempotency_key or key("deposit"),
        legs=[services.Leg(cash, amount), services.Leg(psp(player.currency), -amount)],
        reference="psp-ref",
    )


def bet(player: Player, amount: int, *, idempotency_key: str | None = None) -> Transaction:
    cash = services.player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    return services.transaction_post(
        kind=Transaction.Kind.BET,
        idempotency_key=idempotency_key or key("bet"),
        legs=[services.Leg(cash, -amount), services.Leg(provider(player.currency), amount)],
    )
