"""What keeps the incremental AML scan cheap without changing what it finds: the scope is
read once, kind by kind, as a sorted id list with the players' cash accounts; a rule runs
only when rows of a kind it reads arrived since the last scan (and still fires when they
did); a scan with nothing new runs no rule's query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.aml import services
from compliance.aml.rules import RULES, Scope
from compliance.models import AmlRuleConfig
from wallet.models import Account
from wallet.tests.factories import PlayerFactory

from .ledger import post
from .test_aml import days_ago, eur, fired, method, scan
from .test_aml_rules_more import payment, screening_match, session

pytestmark = pytest.mark.django_db

SESSION_ONLY = {"shared_device_ip"}
POSTING_RULES = {code for code, rule in RULES.items() if rule.reads and "posting_id" in rule.reads}


def _set(code: str, **params) -> None:
    config = AmlRuleConfig.objects.get(code=code)
    config.params = {**config.params, **params}
    config.save()


def test_every_rule_declares_what_it_reads_from_the_watermark_keys():
    keys = set(services._watermark())
    for code, rule in RULES.items():
        assert rule.reads is None or (rule.reads and set(rule.reads) <= keys), code
    # Only the FATF rule reads the players themselves (no watermark key): it runs on any scope.
    assert [code for code, rule in RULES.items() if rule.reads is None] == ["high_risk_country"]


def test_scope_is_the_sorted_players_with_new_rows_of_any_kind_and_their_cash_accounts():
    by_posting, by_method, by_session, by_match, by_withdrawal, quiet = PlayerFactory.create_batch(6)
    post(quiet, "deposit", eur(10), at=days_ago(3))
    card = method(by_withdrawal, "fp-w", at=days_ago(3))
    since = scan(full=True).watermark
    post(by_posting, "deposit", eur(10), at=days_ago(1))
    method(by_method, "fp-m")
    session(by_session, days_ago(1), device="dev-s")
    screening_match(by_match, "un")
    payment(by_withdrawal, "withdrawal", "requested", card, 10, days_ago(1))
    payment(quiet, "deposit", "succeeded", card, 10, days_ago(1))  # a deposit alone brings no one

    scope, n = services._scope(since, services._watermark())

    expected = sorted(p.pk for p in (by_posting, by_method, by_session, by_match, by_withdrawal))
    assert isinstance(scope, Scope) and list(scope) == expected and n == 5
    # Only the posting player has a cash account yet: the rules start from it.
    assert scope.cash_accounts == [Account.objects.get(player=by_posting, kind=Account.Kind.PLAYER_CASH).pk]


def test_scope_past_the_literal_limit_falls_back_to_the_subquery(monkeypatch):
    players = PlayerFactory.create_batch(3)
    since = scan(full=True).watermark
    for p in players:
        post(p, "deposit", eur(10), at=days_ago(1))
    monkeypatch.setattr(services, "_SCOPE_LITERAL_MAX", 2)

    scope, n = services._scope(since, services._watermark())

    assert not isinstance(scope, list) and n == 3
    assert sorted(scope.values_list("pk", flat=True)) == sorted(p.pk for p in players)


def test_a_rule_is_skipped_when_nothing_it_reads_arrived_and_runs_when_something_did():
    a, b = PlayerFactory(), PlayerFactory()
    session(a, days_ago(3), device="dev-shared")
    session(b, days_ago(2), device="dev-shared")
    _set("shared_device_ip", min_accounts_device=3)
    scan(full=True)
    assert not fired("shared_device_ip", a)
    _set("shared_device_ip", min_accounts_device=2)

    # Given only a posting since the last scan: the session rule has nothing new to read.
    post(a, "deposit", eur(10), at=days_ago(1))
    run = scan()
    assert run.players_in_scope == 1 and run.counts["shared_device_ip"] == 0
    assert not fired("shared_device_ip", a)

    # A new session: the rule runs and finds both accounts on the device.
    session(a, days_ago(1), device="dev-shared")
    run = scan()
    assert run.counts["shared_device_ip"] == 2
    assert fired("shared_device_ip", a) and fired("shared_device_ip", b)


def test_a_new_payment_alone_runs_many_methods_for_a_reused_card():
    player = PlayerFactory()
    cards = [method(player, f"fp-{i}", at=days_ago(60)) for i in range(4)]
    for card in cards[:3]:
        card.last_used_at = days_ago(2)
        card.save()
    scan(full=True)
    assert not fired("many_methods", player)
    # The fourth card used again: payments move last_used_at, no new method row.
    cards[3].last_used_at = days_ago(1)
    cards[3].save()
    payment(player, "deposit", "succeeded", cards[3], 20, days_ago(1))
    payment(player, "withdrawal", "requested", cards[3], 5, days_ago(1))

    run = scan()

    assert run.counts["many_methods"] == 1 and fired("many_methods", player)


def test_an_incremental_scan_with_only_postings_reads_no_payment_method_or_screening_table():
    player = PlayerFactory()
    scan(full=True)
    post(player, "deposit", eur(5000), at=days_ago(1))

    with CaptureQueriesContext(connection) as ctx:
        run = scan()

    assert run.counts["large_deposit"] == 1 and fired("large_deposit", player)
    # Sessions are read by dormant_reactivated (a posting rule) in its posting query.
    for table in ("payments_paymentmethod", "payments_payment", "compliance_screeningmatch"):
        # The watermark's max(id) is the only read of these tables.
        reads = [q["sql"] for q in ctx.captured_queries if f'"{table}"' in q["sql"]]
        assert reads and all(sql.startswith(f'SELECT MAX("{table}"."id")') for sql in reads), table
    assert all(run.counts[code] == 0 for code in SESSION_ONLY)


def test_an_incremental_scan_with_nothing_new_runs_no_rule():
    player = PlayerFactory()
    post(player, "deposit", eur(5000), at=days_ago(1))
    scan(full=True)

    with CaptureQueriesContext(connection) as ctx:
        run = scan()

    assert run.players_in_scope == 0 and run.alerts_created == 0
    assert set(run.counts) == set(RULES)
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert '"wallet_posting"."account_id"' not in sql and "GROUP BY" not in sql


def test_posting_rules_still_see_the_whole_window_of_a_scoped_player():
    player = PlayerFactory()
    post(player, "deposit", eur(1500), at=days_ago(100))
    scan(full=True)
    # EUR 1,500 100 days ago and 600 now cross the EUR 2,000 CDD threshold over 180 days.
    post(player, "deposit", eur(600), at=days_ago(1))

    run = scan()

    assert "cdd_threshold" in POSTING_RULES
    assert run.counts["cdd_threshold"] == 1 and fired("cdd_threshold", player)
