"""Test data for payments. Money moves only through the services: `deposit` creates a
payment in state initiated (what the deposit API leaves behind before the provider's
notification), `funded` posts a real credit through a signed notification."""

from compliance.models import KycProfile
from payments.models import Payment, PaymentEvent
from players.models import Player
from wallet.tests.factories import PlayerFactory


def depositor(**kwargs) -> Player:
    """A player every market lets deposit (identity verified)."""
    player = PlayerFactory(**kwargs)
    KycProfile.objects.create(player=player, level=1)
    return player


def deposit(
    player: Player, amount: int = 2500, *, provider: str = "adyen", state: str = "initiated"
) -> Payment:
    payment = Payment.objects.create(
        kind=Payment.Kind.DEPOSIT,
        player=player,
        provider=provider,
        amount=amount,
        currency=player.currency,
        state=state,
    )
    PaymentEvent.objects.create(payment=payment, to_state=state, source=PaymentEvent.Source.API)
    return payment
