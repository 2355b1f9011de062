"""The live dashboard (reports/dashboard.py and dashboard_figures.py): today against
yesterday at the same time from the rollups plus the minutes since their last run, money
figures only for the roles that may see them, queues per role with their oldest item's age,
large events, the 30-day SVG charts, the fragments htmx polls (403 without the tile's
permission), a query count that does not grow with the data, and in the browser a tile
that refreshes itself."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import Page, expect

from compliance.models import AmlAlert, KycDocument, RgAlert
from disputes.models import Complaint
from games.models import WalletTransaction
from games.services import provider_create
from payments.models import Payment
from reports import dashboard_figures, rollups
from reports.models import FxRate
from wallet.models import Account, Transaction
from wallet.services import Leg, player_accounts_ensure, transaction_post
from wallet.tests import factories as wf

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
TODAY, YESTERDAY = date(2026, 3, 10), date(2026, 3, 9)


def at(t: datetime) -> time_machine.travel:
    return time_machine.travel(t, tick=False)


def win(player, amount: int) -> None:
    cash = player_accounts_ensure(player)[Account.Kind.PLAYER_CASH]
    transaction_post(
        kind=Transaction.Kind.WIN,
        idempotency_key=wf.key("win"),
        legs=[Leg(cash, amount), Leg(wf.provider(player.currency), -amount)],
    )


def _kyc(player, uploaded_at) -> KycDocument:
    return KycDocument.objects.create(
        player=player,
        document_type="passport",
        storage_name="x",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        uploaded_via="test",
        uploaded_at=uploaded_at,
    )


def _queues(player, now: datetime) -> None:
    """One item in each queue, the oldest two days old."""
    _kyc(player, now - timedelta(days=2))
    Payment.objects.create(
        kind="withdrawal", player=player, provider="adyen", amount=5_000, currency="EUR", state="in_review"
    )
    AmlAlert.objects.create(player=player, rule="large_deposit", window_key=f"t:{player.pk}", created_at=now)
    RgAlert.objects.create(
        player=player, marker="night_play", window_start=TODAY, window_end=TODAY, created_at=now
    )
    Complaint.objects.create(player=player, category="game", subject="Spin", body="b", channel="email")


def _world(n_players: int = 1) -> None:
    """Yesterday: deposits of 100.00 at 10:00 and 60.00 at 14:10 (half of it before 14:30),
    500.00 at 16:00 (after the same time); bets 40.00, a win of 10.00. Today: a deposit of
    200.00 and a bet of 50.00 at 09:00; the rollups run at 14:27; a deposit of 10.00 at
    14:28 is only on the ledger."""
    players = []
    with at(datetime(2026, 3, 9, 9, tzinfo=UTC)):
        players = [wf.PlayerFactory() for _ in range(n_players)]
    p = players[0]
    with at(datetime(2026, 3, 9, 10, tzinfo=UTC)):
        wf.fund(p, 10_000)
        wf.bet(p, 4_000)
        win(p, 1_000)
    with at(datetime(2026, 3, 9, 14, 10, tzinfo=UTC)):
        wf.fund(p, 6_000)
    with at(datetime(2026, 3, 9, 16, tzinfo=UTC)):
        wf.fund(p, 50_000)
    with at(datetime(2026, 3, 10, 9, tzinfo=UTC)):
        wf.fund(p, 20_000)
        wf.bet(p, 5_000)
        for extra in players[1:]:  # the larger world: more players, same totals' shape
            wf.fund(extra, 1_000)
            wf.bet(extra, 100)
    with at(datetime(2026, 3, 10, 14, 27, tzinfo=UTC)):
        rollups.rollup_rebuild(day_from=YESTERDAY - timedelta(days=3), day_to=TODAY)
    with at(datetime(2026, 3, 10, 14, 28, tzinfo=UTC)):
        wf.fund(p, 1_000)
    for extra in players[1:]:
        _queues(extra, NOW)


@pytest.mark.django_db
def test_today_against_yesterday_at_the_same_time():
    _world()
    with at(NOW):
        t = dashboard_figures.today_figures()
    figures = {f["key"]: f for f in t["figures"]}
    # Today: the rollup (200.00) plus the ledger's 10.00 since it ran; yesterday: 100.00 and
    # half of 14:00-15:00's 60.00; 16:00 is after the same time.
    assert (figures["deposits_amount"]["today"], figures["deposits_amount"]["yesterday"]) == (21_000, 13_000)
    assert figures["deposits_amount"]["change"] == 61.5
    assert (figures["ggr"]["today"], figures["ggr"]["yesterday"], figures["ggr"]["change"]) == (
        5_000,
        3_000,
        66.7,
    )
    assert figures["ngr"]["today"] == 5_000 and figures["withdrawals_amount"]["change"] is None
    assert t["live"] and not t["stale"]
    assert t["computed_at"] == datetime(2026, 3, 10, 14, 27, tzinfo=UTC)


@pytest.mark.django_db
def test_a_rollup_that_stopped_is_reported_stale_and_not_patched_from_the_ledger():
    _world()
    with at(NOW + timedelta(minutes=30)):
        t = dashboard_figures.today_figures()
    deposits = next(f for f in t["figures"] if f["key"] == "deposits_amount")
    assert deposits["today"] == 20_000  # the 14:28 deposit waits for the rollup
    assert t["stale"] and not t["live"]


@pytest.mark.django_db
def test_the_live_delta_converts_other_currencies_at_the_rollups_rate():
    FxRate.objects.create(date=YESTERDAY, currency="SEK", rate=Decimal("10"), source="test")
    with at(datetime(2026, 3, 10, 9, tzinfo=UTC)):
        p = wf.PlayerFactory(currency="SEK")
        wf.fund(p, 100_000)  # SEK 1,000.00 = EUR 100.00
    with at(datetime(2026, 3, 10, 14, 20, tzinfo=UTC)):
        rollups.rollup_day(TODAY)
    with at(datetime(2026, 3, 10, 14, 25, tzinfo=UTC)):
        wf.fund(p, 50_000)
    with at(NOW):
        t = dashboard_figures.today_figures()
    assert next(f for f in t["figures"] if f["key"] == "deposits_amount")["today"] == 15_000
    assert t["missing_rates"] == []


@pytest.mark.django_db
def test_finance_sees_the_money_and_support_only_its_queues(client, operators):
    _world()
    player = wf.PlayerFactory()
    with at(NOW):
        _queues(player, NOW)
    amounts = ["EUR 210.00", "EUR 130.00", "EUR 50.00", "EUR 30.00"]

    client.force_login(operators["finance"])
    with at(NOW):
        html = client.get(reverse("admin:index")).content.decode()
    for amount in amounts:
        assert amount in html
    assert 'data-testid="today-deposits_amount-change">+61.5%' in html
    assert 'data-testid="queue-withdrawals"' in html and 'data-testid="queue-kyc"' not in html
    assert html.count("<svg") >= 3 and "GGR per day (EUR)" in html

    client.force_login(operators["support"])
    with at(NOW):
        html = client.get(reverse("admin:index")).content.decode()
    for amount in amounts:
        assert amount not in html
    for hidden in ("tile-today", "tile-events", "tile-charts", "queue-kyc", "queue-withdrawals", "queue-aml"):
        assert f'data-testid="{hidden}"' not in html
    assert 'data-testid="tile-active"' in html
    assert 'data-testid="queue-rg-count">1<' in html and 'data-testid="queue-complaints-count">1<' in html

    client.force_login(operators["compliance"])
    with at(NOW):
        html = client.get(reverse("admin:index")).content.decode()
    assert 'data-testid="queue-kyc-count">1<' in html and 'data-testid="queue-aml-count">1<' in html
    assert 'data-testid="queue-kyc-age">oldest 2\xa0days<' in html
    assert "EUR 210.00" in html  # compliance reads the money figures (regulatory returns)


@pytest.mark.django_db
def test_fragments_answer_403_without_the_tiles_permission(client, operators):
    fragments = {k: reverse(f"admin:reports_dashboard_{k}") for k in ("today", "events", "charts")}
    for who in ("support", "marketing"):
        client.force_login(operators[who])
        for key, url in fragments.items():
            assert client.get(url).status_code == 403, (who, key)
    client.force_login(operators["finance"])
    for url in fragments.values():
        assert client.get(url).status_code == 200
    r = client.get(reverse("admin:reports_dashboard_today"), HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 30s"' in r.content and b"<html" not in r.content
    # Queues and active players: every operator; marketing has no queue, so an empty tile.
    client.force_login(operators["marketing"])
    assert client.get(reverse("admin:reports_dashboard_queues")).content.strip() == b""
    assert client.get(reverse("admin:reports_dashboard_active")).status_code == 200


@pytest.mark.django_db
def test_large_events_of_the_last_hour_above_the_threshold_in_eur(client, operators, settings):
    settings.DASHBOARD_LARGE_EVENT_EUR = 1_000
    FxRate.objects.create(date=YESTERDAY, currency="SEK", rate=Decimal("11"), source="test")
    eur, sek = wf.PlayerFactory(), wf.PlayerFactory(currency="SEK")
    provider, _secret = provider_create(code="northlight", name="Northlight")

    def pay(player, kind, amount, state, minutes_ago):
        return Payment.objects.create(
            kind=kind,
            player=player,
            provider="adyen",
            amount=amount,
            currency=player.currency,
            state=state,
            created_at=NOW - timedelta(minutes=minutes_ago),
        )

    big = pay(eur, "deposit", 150_000, "succeeded", 5)
    pay(eur, "deposit", 99_999, "succeeded", 5)  # below
    pay(eur, "deposit", 500_000, "failed", 5)  # never credited
    pay(eur, "deposit", 500_000, "succeeded", 90)  # before the hour
    sek_out = pay(sek, "withdrawal", 1_100_000, "in_review", 10)  # SEK 11,000 = EUR 1,000
    pay(sek, "withdrawal", 1_099_999, "in_review", 10)
    WalletTransaction.objects.create(
        provider=provider,
        transaction_id="w1",
        kind="win",
        status="OK",
        player=eur,
        amount=250_000,
        currency="EUR",
        created_at=NOW - timedelta(minutes=1),
    )
    client.force_login(operators["finance"])
    with at(NOW):
        events = dashboard_figures.large_events(operators["finance"])["events"]
        html = client.get(reverse("admin:reports_dashboard_events")).content.decode()
    assert [(e["kind"], e["amount"]) for e in events] == [
        ("Win", 250_000),
        ("Deposit", 150_000),
        ("Withdrawal", 1_100_000),
    ]
    assert big.reference in html and sek_out.reference in html and "SEK 11,000.00" in html
    # Compliance sees payments and wins too; the tile is not support's.
    with at(NOW):
        assert len(dashboard_figures.large_events(operators["compliance"])["events"]) == 3
    client.force_login(operators["support"])
    assert client.get(reverse("admin:reports_dashboard_events")).status_code == 403


@pytest.mark.django_db
def test_active_players_now_counts_rounds_and_sessions_of_the_last_15_minutes():
    from games.models import Game, Round
    from players.models import PlayerSession

    provider, _secret = provider_create(code="northlight", name="Northlight")
    game = Game.objects.create(
        provider=provider,
        external_code="g",
        code="northlight:g",
        title="G",
        category="slots",
        rtp="96.00",
        markets=["MT"],
    )
    a, b, c, d = (wf.PlayerFactory() for _ in range(4))
    for player, minutes in ((a, 1), (a, 3), (b, 14), (d, 16)):
        Round.objects.create(
            provider=provider,
            external_id=f"r{player.pk}-{minutes}",
            player=player,
            game=game,
            currency="EUR",
            opened_at=NOW - timedelta(minutes=minutes),
        )
    PlayerSession.objects.create(player=a, started_at=NOW - timedelta(minutes=2))
    PlayerSession.objects.create(player=c, started_at=NOW - timedelta(minutes=5))
    PlayerSession.objects.create(player=d, started_at=NOW - timedelta(minutes=40))
    assert dashboard_figures.active_players_now(now=NOW) == 3  # a, b, c


def _index_queries(client) -> int:
    client.get(reverse("admin:index"))  # the session's one-off second-factor check
    with at(NOW), CaptureQueriesContext(connection) as ctx:
        r = client.get(reverse("admin:index"))
    assert r.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_dashboard_runs_a_fixed_number_of_queries_whatever_the_data_size(client, operators):
    client.force_login(operators["admin"])
    _world(n_players=1)
    small = _index_queries(client)
    _world(n_players=25)  # more players, postings, rollup rows, queue items
    assert _index_queries(client) == small
    assert small <= 25


# --- In the browser ------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_tile_refreshes_itself_without_reloading_the_page(page: Page, live_server, operators, settings):
    from tests.e2e.test_approvals import sign_in

    settings.DASHBOARD_REFRESH_SECONDS = 1
    player = wf.PlayerFactory()
    wf.fund(player, 10_000)
    rollups.rollup_day(rollups.local_today())

    sign_in(page, live_server.url, "finance@pitboss.test")
    cell = page.get_by_test_id("today-deposits_amount-today")
    expect(cell).to_have_text("EUR 100.00")
    page.evaluate("window.__sameDocument = true")

    wf.fund(player, 5_000)
    rollups.rollup_day(rollups.local_today())
    expect(cell).to_have_text("EUR 150.00", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, not reloaded
    assert Client().get(reverse("admin:reports_dashboard_today")).status_code == 302  # signed out: sign in
