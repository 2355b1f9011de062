"""AML case writes: open a case from alerts, add alerts, assign, notes, attachments, link a
transaction, decide; generate the goAML STR and mark it filed. Each audited, each locks
the case and checks its state, so a double submission changes nothing the second time."""

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice import audit
from backoffice.errors import DomainError
from backoffice.models import User

from . import goaml
from .case_models import AmlCase, AmlCaseAlert, AmlCaseAttachment, AmlCaseNote, StrReport
from .models import AmlAlert, Severity

OPEN_PERM = "compliance.add_amlcase"
WORK_PERM = "compliance.change_amlcase"
DECIDE_PERM = "compliance.decide_aml_case"
FILE_PERM = "compliance.file_str"

NO_ALERTS = "Select at least one alert."
ALERT_MISSING = "Alert #{id} does not exist."
ALERT_IN_CASE = "Alert #{id} is already in case {ref}."
ALERT_CLOSED = "Alert #{id} is closed; only open alerts are grouped into a case."
NOT_ALLOWED = "You do not have the permission to {what}."
CASE_NOT_OPEN = "Case {ref} is {status}: it no longer changes."
TITLE_TOO_LONG = "The title is longer than 200 characters."
NOTE_REQUIRED = "Write the note."
ASSIGNEE_REFUSED = "{who} cannot work AML cases (an active operator with compliance rights is needed)."
ALREADY_ASSIGNED = "The case is already assigned to {who}."
DECISION_UNKNOWN = "Choose a decision."
DECISION_REASON_REQUIRED = "Write the reason for the decision."
TXN_MISSING = "Ledger transaction #{id} does not exist."
TXN_NOT_PLAYERS = "Ledger transaction #{id} does not touch an account of a player linked to this case."
TXN_LINKED = "Ledger transaction #{id} is already linked to this case."
FILE_EMPTY = "The file is empty."
FILE_TOO_LARGE = "The file is larger than {mb} MB."
FILE_TYPE_REFUSED = "Attach a PDF, JPEG, PNG, CSV or plain-text file (checked by content, not by name)."
STR_NEEDS_DECISION = "Decide the case as “File an STR” before generating the report."
STR_ALREADY_FILED = "The STR for case {ref} was already filed (FIU reference {fiu})."
STR_NOT_VALID = "This report failed the schema; generate a valid one before filing."
STR_NOT_LATEST = "A newer report exists for this case: file the latest one."
FIU_REFERENCE_REQUIRED = "Enter the reference the FIU gave the report."
CASE_CLOSED_NO_ATTACHMENT = "Case {ref} is {status}: no more files are attached to it."

SLA_DAYS_DEFAULT = {Severity.HIGH: 5, Severity.MEDIUM: 14, Severity.LOW: 30}
MAX_ATTACHMENT_BYTES_DEFAULT = 10 * 1024 * 1024
_SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]


def sla_days(severity: int) -> int:
    """Days to decide a case of this severity: AML_CASE_SLA_DAYS {"high": 5, ...}."""
    configured = getattr(settings, "AML_CASE_SLA_DAYS", None) or {}
    label = Severity(severity).label.lower()
    return int(configured.get(label, SLA_DAYS_DEFAULT[Severity(severity)]))


def storage_dir() -> Path:
    d = Path(getattr(settings, "AML_CASE_STORAGE_DIR", settings.DATA_DIR / "private" / "aml_cases"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def attachment_path(att: AmlCaseAttachment) -> Path:
    return storage_dir() / att.storage_name


def max_attachment_bytes() -> int:
    return int(getattr(settings, "AML_CASE_MAX_ATTACHMENT_BYTES", MAX_ATTACHMENT_BYTES_DEFAULT))


def sniff(content: bytes, file_name: str) -> str | None:
    for magic, ctype in _SIGNATURES:
        if content.startswith(magic):
            return ctype
    if b"\x00" in content:
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/csv" if file_name.lower().endswith(".csv") else "text/plain"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _require(actor: User, perm: str, what: str) -> None:
    if not actor.has_perm(perm):
        raise DomainError("permission_denied", NOT_ALLOWED.format(what=what), status=403)


def _lock(case_id: int) -> AmlCase:
    return AmlCase.objects.select_for_update().get(pk=case_id)


def _require_open(case: AmlCase) -> None:
    if case.status != AmlCase.Status.OPEN:
        raise DomainError(
            "aml_case_not_open", CASE_NOT_OPEN.format(ref=case.reference, status=case.get_status_display())
        )


def _require_not_closed(case: AmlCase) -> None:
    # A case decided "file an STR" still takes files (the FIU's acknowledgement); a closed one no longer.
    if case.status == AmlCase.Status.CLOSED:
        raise DomainError(
            "aml_case_closed",
            CASE_CLOSED_NO_ATTACHMENT.format(ref=case.reference, status=case.get_status_display().lower()),
            field="file",
        )


def _evidence_transaction_ids(evidence: dict) -> set[int]:
    """The ledger transactions an alert's evidence names ("transaction_id", "transaction_ids")."""
    ids = set()
    for key in ("transaction_id", "transaction_ids"):
        value = evidence.get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
                ids.add(int(v))
    return ids


def _lock_alerts(alert_ids) -> list[AmlAlert]:
    ids = sorted({int(a) for a in alert_ids})
    if not ids:
        raise DomainError("no_alerts", NO_ALERTS, field="alert_ids")
    alerts = list(AmlAlert.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    found = {a.pk for a in alerts}
    for i in ids:
        if i not in found:
            raise DomainError("alert_missing", ALERT_MISSING.format(id=i), field="alert_ids")
    taken = AmlCaseAlert.objects.filter(alert_id__in=ids).select_related("case").order_by("alert_id").first()
    if taken is not None:
        raise DomainError(
            "alert_in_case",
            ALERT_IN_CASE.format(id=taken.alert_id, ref=taken.case.reference),
            field="alert_ids",
        )
    for a in alerts:
        if a.status != AmlAlert.Status.OPEN:
            raise DomainError("alert_closed", ALERT_CLOSED.format(id=a.pk), field="alert_ids")
    return alerts


def _link_alerts(case: AmlCase, alerts: list[AmlAlert], actor: User) -> list[int]:
    """Link the alerts, their players and the transactions their evidence names. Returns the
    linked transaction ids. The alert's one-to-one link refuses a concurrent grouping."""
    from wallet.models import Transaction  # noqa: PLC0415

    try:
        with transaction.atomic():
            AmlCaseAlert.objects.bulk_create(
                [AmlCaseAlert(case=case, alert=a, added_by=actor) for a in alerts]
            )
    except IntegrityError:
        raise DomainError("alert_in_case", "One of the alerts was just grouped into another case.") from None
    case.players.add(*{a.player_id for a in alerts})
    wanted = set().union(*(_evidence_transaction_ids(a.evidence) for a in alerts))
    txn_ids = sorted(Transaction.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    case.transactions.add(*txn_ids)
    return txn_ids


@transaction.atomic
def case_open(*, alert_ids, actor: User, title: str = "") -> AmlCase:
    """Group open alerts (none already in a case) into a new case; its severity is the
    highest alert's and its SLA follows from that."""
    _require(actor, OPEN_PERM, "open an AML case")
    alerts = _lock_alerts(alert_ids)
    title = (title or "").strip()
    if len(title) > 200:
        raise DomainError("title_too_long", TITLE_TOO_LONG, field="title")
    severity = max(a.severity for a in alerts)
    now = timezone.now()
    if not title:
        players = sorted({str(a.player) for a in alerts})
        rules = sorted({a.rule for a in alerts})
        title = f"{', '.join(rules)}: {', '.join(players)}"[:200]
    case = AmlCase.objects.create(
        title=title,
        severity=severity,
        created_by=actor,
        created_at=now,
        sla_due_at=now + timedelta(days=sla_days(severity)),
    )
    case.reference = f"AML-{now.year}-{case.pk:06d}"
    case.save(update_fields=["reference"])
    txn_ids = _link_alerts(case, alerts, actor)
    audit.record(
        actor=actor,
        action="compliance.aml_case.open",
        target=case,
        after={
            "reference": case.reference,
            "alerts": [a.pk for a in alerts],
            "players": sorted({a.player_id for a in alerts}),
            "transactions": txn_ids,
            "severity": severity,
            "sla_due_at": case.sla_due_at.isoformat(),
        },
    )
    return case


@transaction.atomic
def case_add_alerts(*, case_id: int, alert_ids, actor: User) -> AmlCase:
    _require(actor, WORK_PERM, "work AML cases")
    case = _lock(case_id)
    _require_open(case)
    alerts = _lock_alerts(alert_ids)
    txn_ids = _link_alerts(case, alerts, actor)
    before = {"severity": case.severity}
    severity = max([case.severity] + [a.severity for a in alerts])
    if severity > case.severity:
        # A more severe alert tightens the SLA (never loosens it).
        case.severity = severity
        case.sla_due_at = min(case.sla_due_at, case.created_at + timedelta(days=sla_days(severity)))
        case.save(update_fields=["severity", "sla_due_at"])
    audit.record(
        actor=actor,
        action="compliance.aml_case.add_alerts",
        target=case,
        before=before,
        after={"alerts": [a.pk for a in alerts], "transactions": txn_ids, "severity": case.severity},
    )
    return case


@transaction.atomic
def case_assign(*, case_id: int, assignee_id: int, actor: User) -> AmlCase:
    _require(actor, WORK_PERM, "work AML cases")
    case = _lock(case_id)
    _require_open(case)
    assignee = User.objects.filter(pk=assignee_id).first()
    if assignee is None or not assignee.is_active or not assignee.has_perm(WORK_PERM):
        raise DomainError(
            "assignee_refused", ASSIGNEE_REFUSED.format(who=assignee or f"#{assignee_id}"), field="assignee"
        )
    if case.assignee_id == assignee.pk:
        raise DomainError("already_assigned", ALREADY_ASSIGNED.format(who=assignee), field="assignee")
    before = {"assignee": case.assignee.email if case.assignee else None}
    case.assignee = assignee
    case.save(update_fields=["assignee"])
    audit.record(
        actor=actor,
        action="compliance.aml_case.assign",
        target=case,
        before=before,
        after={"assignee": assignee.email},
    )
    return case


@transaction.atomic
def case_note_add(*, case_id: int, body: str, actor: User) -> AmlCaseNote:
    """Notes may be added to a decided case too (the filing's follow-up), never edited."""
    _require(actor, WORK_PERM, "work AML cases")
    case = _lock(case_id)
    body = (body or "").strip()
    if not body:
        raise DomainError("note_required", NOTE_REQUIRED, field="body")
    note = AmlCaseNote.objects.create(case=case, author=actor, body=body)
    # The audit log is read by finance, risk and administrators: ids and sizes, never the text.
    audit.record(
        actor=actor,
        action="compliance.aml_case.note_add",
        target=case,
        after={"note_id": note.pk, "length": len(body), "sha256": _digest(body)},
    )
    return note


def case_attachment_add(*, case_id: int, file_name: str, content: bytes, actor: User) -> AmlCaseAttachment:
    """Store a file for the case: type by content, size capped, nothing stored when refused,
    no orphan file when the row is not written."""
    _require(actor, WORK_PERM, "work AML cases")
    limit = max_attachment_bytes()
    if not content:
        raise DomainError("file_empty", FILE_EMPTY, field="file")
    if len(content) > limit:
        raise DomainError(
            "file_too_large",
            FILE_TOO_LARGE.format(mb=max(limit // (1024 * 1024), 1)),
            field="file",
            status=413,
        )
    ctype = sniff(content, file_name)
    if ctype is None:
        raise DomainError("file_type_refused", FILE_TYPE_REFUSED, field="file", status=415)
    _require_not_closed(AmlCase.objects.get(pk=case_id))
    name = uuid.uuid4().hex
    path = storage_dir() / name
    path.write_bytes(content)
    try:
        with transaction.atomic():
            case = _lock(case_id)
            _require_not_closed(case)
            att = AmlCaseAttachment.objects.create(
                case=case,
                storage_name=name,
                original_name=(Path(file_name).name or "attachment")[:200],
                content_type=ctype,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                uploaded_by=actor,
            )
            audit.record(
                actor=actor,
                action="compliance.aml_case.attachment_add",
                target=case,
                after={
                    "attachment_id": att.pk,
                    "size": att.size,
                    "sha256": att.sha256,
                },
            )
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return att


@transaction.atomic
def case_link_transaction(*, case_id: int, transaction_id: int, actor: User) -> AmlCase:
    from wallet.models import Posting, Transaction  # noqa: PLC0415

    _require(actor, WORK_PERM, "work AML cases")
    case = _lock(case_id)
    _require_open(case)
    if not Transaction.objects.filter(pk=transaction_id).exists():
        raise DomainError(
            "transaction_missing", TXN_MISSING.format(id=transaction_id), field="transaction_id"
        )
    touches = Posting.objects.filter(
        transaction_id=transaction_id, account__player__in=case.players.values("pk")
    ).exists()
    if not touches:
        raise DomainError(
            "transaction_not_players", TXN_NOT_PLAYERS.format(id=transaction_id), field="transaction_id"
        )
    if case.transactions.filter(pk=transaction_id).exists():
        raise DomainError("transaction_linked", TXN_LINKED.format(id=transaction_id), field="transaction_id")
    case.transactions.add(transaction_id)
    audit.record(
        actor=actor,
        action="compliance.aml_case.link_transaction",
        target=case,
        after={"transaction": transaction_id},
    )
    return case


def _close_alerts(case: AmlCase, reason: str, actor: User) -> list[int]:
    from .services import aml_alert_close  # noqa: PLC0415

    closed = []
    for link in case.alert_links.select_related("alert").order_by("alert_id"):
        if link.alert.status == AmlAlert.Status.OPEN:
            aml_alert_close(alert_id=link.alert_id, reason=reason, actor=actor)
            closed.append(link.alert_id)
    return closed


def _require_edd(case: AmlCase, reason: str) -> list[int]:
    """Enhanced due diligence: each linked player must reach the enhanced KYC level (the
    KYC profile's open requirement, as the CDD meter opens one), due per the jurisdiction."""
    from compliance.models import KycLevel, KycProfile  # noqa: PLC0415
    from compliance.selectors import rule_value  # noqa: PLC0415

    raised = []
    now = timezone.now()
    for player in case.players.order_by("pk"):
        prof = KycProfile.objects.select_for_update().get_or_create(player=player)[0]
        if prof.required_level >= KycLevel.ENHANCED:
            continue
        due_days = rule_value(
            jurisdiction=player.jurisdiction, key="cdd_risk_assessment_due_days", at=now, default=30
        )
        before = {"required_level": prof.required_level}
        prof.required_level = KycLevel.ENHANCED
        prof.required_since = now
        prof.required_due = now + timedelta(days=due_days)
        prof.required_reason = f"Enhanced due diligence decided on AML case {case.reference}"[:300]
        prof.save(update_fields=["required_level", "required_since", "required_due", "required_reason"])
        audit.record(
            actor=case.decided_by,
            action="compliance.kyc.requirement_open",
            target=player,
            before=before,
            after={"required_level": prof.required_level, "due": prof.required_due.isoformat()},
            note=reason,
        )
        raised.append(player.pk)
    return raised


def _exit_relationship(case: AmlCase, reason: str, actor: User) -> list[int]:
    from players.models import Player  # noqa: PLC0415
    from players.services import player_close  # noqa: PLC0415

    closed = []
    for player in case.players.filter(status__in=[Player.Status.ACTIVE, Player.Status.SUSPENDED]).order_by(
        "pk"
    ):
        player_close(
            player_id=player.pk,
            reason=reason,
            actor=actor,
        )
        closed.append(player.pk)
    return closed


@transaction.atomic
def case_decide(*, case_id: int, decision: str, reason: str, actor: User) -> AmlCase:
    """Decide an open case. The linked open alerts close with the reason. EDD raises each
    player's required KYC level to enhanced; exiting closes each player's account; filing
    an STR leaves the case decided until the MLRO files it; the rest close the case."""
    _require(actor, DECIDE_PERM, "decide AML cases")
    if decision not in AmlCase.Decision.values:
        raise DomainError("decision_unknown", DECISION_UNKNOWN, field="decision")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", DECISION_REASON_REQUIRED, field="reason")
    case = _lock(case_id)
    _require_open(case)
    case.decision, case.decision_reason = decision, reason
    case.decided_by, case.decided_at = actor, timezone.now()
    case.status = AmlCase.Status.DECIDED if decision == AmlCase.Decision.FILE_STR else AmlCase.Status.CLOSED
    case.save(update_fields=["decision", "decision_reason", "decided_by", "decided_at", "status"])
    # The reason stays on the case: what flows into alerts, KYC and player records (and so
    # into audit events finance and risk read) is the case's reference and the decision.
    pointer = f"AML case {case.reference}: {AmlCase.Decision(decision).label}."
    closed = _close_alerts(case, pointer, actor)
    effects: dict = {"alerts_closed": closed}
    if decision == AmlCase.Decision.EDD:
        effects["kyc_enhanced_required"] = _require_edd(case, pointer)
    elif decision == AmlCase.Decision.EXIT_RELATIONSHIP:
        effects["players_closed"] = _exit_relationship(case, pointer, actor)
    audit.record(
        actor=actor,
        action="compliance.aml_case.decide",
        target=case,
        before={"status": AmlCase.Status.OPEN},
        after={
            "status": case.status,
            "decision": decision,
            "reason_length": len(reason),
            "reason_sha256": _digest(reason),
            **effects,
        },
    )
    return case


@transaction.atomic
def str_generate(*, case_id: int, actor: User) -> StrReport:
    """Build the goAML STR for a case decided "file an STR", validate it against the schema
    and keep it with each error. Regenerating keeps the earlier reports (history)."""
    _require(actor, WORK_PERM, "work AML cases")
    case = _lock(case_id)
    if case.decision != AmlCase.Decision.FILE_STR:
        raise DomainError("str_needs_decision", STR_NEEDS_DECISION)
    filed = case.str_reports.filter(status=StrReport.Status.FILED).first()
    if filed is not None:
        raise DomainError("str_filed", STR_ALREADY_FILED.format(ref=case.reference, fiu=filed.fiu_reference))
    built = goaml.build(case, actor)
    report = StrReport.objects.create(
        case=case,
        xml=built.xml,
        valid=built.valid,
        schema_errors=built.errors,
        schema_version=Path(str(goaml.conf("GOAML_SCHEMA_PATH"))).name[:32],
        generated_by=actor,
        status=StrReport.Status.VALIDATED if built.valid else StrReport.Status.DRAFT,
    )
    audit.record(
        actor=actor,
        action="compliance.str_report.generate",
        target=case,
        after={"str_id": report.pk, "valid": report.valid, "errors": len(report.schema_errors)},
    )
    return report


@transaction.atomic
def str_mark_filed(*, str_id: int, fiu_reference: str, actor: User) -> StrReport:
    """The MLRO records that the FIU accepted the report, with its reference. Closes the case."""
    _require(actor, FILE_PERM, "file suspicious transaction reports (MLRO)")
    fiu_reference = (fiu_reference or "").strip()
    if not fiu_reference:
        raise DomainError("fiu_reference_required", FIU_REFERENCE_REQUIRED, field="fiu_reference")
    report = StrReport.objects.select_related("case").get(pk=str_id)
    case = _lock(report.case_id)
    report = StrReport.objects.select_for_update().get(pk=str_id)
    filed = case.str_reports.filter(status=StrReport.Status.FILED).first()
    if filed is not None:
        raise DomainError("str_filed", STR_ALREADY_FILED.format(ref=case.reference, fiu=filed.fiu_reference))
    if not report.valid or report.status != StrReport.Status.VALIDATED:
        raise DomainError("str_not_valid", STR_NOT_VALID)
    if (
        case.str_reports.filter(generated_at__gt=report.generated_at).exists()
        or case.str_reports.filter(generated_at=report.generated_at, pk__gt=report.pk).exists()
    ):
        raise DomainError("str_not_latest", STR_NOT_LATEST)
    report.status, report.fiu_reference = StrReport.Status.FILED, fiu_reference[:100]
    report.filed_by, report.filed_at = actor, timezone.now()
    report.save(update_fields=["status", "fiu_reference", "filed_by", "filed_at"])
    case.status = AmlCase.Status.CLOSED
    case.save(update_fields=["status"])
    audit.record(
        actor=actor,
        action="compliance.str_report.file",
        target=case,
        before={"status": StrReport.Status.VALIDATED},
        after={"str_id": report.pk, "status": report.status, "fiu_reference": report.fiu_reference},
    )
    return report
