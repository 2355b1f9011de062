"""The dashboard's reads (reports/dashboard.py draws the tiles): today against yesterday at
the same time from the rollups plus the ledger's postings since their last run, active
players now, the queues with their oldest item's age, and large events of the last hour.
Each function is a fixed number of queries whatever the data size (docs/reports.md,
"Dashboard")."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone

from backoffice.money import exponent
from wallet.models import Account, Posting, Transaction

from . import fx
from .models import FxRate, MarketHour, RollupDay
from .rollups import reporting_tz

ACTIVE_WINDOW = timedelta(minutes=15)
# The ledger's postings since the rollup's last run are added while it is younger than
# LIVE_DELTA_MAX (a minute's postings when the refresh runs); older than STALE_AFTER, the
# tile says the refresh is late.
LIVE_DELTA_MAX = timedelta(minutes=10)
STALE_AFTER = timedelta(minutes=5)
EVENTS_WINDOW = timedelta(hours=1)
EVENTS_SHOWN = 10
RATE_LOOKBACK_DAYS = 14

FIGURES = [
    ("deposits_amount", "Deposits"),
    ("withdrawals_amount", "Withdrawals"),
    ("ggr", "GGR"),
    ("ngr", "NGR"),
]


def refresh_seconds() -> int:
    return int(getattr(settings, "DASHBOARD_REFRESH_SECONDS", 30))


def large_event_threshold_eur() -> int:
    """The threshold of a large event, in euro cents (setting in euros, default 1,000)."""
    return int(getattr(settings, "DASHBOARD_LARGE_EVENT_EUR", 1_000)) * 100


# --- Today against yesterday at the same time ---------------------------------------------------


def _change(today: int, yesterday: int) -> float | None:
    return None if not yesterday else round((today - yesterday) * 100 / abs(yesterday), 1)


def ledger_delta(start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Native-currency figures posted in [start, end): the minutes since the rollup last
    ran. Same rules as reports.rollups (docs/reports.md, Definitions); one query over the
    transaction time index."""
    K, A = Transaction.Kind, Account.Kind
    rows = (
        Posting.objects.filter(
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
            transaction__kind__in=(K.DEPOSIT, K.WITHDRAWAL, K.BET, K.WIN, K.ROLLBACK, K.BONUS_CONVERSION),
            account__kind__in=(A.PLAYER_CASH, A.PLAYER_BONUS, A.PLAYER_WITHDRAWAL_PENDING),
        )
        .values(cur=F("account__currency"), kind=F("transaction__kind"), acct=F("account__kind"))
        .annotate(total=Sum("amount"))
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        d = out.setdefault(
            r["cur"],
            dict.fromkeys(("deposits_amount", "withdrawals_amount", "bets", "wins", "bonus_cost"), 0),
        )
        kind, acct, total = r["kind"], r["acct"], r["total"]
        if kind == K.DEPOSIT and acct == A.PLAYER_CASH:
            d["deposits_amount"] += total
        elif kind == K.WITHDRAWAL and acct == A.PLAYER_WITHDRAWAL_PENDING:
            d["withdrawals_amount"] -= total
        elif kind in (K.BET, K.ROLLBACK) and acct in (A.PLAYER_CASH, A.PLAYER_BONUS):
            d["bets"] -= total
            if acct == A.PLAYER_BONUS:
                d["bonus_cost"] -= total
        elif kind == K.WIN and acct in (A.PLAYER_CASH, A.PLAYER_BONUS):
            d["wins"] += total
            if acct == A.PLAYER_BONUS:
                d["bonus_cost"] -= total
        elif kind == K.BONUS_CONVERSION and acct == A.PLAYER_CASH:
            d["bonus_cost"] += total
    return out


def _delta_eur(native: dict[str, dict[str, int]], rates: dict) -> tuple[dict[str, int], list[str]]:
    out = dict.fromkeys((f for f, _ in FIGURES), 0)
    missing = []
    for cur, d in native.items():
        rate = rates.get(cur)
        if cur != fx.EUR and rate is None:
            missing.append(cur)
            continue
        eur = {
            f: fx.to_eur(d[f], cur, rate)
            for f in ("deposits_amount", "withdrawals_amount", "bets", "wins", "bonus_cost")
        }
        out["deposits_amount"] += eur["deposits_amount"]
        out["withdrawals_amount"] += eur["withdrawals_amount"]
        out["ggr"] += eur["bets"] - eur["wins"]
        out["ngr"] += eur["bets"] - eur["wins"] - eur["bonus_cost"]
    return out, missing


def today_figures(*, now: datetime | None = None) -> dict:
    """Deposits, withdrawals, GGR and NGR in euro cents so far today against yesterday up to
    the same time of day (reporting zone). Today: the rollup's hours (the running one as of
    its last run) plus the ledger's postings since that run, when it ran less than
    LIVE_DELTA_MAX ago. Yesterday: its complete hours before the current one plus the
    current hour pro rata (the rollup's grain is the hour). Three queries."""
    now = now or timezone.now()
    local = timezone.localtime(now, reporting_tz())
    today, yesterday = local.date(), local.date() - timedelta(days=1)
    hour_share = Decimal(local.minute * 60 + local.second) / 3600
    rows = (
        MarketHour.objects.filter(day__in=[today, yesterday], hour__lte=local.hour)
        .values("day", "hour", "currency")
        .annotate(
            **{f: Sum(f"{f}_eur") for f, _ in FIGURES},
            no_rate=Count("id", filter=Q(bets_eur__isnull=True)),
            rate=Max("fx_rate"),
        )
    )
    sums = {
        today: dict.fromkeys((f for f, _ in FIGURES), 0),
        yesterday: dict.fromkeys((f for f, _ in FIGURES), 0),
    }
    rates: dict[str, Decimal] = {}
    no_rate = 0
    for r in rows:
        share = hour_share if (r["day"] == yesterday and r["hour"] == local.hour) else 1
        for f, _ in FIGURES:
            sums[r["day"]][f] += int((r[f] or 0) * share)
        no_rate += r["no_rate"]
        if r["rate"] is not None and (r["day"] == today or r["currency"] not in rates):
            rates[r["currency"]] = r["rate"]

    computed_at = RollupDay.objects.filter(day=today).values_list("computed_at", flat=True).first()
    since = computed_at or datetime.combine(today, datetime.min.time(), tzinfo=reporting_tz())
    lag = now - since
    live, missing = False, []
    if timedelta(0) < lag <= LIVE_DELTA_MAX:
        delta, missing = _delta_eur(ledger_delta(since, now), rates)
        for f, _ in FIGURES:
            sums[today][f] += delta[f]
        live = True
    figures = [
        {
            "key": f,
            "label": label,
            "today": sums[today][f],
            "yesterday": sums[yesterday][f],
            "change": _change(sums[today][f], sums[yesterday][f]),
        }
        for f, label in FIGURES
    ]
    return {
        "figures": figures,
        "as_of": now,
        "computed_at": computed_at,
        "live": live,
        "stale": computed_at is None or lag > STALE_AFTER,
        "missing_rates": sorted(set(missing)),
        "rows_without_rate": no_rate,
    }


# --- Active players ------------------------------------------------------------------------------


def active_players_now(*, now: datetime | None = None) -> int:
    """Distinct players with a game round opened or a session started in the last 15 minutes
    (one query: a UNION over two time-indexed ranges)."""
    from games.models import Round
    from players.models import PlayerSession

    since = (now or timezone.now()) - ACTIVE_WINDOW
    rounds = Round.objects.filter(opened_at__gte=since).order_by().values("player_id")
    sessions = PlayerSession.objects.filter(started_at__gte=since).order_by().values("player_id")
    return rounds.union(sessions).count()


# --- Queues --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    permission: str
    url_name: str
    query: str  # appended to the URL: the list filtered as the count is
    model: str
    filters: dict
    since_field: str


QUEUES = [
    Queue(
        "kyc",
        "KYC documents to review",
        "compliance.decide_kyc_document",
        "admin:compliance_kyc_queue",
        "",
        "compliance.KycDocument",
        {"status": "pending"},
        "uploaded_at",
    ),
    Queue(
        "withdrawals",
        "Withdrawals in review",
        "payments.review_withdrawal",
        "admin:payments_withdrawal_queue",
        "",
        "payments.Payment",
        {"kind": "withdrawal", "state__in": ["requested", "in_review"]},
        "created_at",
    ),
    Queue(
        "aml",
        "Open AML alerts",
        "compliance.view_amlalert",
        "admin:compliance_amlalert_changelist",
        "?status__exact=open",
        "compliance.AmlAlert",
        {"status": "open"},
        "created_at",
    ),
    Queue(
        "rg",
        "Open RG alerts",
        "compliance.view_rgalert",
        "admin:compliance_rgalert_changelist",
        "",
        "compliance.RgAlert",
        {"status__in": ["open", "follow_up"]},
        "created_at",
    ),
    Queue(
        "complaints",
        "Open complaints",
        "disputes.view_complaint",
        "admin:disputes_complaint_changelist",
        "?status__exact=open",
        "disputes.Complaint",
        {"status": "open"},
        "created_at",
    ),
]


def queue_list(user, *, now: datetime | None = None) -> list[dict]:
    """The queues this operator may open: count and oldest item's age, one aggregate query
    each over the queue's (status, time) index."""
    from django.apps import apps

    now = now or timezone.now()
    out = []
    for q in QUEUES:
        if not user.has_perm(q.permission):
            continue
        model = apps.get_model(q.model)
        agg = model.objects.filter(**q.filters).aggregate(n=Count("pk"), oldest=Min(q.since_field))
        out.append(
            {
                "key": q.key,
                "label": q.label,
                "count": agg["n"],
                "oldest": agg["oldest"],
                "age": (now - agg["oldest"]) if agg["oldest"] else None,
                "href": reverse(q.url_name) + q.query,
            }
        )
    return out


# --- Large events of the last hour ---------------------------------------------------------------


def _latest_rates(day: date) -> dict[str, Decimal]:
    """The latest rate per currency over the last RATE_LOOKBACK_DAYS (one query)."""
    rows = FxRate.objects.filter(date__lte=day, date__gt=day - timedelta(days=RATE_LOOKBACK_DAYS)).order_by(
        "currency", "-date"
    )
    out: dict[str, Decimal] = {}
    for cur, rate in rows.values_list("currency", "rate"):
        out.setdefault(cur, rate)
    return out


def _thresholds(eur_cents: int, rates: dict[str, Decimal]) -> dict[str, int]:
    """The threshold in each currency's minor units (rounded up)."""
    out = {fx.EUR: eur_cents}
    for cur, rate in rates.items():
        minor = Decimal(eur_cents) / 100 * rate * (10 ** exponent(cur))
        out[cur] = int(minor.to_integral_value(rounding=ROUND_CEILING))
    return out


def _above(thresholds: dict[str, int]) -> Q:
    q = Q(pk__in=[])
    for cur, minor in thresholds.items():
        q |= Q(currency=cur, amount__gte=minor)
    return q


def large_events(user, *, now: datetime | None = None) -> dict:
    """Deposits, withdrawals and wins of the last hour at or above the threshold in EUR,
    newest first, the kinds this operator may open. Three queries at most."""
    from games.models import WalletTransaction
    from payments.models import Payment

    now = now or timezone.now()
    since = now - EVENTS_WINDOW
    rates = _latest_rates(timezone.localtime(now, reporting_tz()).date())
    limit = _above(_thresholds(large_event_threshold_eur(), rates))
    events = []
    if user.has_perm("payments.view_payment"):
        payments = (
            Payment.objects.filter(created_at__gte=since)
            .filter(
                Q(kind=Payment.Kind.DEPOSIT, state=Payment.State.SUCCEEDED)
                | Q(kind=Payment.Kind.WITHDRAWAL)
                & ~Q(state__in=[Payment.State.REJECTED, Payment.State.CANCELLED, Payment.State.FAILED])
            )
            .filter(limit)
            .select_related("player")
            .order_by("-created_at")[:EVENTS_SHOWN]
        )
        for p in payments:
            events.append(
                {
                    "kind": p.get_kind_display(),
                    "at": p.created_at,
                    "amount": p.amount,
                    "currency": p.currency,
                    "player": p.player,
                    "label": p.reference,
                    "href": reverse("admin:payments_payment_change", args=[p.pk]),
                }
            )
    if user.has_perm("games.view_wallettransaction"):
        wins = (
            WalletTransaction.objects.filter(
                created_at__gte=since, kind=WalletTransaction.Kind.WIN, status="OK"
            )
            .filter(limit)
            .select_related("player", "game")
            .order_by("-created_at")[:EVENTS_SHOWN]
        )
        for w in wins:
            events.append(
                {
                    "kind": "Win",
                    "at": w.created_at,
                    "amount": w.amount,
                    "currency": w.currency,
                    "player": w.player,
                    "label": w.game.title if w.game else w.transaction_id,
                    "href": reverse("admin:games_wallettransaction_change", args=[w.pk]),
                }
            )
    events.sort(key=lambda e: e["at"], reverse=True)
    return {
        "events": events[:EVENTS_SHOWN],
        "threshold": large_event_threshold_eur(),
        # Currencies with a rate in the last RATE_LOOKBACK_DAYS: others have no threshold.
        "rated": sorted({fx.EUR, *rates}),
    }
