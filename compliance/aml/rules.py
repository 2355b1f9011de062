"""The AML rules. Each is one set-based query over the window for every player in scope
(the whole population, or the players active since the last scan's watermark), returning
findings; thresholds and windows come from AmlRuleConfig.params, never from the code.

Amounts compare in EUR minor units: each posting converts by its account's currency in
SQL, with the CDD meter's rates (compliance.kyc) until the reporting FX table exists."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from ..kyc import _EUR_PER_UNIT
from .models import Severity


@dataclass(frozen=True)
class Finding:
    player_id: int
    window_key: str
    evidence: dict
    # None: the rule's configured severity. A rule whose findings differ in weight (a PEP
    # match against a sanctions match, the grey against the black list) sets it per finding.
    severity: int | None = None


def period_key(now: datetime, days: int) -> str:
    """The start of the `days`-long period (counted from 1 Jan 1 AD) that holds `now`: one
    alert per player and period however often the scan runs inside it."""
    n = now.date().toordinal()
    return date.fromordinal(n - n % max(int(days), 1)).isoformat()


def eur(field: str = "amount", currency: str = "account__currency"):
    rate = Case(
        *[When(**{currency: c}, then=Value(r)) for c, r in _EUR_PER_UNIT.items()],
        default=Value(1.0),
        output_field=FloatField(),
    )
    return F(field) * rate


class Scope(list):
    """An incremental scan's players: their ids, sorted (what the rules filter with, as a
    literal list), and their cash accounts' ids resolved once, so the posting rules start
    from the postings' (account, created_at) index rather than matching every account's
    player against the list."""

    def __init__(self, player_ids=(), cash_accounts=()):  # Django rebuilds it from the ids
        super().__init__(player_ids)
        self.cash_accounts = list(cash_accounts)


def cash_postings(players: QuerySet | list[int] | None):
    from wallet.models import Account, Posting

    qs = Posting.objects.filter(account__kind=Account.Kind.PLAYER_CASH)
    if players is None:
        return qs
    if isinstance(players, Scope):
        return qs.filter(account_id__in=players.cash_accounts)
    return qs.filter(account__player_id__in=players)


def deposits(players: QuerySet | None, now: datetime, days: int | None):
    qs = cash_postings(players).filter(transaction__kind="deposit", amount__gt=0, created_at__lte=now)
    return qs if days is None else qs.filter(created_at__gt=now - timedelta(days=days))


class Rule:
    code: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[int] = Severity.MEDIUM
    # Cheap: evaluable for one player with one or two indexed queries, so it also runs
    # inline when that player asks for a deposit or a withdrawal (services.aml_check_player).
    cheap: ClassVar[bool] = False
    params: ClassVar[dict]  # the defaults the data migration seeds; also the accepted keys
    # The values a string parameter (or each item of a list parameter) may take.
    param_choices: ClassVar[dict[str, tuple]] = {}
    # The watermark keys (services._watermark) whose new rows can give this rule something new
    # to find: an incremental scan skips the rule when none arrived since the last scan. None:
    # it runs whenever a player is in scope (high_risk_country reads the players themselves).
    reads: ClassVar[tuple[str, ...] | None] = None

    def findings(
        self, *, params: dict, now: datetime, players: QuerySet | list[int] | None
    ) -> Iterable[Finding]:
        raise NotImplementedError


class CddThreshold(Rule):
    code, title, severity = "cdd_threshold", "CDD threshold crossed", Severity.MEDIUM
    cheap = True
    reads = ("posting_id",)
    params = {"threshold_eur": 200_000, "mode": "rolling", "window_days": 180}
    param_choices = {"mode": ("rolling", "lifetime")}

    def findings(self, *, params, now, players):
        days = params["window_days"] if params["mode"] == "rolling" else None
        rows = (
            deposits(players, now, days)
            .values("account__player_id", "account__currency")
            .annotate(total=Sum("amount"), total_eur=Sum(eur()), n=Count("id"), last=Max("created_at"))
            .filter(total_eur__gte=params["threshold_eur"])
        )
        for r in rows:
            # Crossing is once per relationship: the KYC requirement follows from it.
            yield Finding(
                r["account__player_id"],
                "crossed",
                {
                    "deposits": r["n"],
                    "total_minor": r["total"],
                    "currency": r["account__currency"],
                    "total_eur_minor": int(r["total_eur"]),
                    "threshold_eur_minor": params["threshold_eur"],
                    "window": f"{days} days" if days else "lifetime",
                    "last_deposit_at": r["last"].isoformat(),
                },
            )


class Structuring(Rule):
    code, title, severity = "structuring", "Structuring below a threshold", Severity.HIGH
    cheap = True
    reads = ("posting_id",)
    params = {"threshold_eur": 200_000, "band_pct": 15, "min_deposits": 3, "window_days": 7}

    def findings(self, *, params, now, players):
        top = params["threshold_eur"]
        floor = top * (100 - params["band_pct"]) / 100
        rows = (
            deposits(players, now, params["window_days"])
            .annotate(eur_amount=eur())
            .filter(eur_amount__gte=floor, eur_amount__lt=top)
            .values("account__player_id", "account__currency")
            .annotate(n=Count("id"), total=Sum("amount"), first=Min("created_at"), last=Max("created_at"))
            .filter(n__gte=params["min_deposits"])
        )
        for r in rows:
            yield Finding(
                r["account__player_id"],
                period_key(now, params["window_days"]),
                {
                    "deposits_just_below": r["n"],
                    "band_eur_minor": [int(floor), top],
                    "total_minor": r["total"],
                    "currency": r["account__currency"],
                    "first_at": r["first"].isoformat(),
                    "last_at": r["last"].isoformat(),
                    "window_days": params["window_days"],
                },
            )


class DepositWithdrawLittlePlay(Rule):
    code, title, severity = (
        "deposit_withdraw_little_play",
        "Deposit then withdrawal with little play",
        Severity.HIGH,
    )
    cheap = True
    reads = ("posting_id",)
    params = {"window_days": 7, "max_wager_ratio": 0.5, "min_deposit_eur": 50_000}

    def findings(self, *, params, now, players):
        since = now - timedelta(days=params["window_days"])
        dep = Q(transaction__kind="deposit", amount__gt=0)
        rows = (
            cash_postings(players)
            .filter(created_at__gt=since, created_at__lte=now)
            .filter(transaction__kind__in=["deposit", "bet", "withdrawal_request"])
            .values("account__player_id", "account__currency")
            .annotate(
                deposited=Sum("amount", filter=dep, default=0),
                deposited_eur=Sum(eur(), filter=dep, default=0.0),
                wagered=Sum("amount", filter=Q(transaction__kind="bet"), default=0),
                withdrawn=Sum("amount", filter=Q(transaction__kind="withdrawal_request"), default=0),
            )
            .filter(withdrawn__lt=0, deposited_eur__gte=params["min_deposit_eur"])
            .filter(wagered__gt=-params["max_wager_ratio"] * F("deposited"))
        )
        for r in rows:
            wagered, deposited = -r["wagered"], r["deposited"]
            yield Finding(
                r["account__player_id"],
                period_key(now, params["window_days"]),
                {
                    "deposited_minor": deposited,
                    "wagered_minor": wagered,
                    "withdrawal_requested_minor": -r["withdrawn"],
                    "currency": r["account__currency"],
                    "wager_ratio": round(wagered / deposited, 3),
                    "max_wager_ratio": params["max_wager_ratio"],
                    "window_days": params["window_days"],
                },
            )


class SharedInstrument(Rule):
    code, title, severity = "shared_instrument", "Same payment instrument on several accounts", Severity.HIGH
    reads = ("payment_method_id",)
    params = {"min_accounts": 2}

    def findings(self, *, params, now, players):
        from payments.models import PaymentMethod

        methods = PaymentMethod.objects.filter(first_used_at__lte=now)
        scoped = (
            methods
            if players is None
            else methods.filter(fingerprint__in=methods.filter(player_id__in=players).values("fingerprint"))
        )
        shared = dict(
            scoped.values("fingerprint")
            .annotate(accounts=Count("player_id", distinct=True))
            .filter(accounts__gte=params["min_accounts"])
            .values_list("fingerprint", "accounts")
        )
        rows = (
            methods.filter(fingerprint__in=list(shared))
            .values("player_id", "fingerprint")
            .annotate(type=Max("type"), last_four=Max("last_four"), first=Min("first_used_at"))
        )
        for r in rows:
            yield Finding(
                r["player_id"],
                f"fp:{r['fingerprint'][:64]}",
                {
                    "fingerprint": r["fingerprint"],
                    "instrument": f"{r['type']} ****{r['last_four']}" if r["last_four"] else r["type"],
                    "accounts_sharing": shared[r["fingerprint"]],
                    "first_used_at": r["first"].isoformat(),
                },
            )


class LargeDeposit(Rule):
    code, title, severity = "large_deposit", "Large single deposit", Severity.MEDIUM
    cheap = True
    reads = ("posting_id",)
    params = {"threshold_eur": 500_000, "window_days": 30}

    def findings(self, *, params, now, players):
        rows = (
            deposits(players, now, params["window_days"])
            .annotate(eur_amount=eur())
            .filter(eur_amount__gte=params["threshold_eur"])
            .values("account__player_id", "account__currency", "transaction_id", "amount", "created_at")
        )
        for r in rows:
            yield Finding(
                r["account__player_id"],
                f"txn:{r['transaction_id']}",
                {
                    "transaction_id": r["transaction_id"],
                    "amount_minor": r["amount"],
                    "currency": r["account__currency"],
                    "threshold_eur_minor": params["threshold_eur"],
                    "at": r["created_at"].isoformat(),
                },
            )


class LargeTotal(Rule):
    code, title, severity = "large_total", "Large deposit total over 7 days", Severity.MEDIUM
    cheap = True
    reads = ("posting_id",)
    params = {"threshold_eur": 1_000_000, "window_days": 7}

    def findings(self, *, params, now, players):
        rows = (
            deposits(players, now, params["window_days"])
            .values("account__player_id", "account__currency")
            .annotate(total=Sum("amount"), total_eur=Sum(eur()), n=Count("id"))
            .filter(total_eur__gte=params["threshold_eur"])
        )
        for r in rows:
            yield Finding(
                r["account__player_id"],
                period_key(now, params["window_days"]),
                {
                    "deposits": r["n"],
                    "total_minor": r["total"],
                    "currency": r["account__currency"],
                    "total_eur_minor": int(r["total_eur"]),
                    "threshold_eur_minor": params["threshold_eur"],
                    "window_days": params["window_days"],
                },
            )


class ManyMethods(Rule):
    code, title, severity = "many_methods", "Many payment methods in a window", Severity.LOW
    # A payment (deposit or withdrawal) moves an existing method's last_used_at.
    reads = ("payment_method_id", "payment_id")
    params = {"min_methods": 4, "window_days": 30}

    def findings(self, *, params, now, players):
        from payments.models import PaymentMethod

        qs = PaymentMethod.objects.filter(
            last_used_at__gt=now - timedelta(days=params["window_days"]), first_used_at__lte=now
        )
        if players is not None:
            qs = qs.filter(player_id__in=players)
        rows = (
            qs.values("player_id")
            .annotate(n=Count("fingerprint", distinct=True))
            .filter(n__gte=params["min_methods"])
        )
        for r in rows:
            yield Finding(
                r["player_id"],
                period_key(now, params["window_days"]),
                {"payment_methods": r["n"], "window_days": params["window_days"]},
            )


class ApproachingCdd(Rule):
    code, title, severity = "approaching_cdd", "Approaching the CDD threshold", Severity.LOW
    cheap = True
    reads = ("posting_id",)
    params = {"threshold_eur": 200_000, "approach_pct": 80, "mode": "rolling", "window_days": 180}
    param_choices = {"mode": ("rolling", "lifetime")}

    def findings(self, *, params, now, players):
        days = params["window_days"] if params["mode"] == "rolling" else None
        top = params["threshold_eur"]
        floor = top * params["approach_pct"] / 100
        rows = (
            deposits(players, now, days)
            .values("account__player_id", "account__currency")
            .annotate(total=Sum("amount"), total_eur=Sum(eur()), n=Count("id"), last=Max("created_at"))
            .filter(total_eur__gte=floor, total_eur__lt=top)
        )
        for r in rows:
            # Once per relationship, like the crossing: the warning is to collect documents early.
            yield Finding(
                r["account__player_id"],
                "approaching",
                {
                    "deposits": r["n"],
                    "total_minor": r["total"],
                    "currency": r["account__currency"],
                    "total_eur_minor": int(r["total_eur"]),
                    "threshold_eur_minor": top,
                    "approach_from_eur_minor": int(floor),
                    "pct_of_threshold": round(100 * r["total_eur"] / top, 1),
                    "window": f"{days} days" if days else "lifetime",
                    "last_deposit_at": r["last"].isoformat(),
                },
            )


class WithdrawalUnusedInstrument(Rule):
    code, title, severity = (
        "withdrawal_unused_instrument",
        "Withdrawal to an instrument never used to deposit",
        Severity.HIGH,
    )
    cheap = True
    reads = ("payment_id",)
    params = {"window_days": 30}

    def findings(self, *, params, now, players):
        from payments.models import Payment

        K, S = Payment.Kind, Payment.State
        deposited_with = Payment.objects.filter(
            player_id=OuterRef("player_id"),
            kind=K.DEPOSIT,
            state__in=[S.SUCCEEDED, S.REVERSED],
            payment_method__fingerprint=OuterRef("payment_method__fingerprint"),
        )
        qs = Payment.objects.filter(
            kind=K.WITHDRAWAL,
            state__in=[S.REQUESTED, S.IN_REVIEW, S.APPROVED, S.SENT, S.PAID],
            payment_method__isnull=False,
            created_at__gt=now - timedelta(days=params["window_days"]),
            created_at__lte=now,
        ).exclude(Exists(deposited_with))
        if players is not None:
            qs = qs.filter(player_id__in=players)
        rows = list(
            qs.values(
                "pk",
                "player_id",
                "reference",
                "amount",
                "currency",
                "state",
                "created_at",
                "payment_method__type",
                "payment_method__brand",
                "payment_method__last_four",
                "payment_method__fingerprint",
            )
        )
        # The instruments each of these players did deposit with, for the evidence (one query).
        used: dict[int, set[str]] = {}
        for pid, brand, typ, last_four in (
            Payment.objects.filter(
                player_id__in={r["player_id"] for r in rows},
                kind=K.DEPOSIT,
                state__in=[S.SUCCEEDED, S.REVERSED],
                payment_method__isnull=False,
            )
            .values_list(
                "player_id", "payment_method__brand", "payment_method__type", "payment_method__last_four"
            )
            .distinct()
        ):
            used.setdefault(pid, set()).add(_instrument(brand or typ, last_four))
        for r in rows:
            yield Finding(
                r["player_id"],
                f"wd:{r['reference']}",
                {
                    "withdrawal": r["reference"],
                    "amount_minor": r["amount"],
                    "currency": r["currency"],
                    "state": r["state"],
                    "requested_at": r["created_at"].isoformat(),
                    "instrument": _instrument(
                        r["payment_method__brand"] or r["payment_method__type"],
                        r["payment_method__last_four"],
                    ),
                    "fingerprint": r["payment_method__fingerprint"],
                    "deposited_with": sorted(used.get(r["player_id"], ())),
                },
            )


def _instrument(name: str, last_four: str) -> str:
    return f"{name} ****{last_four}" if last_four else name


def _value_key(prefix: str, value: str) -> str:
    """A natural-key part for a device id or an IP: short values as they are, long ones hashed
    (window keys are 80 characters)."""
    import hashlib

    return (
        f"{prefix}:{value}" if len(value) <= 70 else f"{prefix}#{hashlib.sha256(value.encode()).hexdigest()}"
    )


class SharedDeviceIp(Rule):
    code, title, severity = "shared_device_ip", "Same device or IP on several accounts", Severity.MEDIUM
    reads = ("session_id",)
    params = {"window_days": 30, "min_accounts_device": 2, "min_accounts_ip": 3}
    # The other accounts named in the evidence (the count is always complete).
    MAX_NAMED = 25

    def findings(self, *, params, now, players):
        from players.models import PlayerSession

        sessions = PlayerSession.objects.filter(
            started_at__gt=now - timedelta(days=params["window_days"]), started_at__lte=now
        )
        # A shared household router is common; a shared device much less: separate floors.
        for field, kind, floor in (
            ("device_id", "device", params["min_accounts_device"]),
            ("ip", "ip", params["min_accounts_ip"]),
        ):
            base = sessions.exclude(**{field: ""}) if field == "device_id" else sessions.exclude(ip=None)
            scoped = (
                base
                if players is None
                else base.filter(**{f"{field}__in": base.filter(player_id__in=players).values(field)})
            )
            shared = dict(
                scoped.values(field)
                .annotate(accounts=Count("player_id", distinct=True))
                .filter(accounts__gte=floor)
                .values_list(field, "accounts")
            )
            if not shared:
                continue
            rows = (
                base.filter(**{f"{field}__in": list(shared)})
                .values("player_id", "player__public_id", field)
                .annotate(n=Count("id"), first=Min("started_at"), last=Max("started_at"))
                .order_by(field, "player_id")
            )
            by_value: dict[str, list[dict]] = {}
            for r in rows:
                by_value.setdefault(str(r[field]), []).append(r)
            for value, accounts in by_value.items():
                for r in accounts:
                    others = [a["player__public_id"] for a in accounts if a["player_id"] != r["player_id"]]
                    yield Finding(
                        r["player_id"],
                        _value_key(kind, value),
                        {
                            "kind": kind,
                            "value": value,
                            "accounts_sharing": shared[r[field]],
                            "other_accounts": others[: self.MAX_NAMED],
                            "sessions": r["n"],
                            "first_seen_at": r["first"].isoformat(),
                            "last_seen_at": r["last"].isoformat(),
                            "window_days": params["window_days"],
                        },
                    )


class DepositVelocity(Rule):
    code, title, severity = (
        "deposit_velocity",
        "Deposit velocity above the player's own history",
        Severity.MEDIUM,
    )
    cheap = True
    reads = ("posting_id",)
    params = {
        "window_days": 7,
        "history_days": 90,
        "multiple": 5,
        "min_recent_eur": 100_000,
        "min_history_deposits": 3,
    }

    def findings(self, *, params, now, players):
        days, history = params["window_days"], params["history_days"]
        recent_from = now - timedelta(days=days)
        recent, older = Q(created_at__gt=recent_from), Q(created_at__lte=recent_from)
        rows = (
            deposits(players, now, days + history)
            .values("account__player_id", "account__currency")
            .annotate(
                recent_eur=Sum(eur(), filter=recent, default=0.0),
                recent_n=Count("id", filter=recent),
                history_eur=Sum(eur(), filter=older, default=0.0),
                history_n=Count("id", filter=older),
            )
            # Without enough history there is nothing to compare with: excluded.
            .filter(history_n__gte=params["min_history_deposits"], recent_eur__gte=params["min_recent_eur"])
            # recent per day >= multiple x history per day
            .filter(recent_eur__gte=F("history_eur") * (params["multiple"] * days / history))
        )
        for r in rows:
            per_day_recent = r["recent_eur"] / days
            per_day_history = r["history_eur"] / history
            yield Finding(
                r["account__player_id"],
                period_key(now, days),
                {
                    "recent_deposits": r["recent_n"],
                    "recent_eur_minor": int(r["recent_eur"]),
                    "recent_eur_minor_per_day": int(per_day_recent),
                    "history_deposits": r["history_n"],
                    "history_eur_minor": int(r["history_eur"]),
                    "history_eur_minor_per_day": int(per_day_history),
                    "times_usual": round(per_day_recent / per_day_history, 1) if per_day_history else None,
                    "multiple": params["multiple"],
                    "window_days": days,
                    "history_days": history,
                    "currency": r["account__currency"],
                },
            )


class DormantReactivated(Rule):
    code, title, severity = (
        "dormant_reactivated",
        "Dormant account reactivated with a large deposit",
        Severity.MEDIUM,
    )
    cheap = True
    reads = ("posting_id", "session_id")
    params = {"threshold_eur": 100_000, "dormant_days": 180, "window_days": 30, "grace_hours": 24}

    def findings(self, *, params, now, players):
        from players.models import PlayerSession
        from wallet.models import Posting

        # Quiet means no posting and no session in [deposit - dormant_days, deposit - grace):
        # the login (and small moves) just before the deposit belong to the reactivation.
        quiet_from = ExpressionWrapper(
            F("created_at") - timedelta(days=params["dormant_days"]), output_field=DateTimeField()
        )
        quiet_to = ExpressionWrapper(
            F("created_at") - timedelta(hours=params["grace_hours"]), output_field=DateTimeField()
        )
        player = OuterRef("account__player_id")
        postings = Posting.objects.filter(account__player_id=player)
        sessions = PlayerSession.objects.filter(player_id=player)
        rows = (
            deposits(players, now, params["window_days"])
            .annotate(eur_amount=eur(), quiet_from=quiet_from, quiet_to=quiet_to)
            .filter(eur_amount__gte=params["threshold_eur"], account__player__created_at__lte=F("quiet_from"))
            .exclude(
                Exists(
                    postings.filter(
                        created_at__gte=OuterRef("quiet_from"), created_at__lt=OuterRef("quiet_to")
                    )
                )
            )
            .exclude(
                Exists(
                    sessions.filter(
                        started_at__gte=OuterRef("quiet_from"), started_at__lt=OuterRef("quiet_to")
                    )
                )
            )
            .annotate(
                last_posting=Subquery(
                    postings.filter(created_at__lt=OuterRef("quiet_from"))
                    .order_by("-created_at")
                    .values("created_at")[:1]
                ),
                last_session=Subquery(
                    sessions.filter(started_at__lt=OuterRef("quiet_from"))
                    .order_by("-started_at")
                    .values("started_at")[:1]
                ),
            )
            .values(
                "account__player_id",
                "account__player__created_at",
                "account__currency",
                "transaction_id",
                "amount",
                "created_at",
                "last_posting",
                "last_session",
            )
            .order_by("created_at")
        )
        for r in rows:
            seen = [t for t in (r["last_posting"], r["last_session"]) if t is not None]
            last = max(seen) if seen else r["account__player__created_at"]
            # Keyed by the last activity before the quiet spell: several large deposits of one
            # reactivation raise one alert; a later dormancy raises a new one.
            yield Finding(
                r["account__player_id"],
                f"dormant:{last.date().isoformat()}",
                {
                    "transaction_id": r["transaction_id"],
                    "amount_minor": r["amount"],
                    "currency": r["account__currency"],
                    "deposit_at": r["created_at"].isoformat(),
                    "last_activity_at": last.isoformat() if seen else None,
                    "account_opened_at": r["account__player__created_at"].isoformat(),
                    "days_dormant": (r["created_at"] - last).days,
                    "dormant_days": params["dormant_days"],
                    "threshold_eur_minor": params["threshold_eur"],
                },
            )


class HighRiskCountryRule(Rule):
    code, title, severity = "high_risk_country", "High-risk country (FATF lists)", Severity.HIGH
    # Black list (call for action): the rule's severity; grey list: grey_severity.
    params = {"grey_severity": Severity.MEDIUM.value, "match_on": ["country", "nationality"]}
    param_choices = {"grey_severity": (1, 2, 3), "match_on": ("country", "nationality")}

    def findings(self, *, params, now, players):
        from players.models import Player

        from .models import HighRiskCountry

        listed: dict[str, HighRiskCountry] = {}
        for row in HighRiskCountry.objects.in_force(now.date()).order_by("country", "list"):
            # A country on both lists (a transition day) counts as the black list.
            if row.country not in listed or row.list == HighRiskCountry.List.CALL_FOR_ACTION:
                listed[row.country] = row
        fields = [f for f in ("country", "nationality") if f in params["match_on"]]
        if not listed or not fields:
            return
        match = Q()
        for f in fields:
            match |= Q(**{f"{f}__in": list(listed)})
        qs = Player.objects.filter(match)
        if players is not None:
            qs = qs.filter(pk__in=players)
        for pid, country, nationality in qs.values_list("pk", "country", "nationality"):
            for field, code in (("country", country), ("nationality", nationality)):
                if field not in fields or code not in listed:
                    continue
                row = listed[code]
                black = row.list == HighRiskCountry.List.CALL_FOR_ACTION
                yield Finding(
                    pid,
                    f"{row.list}:{code}:{row.effective_from.isoformat()}",
                    {
                        "country": code,
                        "matched_on": field,
                        "list": row.list,
                        "list_name": row.get_list_display(),
                        "effective_from": row.effective_from.isoformat(),
                        "source": row.source,
                        "source_url": row.source_url,
                    },
                    severity=None if black else params["grey_severity"],
                )


class SanctionsPepMatch(Rule):
    code, title, severity = "sanctions_pep_match", "Sanctions or PEP match", Severity.HIGH
    # Sanctions lists: the rule's severity; PEP: pep_severity.
    reads = ("screening_match_id",)
    params = {"pep_severity": Severity.MEDIUM.value}
    param_choices = {"pep_severity": (1, 2, 3)}

    def findings(self, *, params, now, players):
        from ..screening.models import ScreeningMatch, WatchList

        qs = ScreeningMatch.objects.filter(
            status__in=[ScreeningMatch.Status.OPEN, ScreeningMatch.Status.CONFIRMED], created_at__lte=now
        )
        if players is not None:
            qs = qs.filter(player_id__in=players)
        for m in qs.values(
            "pk",
            "player_id",
            "watchlist",
            "external_id",
            "screened_name",
            "matched_name",
            "score",
            "band",
            "status",
            "created_at",
        ):
            pep = m["watchlist"] == WatchList.PEP
            yield Finding(
                m["player_id"],
                f"match:{m['pk']}",
                {
                    "screening_match": m["pk"],
                    "list": WatchList(m["watchlist"]).label,
                    "kind": "pep" if pep else "sanctions",
                    "external_id": m["external_id"],
                    "screened_name": m["screened_name"],
                    "matched_name": m["matched_name"],
                    "score": round(m["score"], 1),
                    "band": m["band"],
                    "status": m["status"],
                    "matched_at": m["created_at"].isoformat(),
                },
                severity=params["pep_severity"] if pep else None,
            )


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        CddThreshold(),
        Structuring(),
        DepositWithdrawLittlePlay(),
        SharedInstrument(),
        LargeDeposit(),
        LargeTotal(),
        ManyMethods(),
        ApproachingCdd(),
        WithdrawalUnusedInstrument(),
        SharedDeviceIp(),
        DepositVelocity(),
        DormantReactivated(),
        HighRiskCountryRule(),
        SanctionsPepMatch(),
    )
}
