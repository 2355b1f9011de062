"""The one interface every payment provider's adapter implements.

An adapter speaks its provider's protocol and nothing else: it never touches the ledger
or a payment's state. It turns our payment into the provider's API call
(`start_deposit`), the provider's raw notification into normalised `ProviderEvent`s with
a signature verdict (`parse_and_verify`), and our processing outcome into the HTTP
answer the provider expects (`acknowledge`). payments.services does the rest."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum

from django.http import HttpResponse


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNSIGNED = "unsigned"


class EventType(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVERSED = "reversed"  # a credited deposit did not settle (Trustly debit after credit)
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    ACCOUNT = "account"  # the instrument used, named before the money (Trustly account)
    # Withdrawals: the provider's confirmation of a payout we sent (Adyen PAYOUT_THIRDPARTY,
    # Trustly payoutconfirmation), or its refusal (PAYOUT_DECLINE, PAYOUT_EXPIRE).
    PAYOUT_PAID = "payout_paid"
    PAYOUT_FAILED = "payout_failed"


class Ack(StrEnum):
    """What our processing concluded, for the adapter to phrase in the provider's terms."""

    ACCEPTED = "accepted"  # processed, ignored as a duplicate, or stored and flagged
    REJECTED = "rejected"  # signature refused
    MALFORMED = "malformed"  # not parseable
    ERROR = "error"  # our fault: the provider should retry


class MalformedNotification(ValueError):
    """The body is not the provider's notification format (answer 400, keep the row)."""


class ProviderError(Exception):
    """The provider's API refused or could not be reached."""


class RefundNotSupported(Exception):
    """The provider offers no refund of a deposit through its API (Zimpler, Payz): the
    money goes back to the player as a withdrawal instead. Nothing was sent."""


class PayoutRefused(ProviderError):
    """The provider answered that it will not send this payout: nothing left the casino.
    (A plain ProviderError on a payout means the outcome is unknown: retry, never refund.)"""


@dataclass(frozen=True)
class Instrument:
    """The instrument a notification names, already masked by the provider."""

    type: str  # PaymentMethod.Type
    normalised: str  # what the fingerprint hashes ("card:411111:1111:03/2030:J SMITH")
    brand: str = ""
    last_four: str = ""
    bank: str = ""
    holder_name: str = ""


@dataclass(frozen=True)
class ProviderEvent:
    payment_reference: str  # ours (Adyen merchantReference, Trustly messageid, Payz TxID)
    provider_reference: str  # theirs (Adyen pspReference, Trustly orderid)
    type: EventType
    amount: int | None  # minor units
    currency: str
    notification_id: str  # the provider's id or a key derived from the notification
    method: str = ""
    reason: str = ""
    instrument: Instrument | None = None
    original_reference: str = ""  # Adyen originalReference (refund, cancellation, chargeback)


@dataclass(frozen=True)
class BankIdentity:
    """Who the player's bank says they are (Pay N Play: Trustly kyc, Zimpler kyc_info)."""

    payment_reference: str  # ours (Trustly messageid, Zimpler ref)
    provider_reference: str  # theirs (Trustly orderid, Zimpler deposit id)
    notification_id: str
    national_id: str = ""  # without a country prefix ("196512171957")
    first_name: str = ""
    last_name: str = ""
    date_of_birth: str = ""  # ISO date
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""  # ISO 3166-1 alpha-2
    amount: int | None = None  # what the deposit asks for, minor units (Zimpler)
    currency: str = ""


@dataclass(frozen=True)
class Parsed:
    verdict: Verdict
    events: list[ProviderEvent] = field(default_factory=list)
    detail: str = ""  # why a signature was refused
    # Items understood but not acted on: (description, needs an operator's eye).
    ignored: list[tuple[str, bool]] = field(default_factory=list)
    # A Pay N Play identity to decide on before answering (Trustly kyc, Zimpler KYC callback).
    kyc: BankIdentity | None = None
    # Provider-specific fields for the answer (the signed uuid and method, a KYC decision).
    reply: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DepositStart:
    redirect_url: str
    provider_reference: str = ""
    data: dict = field(default_factory=dict)


class ProviderAdapter(ABC):
    code: str = ""
    name: str = ""

    @abstractmethod
    def start_deposit(self, payment) -> DepositStart:
        """Ask the provider to start the deposit; where to send the player."""

    @abstractmethod
    def parse_and_verify(self, headers: dict[str, str], body: bytes) -> Parsed:
        """Check the signature and normalise the events. Raises MalformedNotification."""

    @abstractmethod
    def acknowledge(self, ack: Ack, parsed: Parsed | None = None) -> HttpResponse:
        """The HTTP answer the provider expects for this outcome."""

    def payout(self, payment) -> str:
        """Send a withdrawal; the provider's reference. Part 2 of the payments work."""
        raise NotImplementedError(f"{self.code}: payouts are not built yet")

    def send_payout(self, payment) -> str:
        """Send an approved withdrawal (payments.withdrawals calls this, outside any
        database transaction); the provider's reference. Its confirmation arrives as a
        PAYOUT_PAID or PAYOUT_FAILED event. Raises ProviderError when the provider refuses,
        NotImplementedError when this adapter has no payouts yet."""
        return self.payout(payment)

    def refund(self, payment, amount: int) -> str:
        """Refund `amount` (minor units) of a succeeded deposit; the provider's reference.
        Called outside any database transaction; the provider confirms with a REFUND event.
        Raises PayoutRefused (a definite refusal), ProviderError (outcome unknown),
        RefundNotSupported (the provider has no refunds), NotImplementedError (not built)."""
        raise NotImplementedError(f"{self.code}: refunds are not built yet")
