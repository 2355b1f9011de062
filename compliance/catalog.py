"""The rules a jurisdiction can set: their key, the shape of their value and its unit.

A rule's value lives in the database (JurisdictionRule, versioned with an effective date
and its legal source); this catalogue only says what each key means, so the console can
validate an edit and a reader can see every rule the code consults."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleSpec:
    key: str
    label: str
    kind: str  # "int", "bool", "str", "list", "money" ({"amount": minor units, "currency": ...})
    unit: str = ""
    help: str = ""


SPECS = [
    RuleSpec("minimum_age", "Minimum age", "int", "years"),
    RuleSpec(
        "cdd_threshold",
        "CDD threshold (accrued deposits)",
        "money",
        "",
        "Deposits over the relationship or the rolling window that start customer due diligence.",
    ),
    RuleSpec("cdd_window_days", "CDD rolling window", "int", "days"),
    RuleSpec("cdd_risk_assessment_due_days", "Customer risk assessment due after threshold", "int", "days"),
    RuleSpec(
        "kyc_level_before_play",
        "KYC level required before play",
        "int",
        "0 none, 1 basic, 2 full, 3 enhanced",
        "Identity verification the market requires before deposits and wagers.",
    ),
    RuleSpec(
        "mandatory_limits",
        "Limits required before play",
        "list",
        "limit kinds",
        'e.g. ["deposit"]; ["deposit|wager"] means one of the two.',
    ),
    RuleSpec("limit_periods", "Limit periods offered", "list", "periods"),
    RuleSpec("limit_increase_cooling_off_hours", "Limit increase cooling-off", "int", "hours"),
    RuleSpec(
        "limit_increase_waits_for_period_end", "Limit increase waits for the current period to end", "bool"
    ),
    RuleSpec(
        "deposit_contact_threshold_month", "Monthly deposits above which the player is contacted", "money"
    ),
    RuleSpec("self_exclusion_min_days", "Self-exclusion minimum", "int", "days"),
    RuleSpec(
        "exclusion_lift_wait_hours_definite", "Wait before a definite exclusion may be lifted", "int", "hours"
    ),
    RuleSpec(
        "exclusion_lift_wait_hours_indefinite",
        "Wait before an indefinite exclusion may be lifted",
        "int",
        "hours",
    ),
    RuleSpec("exclusion_request_answer_days", "Days to answer a request to lift an exclusion", "int", "days"),
    RuleSpec("timeout_max_days", "Longest time-out offered", "int", "days"),
    RuleSpec("bonus_first_play_only", "Bonus only at first play", "bool"),
    RuleSpec(
        "national_exclusion_register",
        "National exclusion register to consult",
        "str",
        "",
        "spelpaus, gamstop, oasis, or empty",
    ),
    RuleSpec(
        "financial_vulnerability_check",
        "Financial vulnerability check at net deposits",
        "money",
        "",
        "Net deposits over the window that trigger a public-record check.",
    ),
    RuleSpec("financial_vulnerability_window_days", "Financial vulnerability window", "int", "days"),
    RuleSpec("gaming_tax_rate_bp", "Gaming tax rate", "int", "basis points of gaming revenue"),
    RuleSpec("record_retention_years", "Records kept after the relationship ends", "int", "years"),
]
SPEC_BY_KEY = {s.key: s for s in SPECS}
KEY_CHOICES = [(s.key, s.label) for s in SPECS]


def validate_value(key: str, value) -> str | None:
    """None when the value fits its rule's kind, else what is wrong, in words."""
    spec = SPEC_BY_KEY.get(key)
    if spec is None:
        return f"Unknown rule {key!r}."
    if spec.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return "A whole number, zero or more."
    if spec.kind == "bool" and not isinstance(value, bool):
        return "true or false."
    if spec.kind == "str" and not isinstance(value, str):
        return "A text value."
    if spec.kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return 'A list of texts, e.g. ["deposit"].'
    if spec.kind == "money":
        ok = (
            isinstance(value, dict)
            and set(value) == {"amount", "currency"}
            and isinstance(value["amount"], int)
            and not isinstance(value["amount"], bool)
            and value["amount"] >= 0
            and isinstance(value["currency"], str)
            and len(value["currency"]) == 3
        )
        if not ok:
            return 'An amount in minor units and a currency, e.g. {"amount": 200000, "currency": "EUR"}.'
    return None
