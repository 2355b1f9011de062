"""The risk weights screen: compliance officers tune the risk factors' weights, switches
and parameters and the level thresholds (RiskFactorConfig rows), each change through
risk.risk_factor_update (validated, audited before/after). A preview shows how many
players would be at each level with the new weights and thresholds against now."""

import json
from collections import Counter

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from backoffice import console
from backoffice.errors import DomainError
from backoffice.forms import ConsoleForm
from backoffice.money import Money, MoneyField
from backoffice.views import admin_context

from .models import KycLevel, RiskFactorConfig, RiskLevel, RiskScore
from .risk import (
    DEFAULT_THRESHOLDS,
    LEVELS_CODE,
    MAX_WEIGHT,
    RISK_PARAM_SPECS,
    RISK_THRESHOLDS_ORDER,
    level_for,
    risk_factor_update,
)

TUNE = "compliance.change_riskfactorconfig"

FACTORS = {
    "jurisdiction": ("Jurisdiction", "Full points when the player's market is on the high-risk list."),
    "pep": ("Politically exposed person", "Full points on an open or confirmed PEP match."),
    "deposit_volume": (
        "Deposit volume",
        "Deposits in the window, in EUR; full points at the amount below, a share of them under it.",
    ),
    "payment_methods": (
        "Payment methods",
        "Distinct payment instruments: none for one, full points at the count below.",
    ),
    "aml_alerts": ("Open AML alerts", "Full points at this many open AML alerts."),
    "kyc_level": ("KYC level", "The share of the points (0 to 1) at each verification level."),
    "account_age": ("New account", "Full points while the account is younger than this."),
}
PARAM_LABELS = {
    "high_risk": "High-risk markets",
    "window_days": "Window (days)",
    "full_at_eur": "Full points at (EUR)",
    "full_at": "Full points at",
    "new_days": "New for (days)",
    "medium": "Medium from score",
    "high": "High from score",
}
BAD_JSON = 'Write the parameters as a JSON object, e.g. {"days": 30}.'


def _key(code: str, name: str) -> str:
    return f"{code}__{name}"


class RiskWeightsForm(ConsoleForm):
    """One row per factor (weight, on/off, its parameters) and the thresholds. Field names
    are `<code>__weight`, `<code>__enabled`, `<code>__<param>`."""

    def __init__(self, *args, configs: list[RiskFactorConfig], **kwargs):
        self.configs = configs
        self.base_fields = {}  # this instance's fields, built from the rows (then themed by ConsoleForm)
        self._build()
        super().__init__(*args, **kwargs)

    def _add(self, name: str, field: forms.Field, initial) -> None:
        field.initial = initial
        self.base_fields[name] = field

    def _build(self) -> None:
        for c in self.configs:
            params = c.params or {}
            if c.code == LEVELS_CODE:
                t = {**DEFAULT_THRESHOLDS, **params}
                for key in ("medium", "high"):
                    self._add(
                        _key(c.code, key),
                        forms.IntegerField(min_value=0, max_value=MAX_WEIGHT, label=PARAM_LABELS[key]),
                        t[key],
                    )
                continue
            self._add(
                _key(c.code, "weight"),
                forms.IntegerField(
                    min_value=0,
                    max_value=MAX_WEIGHT,
                    label="Weight (points)",
                    widget=forms.NumberInput(attrs={"aria-label": "Weight (points)"}),
                ),
                c.weight,
            )
            self._add(
                _key(c.code, "enabled"),
                forms.BooleanField(
                    required=False, label="On", widget=forms.CheckboxInput(attrs={"aria-label": "On"})
                ),
                c.enabled,
            )
            spec = RISK_PARAM_SPECS.get(c.code)
            if spec is None:  # a factor this screen does not know yet: its parameters as JSON
                self._add(
                    _key(c.code, "params"),
                    forms.CharField(
                        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Parameters"
                    ),
                    json.dumps(params),
                )
                continue
            for key, kind in spec.items():
                label = PARAM_LABELS.get(key, key)
                if kind == "countries":
                    self._add(
                        _key(c.code, key),
                        forms.CharField(
                            required=False, label=label, help_text="Two-letter codes, comma-separated"
                        ),
                        ", ".join(params.get(key, [])),
                    )
                elif kind == "eur_minor":
                    self._add(
                        _key(c.code, key),
                        MoneyField(currency="EUR", label=label),
                        Money(params.get(key, 1000000), "EUR").to_decimal_string(),
                    )
                elif kind == "by_level":
                    by_level = params.get(key, {})
                    for level in KycLevel:
                        self._add(
                            _key(c.code, f"{key}__{level.value}"),
                            forms.FloatField(
                                min_value=0, max_value=1, label=f"Level {level.value}: {level.label}"
                            ),
                            by_level.get(str(level.value), 0.0),
                        )
                else:
                    self._add(_key(c.code, key), forms.IntegerField(label=label), params.get(key))

    def changes(self) -> dict[str, dict]:
        """Per factor code: the keyword arguments for risk_factor_update."""
        d = self.cleaned_data
        out: dict[str, dict] = {}
        for c in self.configs:
            if c.code == LEVELS_CODE:
                out[c.code] = {"params": {k: d[_key(c.code, k)] for k in ("medium", "high")}}
                continue
            row = {"weight": d[_key(c.code, "weight")], "enabled": d[_key(c.code, "enabled")]}
            spec = RISK_PARAM_SPECS.get(c.code)
            if spec is None:
                row["params"] = d[_key(c.code, "params")]
            else:
                params = {}
                for key, kind in spec.items():
                    if kind == "countries":
                        params[key] = [x.strip() for x in d[_key(c.code, key)].split(",") if x.strip()]
                    elif kind == "eur_minor":
                        params[key] = d[_key(c.code, key)].amount
                    elif kind == "by_level":
                        params[key] = {
                            str(lv.value): d[_key(c.code, f"{key}__{lv.value}")] for lv in KycLevel
                        }
                    else:
                        params[key] = d[_key(c.code, key)]
                row["params"] = params
            out[c.code] = row
        return out

    def clean(self):
        d = super().clean()
        for c in self.configs:
            name = _key(c.code, "params")
            if name in self.fields and name in d:
                try:
                    d[name] = json.loads(d[name] or "{}")
                except json.JSONDecodeError:
                    self.add_error(name, BAD_JSON)
        medium, high = d.get(_key(LEVELS_CODE, "medium")), d.get(_key(LEVELS_CODE, "high"))
        if medium is not None and high is not None and medium >= high:
            self.add_error(
                _key(LEVELS_CODE, "medium"), RISK_THRESHOLDS_ORDER.format(medium=medium, high=high)
            )
        return d


def levels_preview(changes: dict[str, dict]) -> dict:
    """Players at each level now (their latest score) and with the proposed weights and
    thresholds, from the factor values stored with each latest score: one query. Parameter
    changes are not replayed (they change the values themselves; the next computation
    applies them)."""
    latest = RiskScore.objects.filter(
        pk=Subquery(
            RiskScore.objects.filter(player=OuterRef("player"))
            .order_by("-computed_at", "-id")
            .values("pk")[:1]
        )
    )
    thresholds = {**DEFAULT_THRESHOLDS, **changes.get(LEVELS_CODE, {}).get("params", {})}
    weights = {code: row["weight"] for code, row in changes.items() if code != LEVELS_CODE and row["enabled"]}
    now, new, moved = Counter(), Counter(), 0
    for level, factors in latest.values_list("level", "factors").iterator(chunk_size=2000):
        score = round(
            sum(
                round(weight * float((factors.get(code) or {}).get("value", 0.0)), 1)
                for code, weight in weights.items()
            )
        )
        proposed = level_for(score, thresholds)
        now[level] += 1
        new[proposed] += 1
        moved += proposed != level
    return {
        "rows": [(lv.label, now[lv.value], new[lv.value]) for lv in RiskLevel],
        "players": sum(now.values()),
        "moved": moved,
    }


def risk_weights_view(request):
    configs = list(RiskFactorConfig.objects.order_by("code"))
    form = RiskWeightsForm(request.POST or None, configs=configs)
    preview = None
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if "preview" in request.POST:
            preview = levels_preview(changes)
        else:
            try:
                before = {c.code: (c.weight, c.enabled, c.params) for c in configs}
                changed = []
                with transaction.atomic():  # every row or none
                    for code, row in changes.items():
                        c = risk_factor_update(code=code, actor=request.user, **row)
                        if (c.weight, c.enabled, c.params) != before[code]:
                            changed.append(code)
            except DomainError as exc:
                field = (exc.field or "").replace(".", "__")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                if changed:
                    messages.success(
                        request,
                        f"Saved: {', '.join(changed)}. Scores follow at each player's next computation "
                        "(an event, or tonight's run).",
                    )
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("admin:compliance_risk_weights")
    rows = []
    for c in configs:
        if c.code == LEVELS_CODE:
            continue
        label, help_text = FACTORS.get(c.code, (c.code, ""))
        prefix = f"{c.code}__"
        params = [
            form[name]
            for name in form.fields
            if name.startswith(prefix) and name not in (prefix + "weight", prefix + "enabled")
        ]
        rows.append(
            {
                "code": c.code,
                "label": label,
                "help": help_text,
                "weight": form[prefix + "weight"],
                "enabled": form[prefix + "enabled"],
                "params": params,
            }
        )
    levels = [form[name] for name in form.fields if name.startswith(f"{LEVELS_CODE}__")]
    return TemplateResponse(
        request,
        "compliance/risk_weights.html",
        admin_context(request, title="Risk weights", form=form, rows=rows, levels=levels, preview=preview),
    )


console.register_view("compliance/risk/weights/", risk_weights_view, "compliance_risk_weights", TUNE)
console.register_nav(
    console.NavItem("Compliance", "Risk weights", "admin:compliance_risk_weights", TUNE, "tune", 70)
)
