"""A player's responsible-gambling evidence timeline: every marker, interaction, limit,
exclusion and compliance decision, in order. Shown in the console and exported as PDF
for a regulator (the same HTML template renders both)."""

from dataclasses import dataclass
from datetime import datetime

from backoffice.models import AuditEvent
from players.models import Player

from .models import Exclusion, PlayerLimit, RgAlert, RgInteraction


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str
    by: str


def evidence_timeline(player: Player, limit: int = 1000) -> list[Entry]:
    entries: list[Entry] = []
    for a in RgAlert.objects.filter(player=player)[:limit]:
        detail = ", ".join(f"{k}: {v}" for k, v in a.evidence.items())
        entries.append(
            Entry(
                a.created_at,
                "marker",
                f"Marker of harm: {a.get_marker_display()}",
                f"window {a.window_start}–{a.window_end}; {detail}",
                "scan",
            )
        )
    for i in RgInteraction.objects.filter(player=player).select_related("operator")[:limit]:
        follow = f"; follow-up {i.follow_up_on}" if i.follow_up_on else ""
        entries.append(
            Entry(
                i.created_at,
                "interaction",
                f"{i.get_channel_display()}: {i.get_outcome_display()}",
                f"{i.summary}{follow}",
                str(i.operator),
            )
        )
    for lim in PlayerLimit.objects.filter(player=player)[:limit]:
        amount = "removed" if lim.amount is None else str(lim.amount)
        entries.append(
            Entry(
                lim.requested_at,
                "limit",
                f"Limit {lim.kind}/{lim.period} set to {amount}",
                f"{lim.get_status_display()}, effective {lim.effective_at:%Y-%m-%d %H:%M}; {lim.rule_note}",
                lim.source,
            )
        )
    for ex in Exclusion.objects.filter(player=player)[:limit]:
        until = f"{ex.ends_at:%Y-%m-%d}" if ex.ends_at else "indefinite"
        entries.append(
            Entry(ex.starts_at, "exclusion", f"{ex.get_kind_display()} until {until}", ex.reason, ex.source)
        )
        if ex.lift_requested_at:
            entries.append(
                Entry(
                    ex.lift_requested_at,
                    "exclusion",
                    "Request to lift the exclusion",
                    ex.lift_request_text,
                    "player",
                )
            )
    decisions = AuditEvent.objects.filter(
        target_type__app_label="players", target_id=str(player.pk), action__startswith="compliance."
    ).exclude(action="compliance.limit.set")
    for ev in decisions.order_by("created_at")[:limit]:
        entries.append(Entry(ev.created_at, "decision", ev.action, ev.note or str(ev.after), ev.actor_label))
    entries.sort(key=lambda e: e.at)
    return entries
