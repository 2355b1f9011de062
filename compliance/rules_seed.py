"""The rule sets shipped with Pitboss: MT (the licence's home), SE, GB, FI, DE.
Loaded by migration 0002; administrators change them in the console afterwards.
Sources from ../shared/reference/regulations.md; "secondary" marks a number found only in
secondary sources, to be confirmed against the primary text."""

MGA_CDD = "MGA, Prevention of money laundering (mga.org.mt/regulatory/mga-licensee-register/prevention-of-money-laundering/); FIAU Implementing Procedures Part II (2018, rev. 2020)"
MGA_RG = "MGA FAQ, mandatory responsible gambling tools (mga.org.mt/faqs/remote-gaming-are-there-any-mandatory-responsible-gambling-tools-which-must-be-offered-to-players/)"
MGA_EXCL = "MGA FAQ, decreasing or revoking a self-exclusion (mga.org.mt/faqs/remote-gaming-when-is-the-player-allowed-to-decrease-or-revoke-a-self-exclusion)"
EU_4AMLD = "Directive (EU) 2015/849 (4AMLD) art. 11(d) and art. 40"
SE_LIMITS = "Spelinspektionen, insättningsgränser (spelinspektionen.se/fragor--svar/spelkonto--registrering/insattningsgranser/); legal position 'höjning av insättningsgräns' 2021-12-13"
UK_RTS12 = "UKGC RTS 12 (annex 2 wording from 30 June 2026)"
UK_FVC = "UKGC LCCP SR 3.4.4 financial vulnerability check"

T0 = "2024-01-01T00:00:00+00:00"

JURISDICTIONS = [
    ("MT", "Malta", "Malta Gaming Authority", "EUR"),
    ("SE", "Sweden", "Spelinspektionen", "SEK"),
    ("GB", "United Kingdom", "Gambling Commission", "GBP"),
    ("FI", "Finland", "Poliisihallitus (National Police Board)", "EUR"),
    ("DE", "Germany", "Gemeinsame Glücksspielbehörde der Länder (GGL)", "EUR"),
]


def _eur(amount_major: int) -> dict:
    return {"amount": amount_major * 100, "currency": "EUR"}


def _common(code: str) -> list[tuple]:
    return [
        (code, "minimum_age", 18, "Licence conditions of the market: players must be 18 or older", T0),
        (code, "cdd_threshold", _eur(2000), f"{EU_4AMLD}; {MGA_CDD}", T0),
        (code, "cdd_window_days", 180, MGA_CDD, T0),
        (
            code,
            "cdd_risk_assessment_due_days",
            30,
            "FIAU Implementing Procedures Part II (deloitte.com/mt/en/pages/tax/articles/mt-tax-alert-18-09-FIAU-issues-Implementing-Procedures-Part-II.html)",
            T0,
        ),
        (code, "record_retention_years", 5, EU_4AMLD, T0),
        (
            code,
            "limit_periods",
            ["day", "week", "month"],
            "Operator policy: day, week and month limits offered",
            T0,
        ),
    ]


RULES = [
    *_common("MT"),
    ("MT", "kyc_level_before_play", 0, MGA_CDD + " (verification due at the CDD threshold)", T0),
    ("MT", "mandatory_limits", ["deposit|wager"], MGA_RG, T0),
    (
        "MT",
        "limit_increase_cooling_off_hours",
        24,
        "secondary: app.kural.tech/controls/MGA.PPD.DL.1 — confirm against the PPD",
        T0,
    ),
    ("MT", "limit_increase_waits_for_period_end", False, "secondary (as above)", T0),
    ("MT", "exclusion_lift_wait_hours_definite", 24, MGA_EXCL, T0),
    ("MT", "exclusion_lift_wait_hours_indefinite", 168, MGA_EXCL, T0),
    ("MT", "exclusion_request_answer_days", 7, "mondaq.com/gaming/1273866 (secondary)", T0),
    ("MT", "timeout_max_days", 30, MGA_RG, T0),
    ("MT", "self_exclusion_min_days", 0, MGA_RG + " (no minimum set)", T0),
    ("MT", "bonus_first_play_only", False, "No such restriction in Malta", T0),
    ("MT", "national_exclusion_register", "", "Malta has no national exclusion register", T0),
    (
        "MT",
        "gaming_tax_rate_bp",
        500,
        "Gaming Tax Regulations SL 438.12: 5% of gaming revenue from players in Malta",
        T0,
    ),
    *_common("SE"),
    (
        "SE",
        "kyc_level_before_play",
        1,
        "Spellagen (2018:1138) 12 kap. 5 §: identity verified at registration (BankID)",
        T0,
    ),
    (
        "SE",
        "mandatory_limits",
        ["deposit"],
        SE_LIMITS + ": a deposit limit per day, week and month before any play",
        T0,
    ),
    ("SE", "limit_increase_cooling_off_hours", 72, SE_LIMITS, T0),
    ("SE", "limit_increase_waits_for_period_end", True, SE_LIMITS, T0),
    ("SE", "deposit_contact_threshold_month", {"amount": 1_000_000, "currency": "SEK"}, SE_LIMITS, T0),
    (
        "SE",
        "self_exclusion_min_days",
        30,
        "Spelpaus periods 1, 3, 6 months or indefinite with a 12-month minimum (secondary: G3 magazine)",
        T0,
    ),
    (
        "SE",
        "exclusion_lift_wait_hours_definite",
        0,
        "Spelpaus: ends at the chosen date; not liftable early",
        T0,
    ),
    (
        "SE",
        "exclusion_lift_wait_hours_indefinite",
        24 * 365,
        "Spelpaus: indefinite exclusion lasts at least 12 months (secondary)",
        T0,
    ),
    (
        "SE",
        "bonus_first_play_only",
        True,
        "Spellagen (2018:1138) 14 kap. 8 §; igamingbusiness.com/news/sweden-warns-licensees-respect-bonus-restrictions",
        T0,
    ),
    (
        "SE",
        "national_exclusion_register",
        "spelpaus",
        "Spelinspektionen, Spelpaus.se (query before registration, play and direct marketing)",
        T0,
    ),
    (
        "SE",
        "gaming_tax_rate_bp",
        2200,
        "Lag (1991:1482) om skatt på spel: 22% from 2024-07-01 (operator to confirm)",
        T0,
    ),
    *_common("GB"),
    (
        "GB",
        "kyc_level_before_play",
        1,
        "UKGC LCCP 17.1.1: age and identity verified before the customer gambles (from 7 May 2019)",
        T0,
    ),
    (
        "GB",
        "mandatory_limits",
        ["deposit"],
        UK_RTS12 + ": prompt to set a deposit limit at registration or first deposit",
        T0,
    ),
    ("GB", "limit_increase_cooling_off_hours", 24, UK_RTS12, T0),
    ("GB", "limit_increase_waits_for_period_end", False, UK_RTS12, T0),
    (
        "GB",
        "self_exclusion_min_days",
        183,
        "UKGC self-exclusion: minimum 6 months, effective immediately",
        T0,
    ),
    (
        "GB",
        "exclusion_lift_wait_hours_definite",
        24,
        "UKGC SR 3.5.3: a return after the period ends needs a one-day cooling-off (operator to confirm)",
        T0,
    ),
    ("GB", "exclusion_lift_wait_hours_indefinite", 24 * 183, "UKGC: minimum 6 months", T0),
    ("GB", "bonus_first_play_only", False, "No such restriction in GB", T0),
    ("GB", "national_exclusion_register", "gamstop", "UKGC SR 3.5.5 (GAMSTOP)", T0),
    (
        "GB",
        "financial_vulnerability_check",
        {"amount": 50_000, "currency": "GBP"},
        UK_FVC + " (£500 from 30 Aug 2024)",
        "2024-08-30T00:00:00+00:00",
    ),
    (
        "GB",
        "financial_vulnerability_check",
        {"amount": 15_000, "currency": "GBP"},
        UK_FVC + " (£150 from 27 Feb 2025)",
        "2025-02-27T00:00:00+00:00",
    ),
    ("GB", "financial_vulnerability_window_days", 30, UK_FVC, "2024-08-30T00:00:00+00:00"),
    ("GB", "gaming_tax_rate_bp", 2100, "Remote Gaming Duty 21% (operator to confirm current rate)", T0),
    *_common("FI"),
    ("FI", "kyc_level_before_play", 0, "Operator policy pending the Finnish licensing regime", T0),
    (
        "FI",
        "mandatory_limits",
        ["deposit"],
        "Operator policy pending the Finnish licensing regime (2027)",
        T0,
    ),
    (
        "FI",
        "limit_increase_cooling_off_hours",
        72,
        "Operator policy, aligned with SE pending Finnish rules",
        T0,
    ),
    ("FI", "limit_increase_waits_for_period_end", False, "Operator policy", T0),
    ("FI", "self_exclusion_min_days", 30, "Operator policy", T0),
    ("FI", "exclusion_lift_wait_hours_definite", 24, "Operator policy", T0),
    ("FI", "exclusion_lift_wait_hours_indefinite", 168, "Operator policy", T0),
    ("FI", "bonus_first_play_only", False, "Operator policy", T0),
    ("FI", "national_exclusion_register", "", "No national register in force", T0),
    *_common("DE"),
    ("DE", "kyc_level_before_play", 1, "GlüStV 2021 §6a: identification and authentication before play", T0),
    ("DE", "mandatory_limits", ["deposit"], "GlüStV 2021 §6c: cross-operator monthly deposit limit", T0),
    (
        "DE",
        "limit_increase_cooling_off_hours",
        168,
        "secondary: saartoto.de/registrierung (7-day wait for increases)",
        T0,
    ),
    ("DE", "limit_increase_waits_for_period_end", False, "GlüStV 2021 §6c", T0),
    ("DE", "self_exclusion_min_days", 90, "GlüStV 2021 §8c: self-exclusion for at least three months", T0),
    ("DE", "exclusion_lift_wait_hours_definite", 0, "GlüStV 2021 §8c: ends at the end of the period", T0),
    ("DE", "exclusion_lift_wait_hours_indefinite", 24 * 90, "GlüStV 2021 §8c", T0),
    ("DE", "bonus_first_play_only", False, "Operator policy", T0),
    ("DE", "national_exclusion_register", "oasis", "GlüStV 2021 §8: OASIS player exclusion system", T0),
]

# Corrections, as new versions (history is never rewritten): "limits required before
# play" blocks deposits and bets until the player has set one. Malta and the UK require
# the tools to be offered and the player prompted, not a limit to exist; Finland has no
# such rule yet.
T1 = "2026-11-25T00:00:00+00:00"
CORRECTIONS = [
    ("MT", "mandatory_limits", [], MGA_RG + ": deposit or wager limits must be offered, not imposed", T1),
    (
        "GB",
        "mandatory_limits",
        [],
        UK_RTS12 + ": the customer is prompted to set a limit; setting one is optional",
        T1,
    ),
    ("FI", "mandatory_limits", [], "No Finnish rule in force yet: limits offered, not required", T1),
]
