"""The AML rules. Each is one set-based query over the window for every player in scope
(the whole population, or the players active since the last scan's watermark), returning
findings; thresholds and windows come from AmlRuleConfig.params, never from the code.

Amounts compare in EUR minor units: each posting converts by its account's currency in
SQL, with the CDD meter's rates (compliance.kyc) until the reporting FX table exists."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

from django.db.models import Case, Count, F, FloatField, Max, Min, Q, QuerySet, Sum, Value, When

from ..kyc import _EUR_PER_UNIT
from .models import Severity


@dataclass(frozen=True)
class Finding:
    player_id: int
    window_key: str
    evidence: dict


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


def cash_postings(players: QuerySet | None):
    from wallet.models import Account, Posting

    qs = Posting.objects.filter(account__kind=Account.Kind.PLAYER_CASH)
    return qs if players is None else qs.filter(account__player_id__in=players)


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

    def findings(self, *, params: dict, now: datetime, players: QuerySet | None) -> Iterable[Finding]:
        raise NotImplementedError


class CddThreshold(Rule):
    code, title, severity = "cdd_threshold", "CDD threshold crossed", Severity.MEDIUM
    cheap = True
    params = {"threshold_eur": 200_000, "mode": "rolling", "window_days": 180}

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
    )
}
