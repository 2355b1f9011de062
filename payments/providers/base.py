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
class Parsed:
    verdict: Verdict
    events: list[ProviderEvent] = field(default_factory=list)
    detail: str = ""  # why a signature was refused
    # Items understood but not acted on: (description, needs an operator's eye).
    ignored: list[tuple[str, bool]] = field(default_factory=list)


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

    def refund(self, payment, amount: int) -> str:
        """Refund (part of) a deposit; the provider's reference. Part 2 of the payments work."""
        raise NotImplementedError(f"{self.code}: refunds are not built yet")
