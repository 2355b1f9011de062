"""seed_demo: a seeded history is a ledger that verifies, written exactly as the services
write (a replay through them is recognised), reproducible, and coherent."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from demo.models import SeedRun
from demo.seed import seed_run
from demo.seed.planted import LISTED
from players.models import Player

END = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
FIGURES = ("players", "rounds", "deposits", "withdrawals", "markets", "segments", "screening_matches")


@pytest.fixture
def frozen():
    with time_machine.travel(END, tick=False):
        yield


def _seed(players: int = 250, days: int = 120, seed: int = 11, **kw):
    return seed_run(players=players, days=days, seed=seed, end=END, **kw)


@pytest.mark.django_db(transaction=True)
def test_small_seed_then_ledger_verify_passes_with_the_database_triggers_on(frozen):
    # given a seed that keeps every trigger on (the zero-sum and has-postings constraint
    # triggers fire at each flush's commit) ...
    run = _seed(players=100, days=30, fast_load=False)
    assert run.summary["bulk_load_without_row_triggers"] is False
    assert run.summary["rounds"] > 500
    # ... then the command's verification (ledger and wallet API checks) finds nothing
    call_command("ledger_verify")  # raises CommandError on any violation
    from wallet.verify import ledger_check

    report = ledger_check()
    assert report.ok and set(report.counts) >= {"zero_sum", "balance_after", "round_totals"}
    assert report.summary["transactions"] > run.summary["rounds"]


@pytest.mark.django_db(transaction=True)
def test_bulk_load_without_row_triggers_verifies_too(frozen):
    run = _seed(players=150, days=30)
    assert run.summary["bulk_load_without_row_triggers"] is True  # the test database's user is a superuser
    from wallet.verify import ledger_check

    assert ledger_check().ok
    # the triggers are back on after the load: a posting cannot be changed
    from django.db import DatabaseError, transaction

    from wallet.models import Posting

    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.filter(pk=Posting.objects.order_by("id").values("id")[:1]).update(amount=1)


@pytest.mark.django_db
def test_seeded_rows_are_what_the_services_write(frozen):
    # A replay through transaction_post with the same content is recognised as the same
    # transaction: same idempotency key and same request hash as the service computes.
    from wallet.models import Posting, Transaction
    from wallet.services import Leg, transaction_post

    _seed(players=60, days=20)
    for kind in ("deposit", "bet", "win", "withdrawal_request", "rollback"):
        txn = Transaction.objects.filter(kind=kind, idempotency_key__contains=":").order_by("id").first()
        if txn is None and kind == "rollback":
            continue  # rollbacks are rare (0.1% of rounds)
        postings = Posting.objects.filter(transaction=txn).select_related("account").order_by("id")
        replay = transaction_post(
            kind=kind,
            idempotency_key=txn.idempotency_key,
            legs=[Leg(p.account, p.amount) for p in postings],
            reference=txn.reference,
            reverses=txn.reverses,
        )
        assert replay.replayed and replay.pk == txn.pk, kind


@pytest.mark.django_db
def test_same_seed_gives_the_same_history(frozen):
    first, second = _seed(players=80, days=45, seed=5), _seed(players=80, days=45, seed=5)
    other = _seed(players=80, days=45, seed=6)
    assert {k: first.summary[k] for k in FIGURES} == {k: second.summary[k] for k in FIGURES}
    assert first.summary["rounds"] != other.summary["rounds"]
    assert (
        Player.objects.values("email").exclude(email="").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    )


@pytest.mark.django_db
def test_history_is_coherent(frozen):
    from compliance.kyc import cdd_meter
    from compliance.models import Exclusion, KycProfile
    from games.models import Round
    from payments.models import Payment

    run = _seed(players=220, days=120)
    s = run.summary
    # Value segments: a VIP deposits more than a regular, who deposits more than a casual.
    avg = {n: v["deposited_eur_minor"] / max(v["depositors"], 1) for n, v in s["segments"].items()}
    assert avg["vip"] > 3 * avg["regular"] > 3 * avg["casual"] > 0
    # The summary's figures are the database's.
    assert Payment.objects.filter(kind="deposit", state="succeeded").count() == s["deposits"]
    assert Round.objects.count() == s["rounds"]
    # Every provider takes deposits, some fail, and Pay N Play is a registration channel.
    credited = Payment.objects.filter(kind="deposit", state="succeeded")
    assert set(credited.values_list("provider", flat=True)) == {
        "adyen",
        "trustly",
        "zimpler",
        "nuvei",
        "payz",
    }
    assert Payment.objects.filter(kind="deposit", state="failed").exists()
    assert Player.objects.filter(registration_channel="pay_n_play", jurisdiction__in=["SE", "FI"]).exists()
    assert not Player.objects.filter(registration_channel="pay_n_play").exclude(jurisdiction__in=["SE", "FI"])
    # Retention decays: of the players who played in their first week, fewer play in
    # weeks 5-8 and fewer still in weeks 9-12.
    first_round = {}
    weeks = defaultdict(set)
    start = END - timedelta(days=120)
    for player_id, created, opened in Round.objects.filter(
        player__created_at__lt=END - timedelta(days=84)
    ).values_list("player_id", "player__created_at", "opened_at"):
        if created < start:
            continue
        first_round.setdefault(player_id, created)
        weeks[(opened - created).days // 7].add(player_id)
    early = weeks[0]
    mid = early & set().union(*(weeks[w] for w in range(4, 8)))
    late = early & set().union(*(weeks[w] for w in range(8, 12)))
    assert len(early) > len(mid) > len(late) > 0
    # KYC follows the CDD meter: every player over the threshold has a full-verification
    # requirement (most have met it); nobody under it has one.
    heavy = (
        Payment.objects.filter(kind="deposit", state="succeeded")
        .values("player_id")
        .annotate(total=Sum("amount"))
        .filter(total__gte=150_000)
    )
    crossed = [
        p
        for p in Player.objects.filter(pk__in=[h["player_id"] for h in heavy])
        if cdd_meter(p, END)["crossed"]
    ]
    assert crossed
    profiles = {k.player_id: k for k in KycProfile.objects.filter(player__in=crossed)}
    assert all(profiles[p.pk].required_level >= 2 for p in crossed)
    assert sum(profiles[p.pk].level >= 2 for p in crossed) >= len(crossed) // 2
    assert not KycProfile.objects.filter(required_level__gt=0).exclude(player__in=crossed).exists()
    # Self-exclusions exist, and nobody plays while excluded.
    exclusions = list(Exclusion.objects.all())
    assert any(e.kind == "self_exclusion" for e in exclusions)
    for e in exclusions:
        during = Round.objects.filter(player_id=e.player_id, opened_at__gte=e.starts_at)
        if e.ends_at is not None:
            during = during.filter(opened_at__lt=e.ends_at)
        assert not during.exists(), e
    # Nothing happens after the end of the history ("now").
    from players.models import PlayerSession
    from wallet.models import Posting

    assert not Posting.objects.filter(created_at__gt=END).exists()
    assert not Round.objects.filter(opened_at__gt=END).exists()
    assert not PlayerSession.objects.filter(ended_at__gt=END).exists()
    assert not Payment.objects.filter(state_changed_at__gt=END).exists()
    # Markets that require a deposit limit and verified identity before play have them.
    from compliance.models import PlayerLimit

    se_de = Player.objects.filter(jurisdiction__in=["SE", "DE"])
    assert (
        se_de.count() == PlayerLimit.objects.filter(player__in=se_de, kind="deposit", status="active").count()
    )
    players_with_rounds = Round.objects.filter(player__jurisdiction__in=["SE", "GB", "DE"]).values(
        "player_id"
    )
    assert not KycProfile.objects.filter(player__in=players_with_rounds, level=0).exists()


@pytest.mark.django_db
def test_planted_cases_make_the_aml_rules_fire(frozen):
    from compliance.aml.models import AmlAlert
    from compliance.aml.rules import RULES
    from compliance.aml.services import aml_scan_run
    from compliance.screening.models import ScreeningMatch

    run = _seed(players=40, days=30)
    aml_scan_run(full=True, now=END)
    planted = defaultdict(set)
    for rule, public_id in run.summary["planted"]:
        planted[rule].add(public_id)
    fired = defaultdict(set)
    for rule, public_id in AmlAlert.objects.values_list("rule", "player__public_id"):
        fired[rule].add(public_id)
    # Every rule in the code today fires for the players planted for it.
    checked = [code for code in RULES if code in planted]
    assert {"cdd_threshold", "structuring", "shared_instrument", "large_total", "many_methods"} <= set(
        checked
    )
    for code in checked:
        assert planted[code] <= fired[code], code
    # Players named like listed persons are matched; the sanctions matches hold them.
    names = Q()
    for _list, first, last, *_rest in LISTED:
        names |= Q(player__first_name=first, player__last_name=last)
    matches = ScreeningMatch.objects.filter(names)
    assert {m.watchlist for m in matches} == {"ofac_sdn", "pep"}
    assert all(m.freezes for m in matches if m.watchlist == "ofac_sdn")


@pytest.mark.django_db
def test_if_empty_seeds_once(frozen):
    call_command("seed_demo", "--players", "30", "--days", "10", "--if-empty")
    players = Player.objects.count()
    call_command("seed_demo", "--players", "30", "--days", "10", "--if-empty")
    assert SeedRun.objects.count() == 1
    assert Player.objects.count() == players > 30


@pytest.mark.django_db
def test_bad_sizes_are_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--players", "0")
    assert not SeedRun.objects.exists() and not Player.objects.exists()


@pytest.mark.django_db
def test_refuses_outside_demo_environments_unless_told(settings):
    from django.core.management.base import CommandError

    settings.DEBUG, settings.PITBOSS_ENVIRONMENT = False, "production"
    with pytest.raises(CommandError, match="it is 'production'"):
        call_command("seed_demo", "--players", "30", "--days", "10")
    assert not SeedRun.objects.exists() and not Player.objects.exists()
    # The explicit flag passes the environment check (and meets the next one: real players).
    Player.objects.create(jurisdiction="MT", currency="EUR", email="jane@gmail.com")
    with pytest.raises(CommandError, match="1 player"):
        call_command("seed_demo", "--players", "30", "--days", "10", "--i-know-this-is-not-production")
    assert not SeedRun.objects.exists()


@pytest.mark.django_db
def test_refuses_a_database_with_players_no_demo_loader_created(settings):
    from django.core.management.base import CommandError

    settings.PITBOSS_ENVIRONMENT = "demo"
    Player.objects.create(jurisdiction="MT", currency="EUR", email="demo1@example.com")  # load_demo's
    Player.objects.create(jurisdiction="SE", currency="SEK", email="")  # a Pay N Play player
    Player.objects.create(jurisdiction="MT", currency="EUR", email="real.person@corp.mt")
    with pytest.raises(
        CommandError, match=r"1 player\(s\) that no demo loader created \(e.g. real.person@corp.mt\)"
    ):
        call_command("seed_demo", "--players", "30", "--days", "10", "--if-empty")
    assert not SeedRun.objects.exists() and Player.objects.count() == 3
