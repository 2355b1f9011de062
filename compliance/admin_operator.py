"""Operator forms on the player page: set a limit, start a time-out or self-exclusion
(for a player who asks by phone or email). Both go through the same services as the
platform API, so the market's rules apply the same way."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.money import Money
from backoffice.views import admin_context
from players.models import Player

from . import rg
from .models import Exclusion, PlayerLimit


class LimitForm(ConsoleForm):
    kind = forms.ChoiceField(choices=PlayerLimit.Kind.choices)
    period = forms.ChoiceField(choices=PlayerLimit.Period.choices)
    amount = forms.CharField(
        required=False,
        help_text="In the player's currency, e.g. 500.00; minutes for a "
        "session limit; empty removes the limit (after the cooling-off)",
    )


class ExclusionForm(ConsoleForm):
    kind = forms.ChoiceField(choices=Exclusion.Kind.choices)
    days = forms.IntegerField(
        required=False, min_value=1, help_text="Empty: indefinite (self-exclusion only)"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="How the player asked, and why"
    )


def _back(player: Player):
    return redirect(f"{reverse('admin:players_player_change', args=[player.pk])}?tab=rg")


def limit_set_view(request, player_id: int):
    player = get_object_or_404(Player, pk=player_id)
    form = LimitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        raw = (d["amount"] or "").strip()
        try:
            if not raw:
                amount = None
            elif d["kind"] == PlayerLimit.Kind.SESSION:
                if not raw.isdigit():
                    raise DomainError(
                        "invalid_amount", "A session limit is a whole number of minutes.", field="amount"
                    )
                amount = int(raw)
            else:
                try:
                    amount = Money.parse(raw, player.currency).amount
                except (ValueError, TypeError) as exc:
                    raise DomainError("invalid_amount", str(exc), field="amount") from None
            change = rg.limit_set(
                player_id=player.pk,
                kind=d["kind"],
                period=d["period"],
                amount=amount,
                actor=request.user,
                source="operator",
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if change.immediate:
                messages.success(request, "The limit is in force now.")
            else:
                messages.warning(
                    request,
                    f"The change waits for the cooling-off: in force from "
                    f"{change.limit.effective_at:%Y-%m-%d %H:%M} UTC ({change.limit.rule_note}).",
                )
            return _back(player)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Set a limit for {player}",
            form=form,
            submit_label="Set limit",
            intro=f"Amounts in {player.currency}. A decrease applies at once; an increase or a removal waits for the "
            f"{player.jurisdiction} cooling-off.",
        ),
    )


def exclusion_start_view(request, player_id: int):
    player = get_object_or_404(Player, pk=player_id)
    form = ExclusionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        ends_at = timezone.now() + timedelta(days=d["days"]) if d["days"] else None
        try:
            rg.exclusion_start(
                player_id=player.pk,
                kind=d["kind"],
                ends_at=ends_at,
                actor=request.user,
                source="operator",
                reason=d["reason"],
            )
        except DomainError as exc:
            form.add_error("days" if exc.field == "ends_at" else None, exc.message)
        else:
            messages.success(request, "The exclusion is in force now, on all brands.")
            return _back(player)
    return TemplateResponse(
        request,
        "backoffice/form_page.html",
        admin_context(
            request,
            title=f"Time-out or self-exclusion for {player}",
            form=form,
            submit_label="Start now",
            intro="Takes effect immediately on all brands. Lifting it later needs a written request and four-eyes.",
        ),
    )


console.register_view(
    "compliance/players/<int:player_id>/limit/",
    limit_set_view,
    "compliance_limit_set",
    "compliance.add_playerlimit",
    player_id="player",
)
console.register_view(
    "compliance/players/<int:player_id>/exclusion/",
    exclusion_start_view,
    "compliance_exclusion_start",
    "compliance.add_exclusion",
    player_id="player",
)
