"""The role map: which Django permissions each role (a Group) holds.

This module is the whole map, so a review sees who may do what. `sync_roles()` makes the
groups match it exactly; it runs after every `migrate` (post_migrate, once all apps'
permissions exist) and from `manage.py sync_roles`. Each app's permissions are added
here, never elsewhere."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

SUPPORT = "support"
COMPLIANCE = "compliance"
FINANCE = "finance"
MARKETING = "marketing"
RISK = "risk"
ADMINISTRATOR = "administrator"
MLRO = "mlro"

ROLE_LABELS = {
    SUPPORT: "Support agent",
    COMPLIANCE: "Compliance officer",
    FINANCE: "Finance",
    MARKETING: "Marketing / CRM",
    RISK: "Risk / fraud",
    ADMINISTRATOR: "Administrator",
    MLRO: "MLRO (money laundering reporting officer)",
}
ROLES = list(ROLE_LABELS)

_AUDIT_READ = {"backoffice.view_auditevent"}
_APPROVALS = {"backoffice.view_approvalrequest"}

# Players. Who sees what of a player (personal data on a need-to-know basis):
# - everyone opens the player list and page: name, email, market, status, consents;
# - phone, address, date of birth, the masked national id, notes, sessions and devices
#   (IPs) only for the roles that work cases on players: support, compliance, risk,
#   administrator; finance sees the profile (payout checks) and notes, not sessions;
#   marketing sees none of it (consents say whom they may contact, not how);
# - revealing the full national id: compliance and administrator only (audited, and
#   it asks for a fresh sign-in);
# - suspend/reactivate: support, compliance, risk (first response to a complaint, a
#   fraud signal, an RG concern); closing an account: compliance and administrator.
_PLAYER_VIEW = {"players.view_player"}
_PLAYER_CASEWORK = _PLAYER_VIEW | {
    "players.view_player_pii",
    "players.view_playernote",
    "players.add_playernote",
    "players.view_playersession",
}
_PLAYER_STATUS = {"players.change_player_status"}
_PLAYER_CLOSE = {"players.close_player", "players.reveal_national_id"}
_PLAYER_FINANCE = _PLAYER_VIEW | {
    "players.view_player_pii",
    "players.view_playernote",
    "players.add_playernote",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    SUPPORT: _PLAYER_CASEWORK | _PLAYER_STATUS,
    COMPLIANCE: _AUDIT_READ | _APPROVALS | _PLAYER_CASEWORK | _PLAYER_STATUS | _PLAYER_CLOSE,
    FINANCE: _AUDIT_READ | _APPROVALS | _PLAYER_FINANCE,
    MARKETING: _PLAYER_VIEW,
    RISK: _AUDIT_READ | _PLAYER_CASEWORK | _PLAYER_STATUS,
    ADMINISTRATOR: _AUDIT_READ
    | _APPROVALS
    | _PLAYER_CASEWORK
    | _PLAYER_STATUS
    | _PLAYER_CLOSE
    | {
        "backoffice.view_user",
        "backoffice.manage_operators",
        "backoffice.approve_grant_administrator",
        "backoffice.view_heartbeat",
        "backoffice.view_apiclient",
        "backoffice.add_apiclient",
        "backoffice.change_apiclient",
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.add_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "django_celery_beat.view_intervalschedule",
        "django_celery_beat.add_intervalschedule",
        "django_celery_beat.change_intervalschedule",
    },
}

# Wallet and ledger. Finance owns the ledger: reads every account and transaction, posts
# manual adjustments and approves another operator's (four-eyes above the threshold),
# exports statements, runs the verification. Support, compliance and risk see a
# player's balances and statement (complaints, AML and fraud cases); compliance also
# exports it for investigations. Administrators read the ledger and its verify runs.
_WALLET_PLAYER = {"wallet.view_player_balances", "wallet.view_player_statement"}
_WALLET_LEDGER_READ = {"wallet.view_account", "wallet.view_transaction", "wallet.view_posting"}
_WALLET_VERIFY = {"wallet.view_ledgerverifyrun", "wallet.run_ledger_verify"}
_WALLET: dict[str, set[str]] = {
    SUPPORT: _WALLET_PLAYER,
    COMPLIANCE: _WALLET_PLAYER | {"wallet.export_statement"},
    FINANCE: _WALLET_PLAYER
    | _WALLET_LEDGER_READ
    | _WALLET_VERIFY
    | {"wallet.post_adjustment", "wallet.approve_adjustment", "wallet.export_statement"},
    MARKETING: set(),
    RISK: _WALLET_PLAYER,
    ADMINISTRATOR: _WALLET_PLAYER | _WALLET_LEDGER_READ | _WALLET_VERIFY,
}
for _role, _perms in _WALLET.items():
    ROLE_PERMISSIONS[_role] |= _perms

# Compliance: jurisdictions and their rules. Every operator reads the rules (they explain
# why money is held); administrators and compliance officers add new rule versions.
_RULES_READ = {"compliance.view_jurisdiction", "compliance.view_jurisdictionrule"}
# KYC documents are opened and decided by compliance only (a support agent sees the
# player's level, never the passport scan).
_KYC_LEVEL = {"compliance.view_kycprofile"}
_KYC_WORK = _KYC_LEVEL | {
    "compliance.view_kycdocument",
    "compliance.decide_kyc_document",
    "compliance.view_kyc_document_file",
}
# Limits and exclusions: read by everyone who works a player's case; lifting needs
# compliance (four-eyes); register imports by compliance.
_RG_READ = {
    "compliance.view_playerlimit",
    "compliance.view_exclusion",
    "compliance.view_rgalert",
    "compliance.view_rginteraction",
}
_REGISTERS = {"compliance.view_nationalregisterimport", "compliance.add_nationalregisterimport"}
# Support, compliance and risk set limits and exclusions for a player who asks.
_RG_SET = {"compliance.add_playerlimit", "compliance.add_exclusion"}
# Sanctions and PEP screening: compliance works the matches (also on the player page's
# Screening tab), screens names ad hoc and imports list versions from the console (the
# command does the same); administrators see the list versions.
_SCREENING_READ = {
    "compliance.view_watchlistversion",
    "compliance.view_watchlistentry",
    "compliance.view_screeningmatch",
}
_SCREENING_WORK = _SCREENING_READ | {
    "compliance.decide_screening_match",
    "compliance.screen_name",
    "compliance.add_watchlistversion",
}
# AML monitoring: compliance works the alerts and tunes the rules (audited); administrators
# see the rule settings and the scan runs (operations), not the alerts about players.
_AML_OPS_READ = {"compliance.view_amlruleconfig", "compliance.view_amlscanrun"}
# Starting a scan (Scan now / Full rescan): compliance (after changing a rule's threshold) and
# administrators, who already own the scan schedule (django-celery-beat) and restart a
# failed run after an outage; a scan run's page shows counts per rule, no player.
_AML_SCAN_START = {"compliance.run_aml_scan"}
_AML_WORK = (
    _AML_OPS_READ
    | _AML_SCAN_START
    | {
        "compliance.view_amlalert",
        "compliance.work_aml_alert",
        "compliance.change_amlruleconfig",
    }
)
# Risk scoring: compliance sees a player's score, its breakdown and history (the Risk tab),
# and tunes the factors' weights, parameters and the level thresholds (audited).
_RISK_READ = {"compliance.view_riskscore", "compliance.view_riskfactorconfig"}
_RISK_TUNE = {"compliance.change_riskfactorconfig"}
# AML cases and STRs: compliance opens cases from alerts, works them (assign, notes,
# attachments, transactions, generates the goAML report) and decides them; only the MLRO
# role (block at the end of this map) marks an STR filed with the FIU.
_AML_CASES = {
    "compliance.view_amlcase",
    "compliance.add_amlcase",
    "compliance.change_amlcase",
    "compliance.decide_aml_case",
    "compliance.view_strreport",
}
_COMPLIANCE: dict[str, set[str]] = {
    SUPPORT: _RULES_READ | _KYC_LEVEL | _RG_READ | _RG_SET,
    COMPLIANCE: _RULES_READ
    | _KYC_WORK
    | _RG_READ
    | _RG_SET
    | _REGISTERS
    | _SCREENING_WORK
    | _AML_WORK
    | _RISK_READ
    | _RISK_TUNE
    | _AML_CASES
    | {"compliance.work_rg_alert"}
    | {"compliance.change_jurisdiction_rules", "compliance.lift_exclusion"},
    FINANCE: _RULES_READ | _KYC_LEVEL,
    MARKETING: _RULES_READ,
    RISK: _RULES_READ | _KYC_LEVEL | _RG_READ | _RG_SET,
    ADMINISTRATOR: _RULES_READ
    | _KYC_LEVEL
    | _RG_READ
    | _AML_OPS_READ
    | _AML_SCAN_START
    | {"compliance.view_nationalregisterimport", "compliance.view_watchlistversion"}
    | {"compliance.view_kycdocument", "compliance.change_jurisdiction_rules", "compliance.lift_exclusion"},
}
for _role, _perms in _COMPLIANCE.items():
    ROLE_PERMISSIONS[_role] |= _perms

# The FATF lists (black and grey, as data with their effective dates): compliance reads them
# (the high_risk_country AML rule and the risk score's jurisdiction factor use them);
# administrators see them as reference data. Read-only for everyone: rows come from data
# migrations.
for _role in (COMPLIANCE, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= {"compliance.view_highriskcountry"}

# Complaints: support logs and reads them; compliance and risk read them (markers of harm).
for _role in (SUPPORT, COMPLIANCE, RISK, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= {"disputes.view_complaint"}

# Games. Every role reads the catalogue (complaints about a game, wagering contribution,
# markets, campaigns); administrators import it and manage providers (rotating the
# wallet API secret). Finance also sees the providers it settles with.
_GAMES_READ = {"games.view_game"}
_GAMES: dict[str, set[str]] = {
    SUPPORT: _GAMES_READ,
    COMPLIANCE: _GAMES_READ,
    FINANCE: _GAMES_READ | {"games.view_gameprovider"},
    MARKETING: _GAMES_READ,
    RISK: _GAMES_READ,
    ADMINISTRATOR: _GAMES_READ
    | {"games.add_game", "games.change_game", "games.view_gameprovider", "games.rotate_provider_secret"},
}
# Game sessions (launch tokens) show who played what and when: support, compliance, risk
# and administrators. (A new set each time: several roles start from the same _GAMES_READ
# object, and `|=` would grant to all of them.)
for _role in (SUPPORT, COMPLIANCE, RISK, ADMINISTRATOR):
    _GAMES[_role] = _GAMES[_role] | {"games.view_gamesession"}
# Rounds and their wallet calls (each bet, win and rollback with the provider's request and
# our answer, and the ledger postings): support (a player's "my win was not paid"),
# compliance and risk (play patterns, disputes), finance (settling with providers) and
# administrators. Marketing works on campaigns, not on a player's spins. The per-game
# figures (bets, wins, RTP for a period) are the casino's game performance: finance, risk
# and administrators.
for _role in (SUPPORT, COMPLIANCE, FINANCE, RISK, ADMINISTRATOR):
    _GAMES[_role] = _GAMES[_role] | {"games.view_round", "games.view_wallettransaction"}
for _role in (FINANCE, RISK, ADMINISTRATOR):
    _GAMES[_role] = _GAMES[_role] | {"games.view_game_figures"}
for _role, _perms in _GAMES.items():
    ROLE_PERMISSIONS[_role] |= _perms

# Payments. Finance works them (deposits, reconciliation with the providers) and replays a
# notification whose processing failed; compliance reads everything (source of funds,
# shared instruments); support sees the payments list, a payment's timeline and the
# player's Payments tab ("where is my deposit?"), not the providers' raw notifications;
# risk sees payments and the instruments shared between players (duplicate accounts);
# administrators read the notification log to troubleshoot an integration.
# Withdrawals: finance works the queue (approve, reject, four-eyes above the threshold),
# compliance opens it read-only (a held payout is often theirs to unblock). Provider
# settings (enabled per market, limits, fees): administrators and finance change them,
# compliance reads them. Reconciliation: finance imports settlement reports, compliance
# reads the runs. Chargebacks to review: finance marks them reviewed, compliance reads.
_PAYMENTS_SEE = {"payments.view_payment", "payments.view_paymentevent"}
_PAYMENTS_ALL = _PAYMENTS_SEE | {"payments.view_notification", "payments.view_paymentmethod"}
_PAYMENTS_READ_MONEY = {
    "payments.review_withdrawal",
    "payments.view_providersetting",
    "payments.view_reconciliationrun",
    "payments.view_reconciliationline",
    "payments.view_chargebackalert",
    "payments.view_paynplaysession",
}
_PAYMENTS_SETTINGS = {
    "payments.view_providersetting",
    "payments.add_providersetting",
    "payments.change_providersetting",
}
_PAYMENTS: dict[str, set[str]] = {
    SUPPORT: _PAYMENTS_SEE,
    COMPLIANCE: _PAYMENTS_ALL | _PAYMENTS_READ_MONEY,
    FINANCE: _PAYMENTS_ALL
    | _PAYMENTS_READ_MONEY
    | _PAYMENTS_SETTINGS
    | {
        "payments.replay_notification",
        "payments.approve_withdrawal",
        "payments.reconcile",
        "payments.review_chargeback",
    },
    MARKETING: set(),
    RISK: _PAYMENTS_SEE | {"payments.view_paymentmethod"},
    ADMINISTRATOR: _PAYMENTS_ALL | _PAYMENTS_SETTINGS,
}
for _role, _perms in _PAYMENTS.items():
    ROLE_PERMISSIONS[_role] |= _perms

# Reports (rollups and FX rates). The rollups are the casino's money figures (GGR, NGR,
# deposits, gaming tax): finance (its reports and returns), compliance (regulatory returns,
# tax) and administrators (operations: is the rollup current, which FX rate is missing)
# read them; support and marketing do not. Rebuilding a range is finance's and the
# administrators' (after late data or an FX import); FX rates are imported by command.
_REPORTS_READ = {
    "reports.view_fxrate",
    "reports.view_rollupday",
    "reports.view_dailymarket",
    "reports.view_markethour",
    "reports.view_dailygame",
    "reports.view_dailypayment",
}
for _role in (FINANCE, COMPLIANCE, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= _REPORTS_READ
for _role in (FINANCE, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= {"reports.rebuild_rollups"}

# Report runs (reports/registry.py names the permission each report needs): finance runs the
# money reports and the MGA returns, compliance its KYC/AML/RG/complaint statistics,
# administrators both; each sees the runs (and downloads the files) of those reports only.
# Support and marketing run no report.
for _role in (FINANCE, COMPLIANCE, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= {"reports.view_reportrun"}
for _role in (FINANCE, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= {"reports.run_money_reports"}
for _role in (COMPLIANCE, ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] |= {"reports.run_compliance_reports"}


# MLRO (money laundering reporting officer): everything compliance holds, plus filing
# suspicious transaction reports with the FIU. Keep this block last: it copies compliance.
ROLE_PERMISSIONS[MLRO] = set(ROLE_PERMISSIONS[COMPLIANCE]) | {"compliance.file_str"}


def role_permissions(role: str) -> set[str]:
    return set(ROLE_PERMISSIONS[role])


def _permission(code: str) -> Permission:
    app_label, codename = code.split(".", 1)
    try:
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)
    except Permission.DoesNotExist:
        raise LookupError(f"Role map names an unknown permission: {code}") from None


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create the groups and set each one's permissions to exactly the map."""
    counts = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([_permission(p) for p in sorted(perms)])
        counts[role] = len(perms)
    return counts
