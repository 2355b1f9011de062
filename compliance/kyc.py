"""KYC: documents, decisions, verification levels and the CDD meter (services)."""

import hashlib
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User
from players.models import Player

from .models import KycDocument, KycLevel, KycProfile
from .selectors import rule_value

MAX_UPLOAD_BYTES_DEFAULT = 10 * 1024 * 1024
FILE_TOO_LARGE = "The file is larger than {mb} MB."
FILE_TYPE_REFUSED = "Only PDF, JPEG and PNG documents are accepted (checked by content, not by name)."
FILE_EMPTY = "The file is empty."
NOT_PENDING = "This document has already been decided."
REASON_REQUIRED = "Choose a reason code for the player."
UNKNOWN_TYPE = "Unknown document type {t!r}."

# Approximate rates for the CDD meter until the reporting FX table (daily rates as data)
# exists; the meter errs on the side of opening a requirement early.
_EUR_PER_UNIT = {"EUR": 1.0, "SEK": 0.095, "GBP": 1.20, "NOK": 0.090, "DKK": 0.134, "USD": 0.95}

_SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]


def storage_dir() -> Path:
    d = Path(getattr(settings, "KYC_STORAGE_DIR", settings.DATA_DIR / "private" / "kyc"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def max_upload_bytes() -> int:
    return int(getattr(settings, "KYC_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES_DEFAULT))


def sniff_content_type(head: bytes) -> str | None:
    for magic, ctype in _SIGNATURES:
        if head.startswith(magic):
            return ctype
    return None


def profile(player: Player) -> KycProfile:
    """The player's KYC profile for reading; an unsaved one (level none) when there is no
    row yet, so a page view never writes."""
    return KycProfile.objects.filter(player=player).first() or KycProfile(player=player)


def document_upload(
    *,
    player_id: int,
    document_type: str,
    file_name: str,
    content: bytes,
    source: str,
    actor: User | None = None,
) -> KycDocument:
    """Store an uploaded document. Invariants: type by content (PDF, JPEG, PNG), size
    capped, nothing stored when refused; the file is outside any public URL."""
    if document_type not in KycDocument.Type.values:
        raise DomainError(
            "invalid_document_type", UNKNOWN_TYPE.format(t=document_type), field="document_type"
        )
    limit = max_upload_bytes()
    if not content:
        raise DomainError("file_empty", FILE_EMPTY, field="file")
    if len(content) > limit:
        raise DomainError(
            "file_too_large", FILE_TOO_LARGE.format(mb=limit // (1024 * 1024)), field="file", status=413
        )
    ctype = sniff_content_type(content[:16])
    if ctype is None:
        raise DomainError("file_type_refused", FILE_TYPE_REFUSED, field="file", status=415)
    player = Player.objects.get(pk=player_id)
    name = f"{uuid.uuid4().hex}"
    path = storage_dir() / name
    path.write_bytes(content)
    try:
        with transaction.atomic():
            doc = KycDocument.objects.create(
                player=player,
                document_type=document_type,
                storage_name=name,
                content_type=ctype,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                original_name=file_name[:200],
                uploaded_via=source,
            )
            audit.record(
                actor=actor,
                actor_label=None if actor else source,
                action="compliance.kyc_document.upload",
                target=player,
                after={"document_id": doc.pk, "type": document_type, "size": len(content)},
            )
    except Exception:
        path.unlink(missing_ok=True)  # no orphan file when the row was not written
        raise
    return doc


def document_path(doc: KycDocument) -> Path:
    return storage_dir() / doc.storage_name


def level_from_documents(player: Player, today: date | None = None) -> int:
    today = today or timezone.now().date()
    approved = KycDocument.objects.filter(player=player, status=KycDocument.Status.APPROVED)
    types = {
        d.document_type
        for d in approved
        if d.expires_on is None or d.expires_on >= today or d.document_type not in KycDocument.IDENTITY_TYPES
    }
    identity = bool(types & set(KycDocument.IDENTITY_TYPES))
    level = KycLevel.NONE
    if identity:
        level = KycLevel.BASIC
        if "proof_of_address" in types:
            level = KycLevel.FULL
            if "source_of_funds" in types:
                level = KycLevel.ENHANCED
    return level


@transaction.atomic
def document_decide(
    *,
    document_id: int,
    decision: str,
    actor: User,
    reason_code: str = "",
    note: str = "",
    expires_on: date | None = None,
) -> KycDocument:
    """Approve, reject (with a reason code) or request another document. Approving an
    identity document records its expiry; the player's level is recomputed."""
    doc = KycDocument.objects.select_for_update().select_related("player").get(pk=document_id)
    if doc.status != KycDocument.Status.PENDING:
        raise DomainError("kyc_not_pending", NOT_PENDING)
    if decision not in ("approve", "reject", "request_replacement"):
        raise DomainError(
            "invalid_decision", "Approve, reject or request another document.", field="decision"
        )
    if decision != "approve" and reason_code not in KycDocument.Reason.values:
        raise DomainError("reason_required", REASON_REQUIRED, field="reason_code")
    if decision == "approve" and doc.document_type in KycDocument.IDENTITY_TYPES and expires_on is None:
        raise DomainError("expiry_required", "Enter the identity document's expiry date.", field="expires_on")
    if decision == "approve" and expires_on is not None and expires_on < timezone.now().date():
        raise DomainError(
            "document_expired",
            "This document has expired: reject it with reason 'Expired'.",
            field="expires_on",
        )
    doc.status = {
        "approve": KycDocument.Status.APPROVED,
        "reject": KycDocument.Status.REJECTED,
        "request_replacement": KycDocument.Status.REPLACEMENT_REQUESTED,
    }[decision]
    doc.reason_code, doc.decision_note, doc.expires_on = reason_code, note, expires_on
    doc.decided_by, doc.decided_at = actor, timezone.now()
    doc.save(
        update_fields=["status", "reason_code", "decision_note", "expires_on", "decided_by", "decided_at"]
    )
    prof = KycProfile.objects.select_for_update().get_or_create(player=doc.player)[0]
    before = prof.level
    prof.level = max(
        level_from_documents(doc.player), KycLevel.BASIC if prof.verified_by_bank else KycLevel.NONE
    )
    prof.updated_at = timezone.now()
    prof.save(update_fields=["level", "updated_at"])
    audit.record(
        actor=actor,
        action=f"compliance.kyc_document.{decision}",
        target=doc.player,
        before={"status": "pending", "level": before},
        after={"document_id": doc.pk, "status": doc.status, "reason": reason_code, "level": prof.level},
        note=note,
    )
    return doc


# --- The CDD meter -------------------------------------------------------------------------


def _to_eur_minor(amount: int, currency: str) -> int:
    return int(amount * _EUR_PER_UNIT.get(currency, 1.0))


def cdd_meter(player: Player, at: datetime | None = None) -> dict:
    """Accrued deposits over the relationship and over the rolling window, in the player's
    currency and in EUR, against the jurisdiction's CDD threshold."""
    from wallet.models import Account, Posting

    at = at or timezone.now()
    window = rule_value(jurisdiction=player.jurisdiction, key="cdd_window_days", at=at, default=180)
    threshold = rule_value(
        jurisdiction=player.jurisdiction,
        key="cdd_threshold",
        at=at,
        default={"amount": 200000, "currency": "EUR"},
    )
    deposits = Posting.objects.filter(
        account__player=player,
        account__kind=Account.Kind.PLAYER_CASH,
        transaction__kind="deposit",
        amount__gt=0,
        created_at__lte=at,
    )
    lifetime = deposits.aggregate(s=Sum("amount"))["s"] or 0
    rolling = deposits.filter(created_at__gt=at - timedelta(days=window)).aggregate(s=Sum("amount"))["s"] or 0
    lifetime_eur, rolling_eur = (
        _to_eur_minor(lifetime, player.currency),
        _to_eur_minor(rolling, player.currency),
    )
    return {
        "currency": player.currency,
        "lifetime": lifetime,
        "rolling": rolling,
        "window_days": window,
        "lifetime_eur": lifetime_eur,
        "rolling_eur": rolling_eur,
        "threshold_eur": threshold["amount"],
        "crossed": max(lifetime_eur, rolling_eur) >= threshold["amount"],
    }


@transaction.atomic
def cdd_check(*, player_id: int, at: datetime | None = None) -> KycProfile:
    """Open a KYC requirement (full verification, risk assessment due within the
    jurisdiction's days) when the CDD meter has crossed the threshold. Idempotent."""
    at = at or timezone.now()
    player = Player.objects.get(pk=player_id)
    prof = KycProfile.objects.select_for_update().get_or_create(player=player)[0]
    meter = cdd_meter(player, at)
    if meter["crossed"] and prof.required_level < KycLevel.FULL:
        due_days = rule_value(
            jurisdiction=player.jurisdiction, key="cdd_risk_assessment_due_days", at=at, default=30
        )
        prof.required_level = KycLevel.FULL
        prof.required_since = at
        prof.required_due = at + timedelta(days=due_days)
        prof.required_reason = (
            f"CDD threshold EUR {meter['threshold_eur'] // 100:,} crossed (accrued deposits: "
            f"EUR {meter['lifetime_eur'] // 100:,} lifetime, EUR {meter['rolling_eur'] // 100:,} "
            f"in {meter['window_days']} days; {player.jurisdiction} rule cdd_threshold)"
        )
        prof.save(update_fields=["required_level", "required_since", "required_due", "required_reason"])
        audit.record(
            actor=None,
            action="compliance.kyc.requirement_open",
            target=player,
            after={"required_level": prof.required_level, "due": prof.required_due.isoformat()},
            note=prof.required_reason,
        )
    return prof


def documents_expiring_flag(*, within_days: int = 30, today: date | None = None) -> int:
    """Flag approved identity documents expiring within `within_days` (scheduled daily)."""
    today = today or timezone.now().date()
    qs = KycDocument.objects.filter(
        status=KycDocument.Status.APPROVED,
        expiry_flagged_at__isnull=True,
        document_type__in=KycDocument.IDENTITY_TYPES,
        expires_on__lte=today + timedelta(days=within_days),
    )
    n = 0
    for doc in qs.select_related("player"):
        KycDocument.objects.filter(pk=doc.pk, expiry_flagged_at__isnull=True).update(
            expiry_flagged_at=timezone.now()
        )
        audit.record(
            actor=None,
            action="compliance.kyc_document.expiring",
            target=doc.player,
            after={"document_id": doc.pk, "expires_on": doc.expires_on.isoformat()},
        )
        n += 1
    return n


def cdd_check_recent(*, hours: int = 24, now: datetime | None = None) -> int:
    """Run the CDD check for every player who deposited in the last `hours` (a scheduled
    task runs it every 15 minutes, overlapping windows: cdd_check is idempotent). The
    deposit flow also calls cdd_check directly once deposits exist."""
    from wallet.models import Account, Posting

    now = now or timezone.now()
    player_ids = (
        Posting.objects.filter(
            account__kind=Account.Kind.PLAYER_CASH,
            transaction__kind="deposit",
            amount__gt=0,
            created_at__gte=now - timedelta(hours=hours),
        )
        .values_list("account__player_id", flat=True)
        .distinct()
    )
    opened = 0
    for pid in player_ids:
        before = KycProfile.objects.filter(player_id=pid).values_list("required_level", flat=True).first()
        prof = cdd_check(player_id=pid, at=now)
        opened += int(prof.required_level != before and prof.requirement_open)
    return opened


@transaction.atomic
def kyc_bank_identity_record(*, player_id: int, source: str) -> KycProfile:
    """Pay N Play: the player's bank identified them (bank login / BankID), which verifies
    basic identity. Level at least basic, `verified_by_bank` set, audited with the source;
    a repeat changes nothing and writes nothing."""
    prof = KycProfile.objects.select_for_update().get_or_create(player_id=player_id)[0]
    if prof.verified_by_bank and prof.level >= KycLevel.BASIC:
        return prof
    before = {"level": prof.level, "verified_by_bank": prof.verified_by_bank}
    prof.verified_by_bank, prof.level = True, max(prof.level, KycLevel.BASIC)
    prof.updated_at = timezone.now()
    prof.save(update_fields=["verified_by_bank", "level", "updated_at"])
    audit.record(
        actor=None,
        actor_label=source,
        action="compliance.kyc.bank_verify",
        target=prof.player,
        before=before,
        after={"level": prof.level, "verified_by_bank": True, "source": source},
    )
    return prof
