"""The rounds screens of the console: the rounds search (search, filters), the round's page
(each wallet call and the ledger postings), the per-game figures, the player page's Game
rounds tab; who may see them; fixed query counts. Data comes through the signed wallet
API (games/tests/aggregator.py), so rounds, calls and postings are as in production."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.models import AuditEvent
from games import selectors
from games.admin_rounds import rounds_tab_context
from games.models import Game, Round
from games.sessions import game_session_start
from players.models import Player

from .aggregator import World, credit, make_world, tx

pytestmark = pytest.mark.django_db

ROUNDS = reverse("admin:games_round_changelist")
FIGURES = reverse("admin:games_figures")


@pytest.fixture
def w(client):
    return make_world(client, cash=1_000_000)


def _play(w: World, round_id: str, bet: int, win: int | None = None) -> str:
    """A bet, then (unless win is None) a win that closes the round. The bet's id."""
    bet_id = tx()
    assert w.bet(bet, txid=bet_id, round_id=round_id)["status"] == "OK"
    if win is not None:
        assert w.win(win, bet_id, round_id=round_id, round_closed=True)["status"] == "OK"
    return bet_id


def _other_player(w: World, *, game: Game | None = None, email: str = "") -> World:
    """A second funded player (optionally in another game) with the same aggregator."""
    p = Player.objects.create(
        jurisdiction="MT", currency="EUR", first_name="Bo", last_name="Reel", email=email or ""
    )
    credit(p, 1_000_000)
    game = game or w.game
    session = game_session_start(player_id=p.pk, game_code=game.code, started_via="api:test")
    return World(w.agg, w.provider, game, p, session)


def _second_game(w: World) -> Game:
    return Game.objects.create(
        provider=w.provider,
        external_code="aurora",
        code=Game.code_for(w.provider.code, "aurora"),
        title="Aurora Gems",
        category="slots",
        rtp="96.70",
        markets=["MT"],
    )


def _in_game(w: World, game: Game) -> World:
    session = game_session_start(player_id=w.player.pk, game_code=game.code, started_via="api:test")
    return World(w.agg, w.provider, game, w.player, session)


def _rows(html: str) -> int:
    return html.count('class="field-external_id')


def _queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return len(ctx.captured_queries), r.content.decode()


# --- rounds search ------------------------------------------------------------------------------


def test_rounds_search_finds_a_round_by_its_id_and_by_the_player(client, operators, w):
    _play(w, "round-aaa-1", 100, 50)
    _play(w, "round-aaa-2", 200)
    other = _other_player(w, email="bo.reel@example.com")
    _play(other, "round-bbb-1", 300, 0)
    client.force_login(operators["support"])

    html = client.get(ROUNDS, {"q": "round-aaa-2"}).content.decode()
    assert _rows(html) == 1 and "round-aaa-2" in html and "EUR 2.00" in html
    # Exact, never a substring: a pasted id matches that round only.
    assert _rows(client.get(ROUNDS, {"q": "round-aaa"}).content.decode()) == 0
    # The player's public id (pasted in any case) or email lists that player's rounds.
    html = client.get(ROUNDS, {"q": w.player.public_id.lower()}).content.decode()
    assert _rows(html) == 2 and "round-bbb-1" not in html
    html = client.get(ROUNDS, {"q": " Bo.Reel@Example.com "}).content.decode()
    assert _rows(html) == 1 and "round-bbb-1" in html
    # Each row links the player page and shows bet, win, net and the state.
    html = client.get(ROUNDS).content.decode()
    assert _rows(html) == 3
    assert reverse("admin:players_player_change", args=[other.player.pk]) in html
    assert "EUR 3.00" in html and "Closed" in html and "Open" in html


def test_rounds_filters_by_provider_game_currency_date_and_state(client, operators, w):
    _play(w, "r-closed", 100, 0)
    _play(w, "r-open", 100)
    _play(_in_game(w, _second_game(w)), "r-aurora", 100, 300)
    other = make_world(client, code="bluefox").provider
    client.force_login(operators["finance"])
    today = timezone.localdate()

    def ids(**params) -> set[str]:
        qs = Round.objects.all()
        html = client.get(ROUNDS, params).content.decode()
        return {r.external_id for r in qs if f">{r.external_id}<" in html}

    aurora = Game.objects.get(external_code="aurora")
    assert ids() == {"r-closed", "r-open", "r-aurora"}
    assert ids(game__id__exact=aurora.pk) == {"r-aurora"}
    assert ids(provider__id__exact=w.provider.pk) == {"r-closed", "r-open", "r-aurora"}
    assert ids(provider__id__exact=other.pk) == set()
    assert ids(currency="EUR") == {"r-closed", "r-open", "r-aurora"}
    assert ids(currency="SEK") == set()
    assert ids(state="open") == {"r-open"}
    assert ids(state="closed") == {"r-closed", "r-aurora"}
    # The "to" day is included; yesterday's rounds are not today's.
    assert ids(opened_at_from=str(today), opened_at_to=str(today)) == {"r-closed", "r-open", "r-aurora"}
    yesterday = str(today - timedelta(days=1))
    assert ids(opened_at_from=yesterday, opened_at_to=yesterday) == set()
    # The date picker writes the operator's format, day first.
    day_first = today.strftime("%d/%m/%Y")
    assert ids(opened_at_from=day_first, opened_at_to=day_first) == {"r-closed", "r-open", "r-aurora"}
    assert ids(opened_at_from="not a date") == set()


@pytest.fixture
def make_rounds(w):
    made = [0]

    def make(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            _play(w, f"q-{made[0]}", 100, 40 if made[0] % 2 else None)

    return make


def test_rounds_list_query_count_does_not_grow_with_rows(client, operators, w, make_rounds):
    client.force_login(operators["support"])
    make_rounds(3)
    urls = [ROUNDS, f"{ROUNDS}?q={w.player.public_id}", f"{ROUNDS}?state=closed&game__id__exact={w.game.pk}"]
    client.get(ROUNDS)  # warms the operator's permission cache
    few = [_queries(client, u) for u in urls]
    make_rounds(27)
    many = [_queries(client, u) for u in urls]
    assert [n for n, _ in few] == [n for n, _ in many]
    assert max(n for n, _ in many) <= 14  # session, permissions, filter choices, the page
    assert _rows(few[0][1]) == 3 and _rows(many[0][1]) == 30


# --- the round's page ---------------------------------------------------------------------------


def _round_page(client, rnd: Round) -> str:
    r = client.get(reverse("admin:games_round_change", args=[rnd.pk]))
    assert r.status_code == 200
    return r.content.decode()


def test_round_page_shows_each_wallet_call_and_the_ledger_postings(client, operators, w):
    bet_id = tx()
    w.bet(250, txid=bet_id, round_id="r-page")
    win_id = tx()
    w.win(600, bet_id, txid=win_id, round_id="r-page", round_closed=True)
    rnd = Round.objects.get(external_id="r-page")
    client.force_login(operators["support"])
    html = _round_page(client, rnd)

    assert html.count('data-testid="round-call"') == 2
    assert bet_id in html and win_id in html
    assert 'data-kind="bet"' in html and 'data-kind="win"' in html
    assert "EUR 2.50" in html and "EUR 6.00" in html and "EUR -3.50" in html  # bet, win, net
    # Request and answer, indented; the session token (a credential) is never shown.
    assert "&quot;round_id&quot;: &quot;r-page&quot;" in html
    assert "&quot;status&quot;: &quot;OK&quot;" in html
    assert w.session.token not in html
    # Two postings per call: the player's cash against the provider's house account.
    assert html.count('data-testid="round-posting"') == 4
    assert "House: game provider" in html and "Player cash" in html
    # Support does not read the ledger itself: transaction numbers are not links.
    assert (
        reverse(
            "admin:wallet_transaction_change", args=[rnd.wallet_transactions.first().ledger_transaction_id]
        )
        not in html
    )
    client.force_login(operators["finance"])
    html = _round_page(client, rnd)
    assert (
        reverse(
            "admin:wallet_transaction_change", args=[rnd.wallet_transactions.first().ledger_transaction_id]
        )
        in html
    )


def test_round_page_shows_a_rollback_and_its_reversing_postings(client, operators, w):
    bet_id = _play(w, "r-rolled", 400)
    assert w.rollback(bet_id)["status"] == "OK"
    rnd = Round.objects.get(external_id="r-rolled")
    client.force_login(operators["risk"])
    html = _round_page(client, rnd)
    assert 'data-kind="rollback"' in html and html.count('data-testid="round-call"') == 2
    assert html.count('data-testid="round-posting"') == 4
    assert "EUR -4.00" in html and "EUR 4.00" in html


def test_round_page_runs_a_fixed_number_of_queries(client, operators, w):
    short = Round.objects.get(pk=_round(w, "r-short", bets=1))
    long = Round.objects.get(pk=_round(w, "r-long", bets=6))
    client.force_login(operators["finance"])
    _round_page(client, short)
    n_short, html_short = _queries(client, reverse("admin:games_round_change", args=[short.pk]))
    n_long, html_long = _queries(client, reverse("admin:games_round_change", args=[long.pk]))
    assert html_short.count('data-testid="round-call"') == 2
    assert html_long.count('data-testid="round-call"') == 7
    assert n_short == n_long <= 14, (n_short, n_long)


def _round(w: World, round_id: str, *, bets: int) -> int:
    first = None
    for _ in range(bets):
        bet_id = tx()
        first = first or bet_id
        assert w.bet(100, txid=bet_id, round_id=round_id)["status"] == "OK"
    assert w.win(150, first, round_id=round_id, round_closed=True)["status"] == "OK"
    return Round.objects.get(external_id=round_id).pk


# --- per-game figures ---------------------------------------------------------------------------


@pytest.fixture
def figures_world(client, w):
    """A known month: in Frost Reels, Ada wins 25.00 on a 10.00 bet and loses 5.00; a
        3.00 bet is rolled back (not a round); Bo bets 2.00 and wins 1.00. In Aurora Gems Ada
        gets a free spin (no bet) that wins 1.50. And in 40 days (always a later month), a round
    of another provider that this month's figures leave out."""
    with time_machine.travel(timezone.now() + timedelta(days=40)):
        later = make_world(client, cash=100_000, code="laterco")
        _play(later, "r-later", 999, 0)
    _play(w, "f-1", 1000, 2500)
    _play(w, "f-2", 500, 0)
    rolled = _play(w, "f-3", 300)
    assert w.rollback(rolled)["status"] == "OK"
    _play(_other_player(w), "f-4", 200, 100)
    _play(_in_game(w, _second_game(w)), "f-5", 0, 150)
    return w


def test_figures_per_game_for_a_known_data_set(figures_world):
    today = timezone.localdate()
    rows = selectors.game_figures(date_from=today.replace(day=1), date_to=today)
    by_game = {r.game_title: r for r in rows}
    assert set(by_game) == {"Frost Reels", "Aurora Gems"}
    frost = by_game["Frost Reels"]
    assert (frost.bets, frost.wins, frost.rounds, frost.players) == (1700, 2600, 3, 2)
    assert frost.ggr == -900
    assert str(frost.actual_rtp) == "152.94" and str(frost.theoretical_rtp) == "96.10"
    aurora = by_game["Aurora Gems"]
    assert (aurora.bets, aurora.wins, aurora.rounds, aurora.players) == (0, 150, 1, 1)
    assert aurora.actual_rtp is None
    totals = selectors.figures_totals(rows)
    assert [(t.currency, t.bets, t.wins, t.rounds) for t in totals] == [("EUR", 1700, 2750, 4)]


def test_figures_run_one_query(figures_world, django_assert_num_queries):
    today = timezone.localdate()
    with django_assert_num_queries(1):
        selectors.game_figures(date_from=today - timedelta(days=60), date_to=today)


def test_figures_page_defaults_to_this_month_and_filters_by_provider(client, operators, figures_world):
    client.force_login(operators["finance"])
    html = client.get(FIGURES).content.decode()
    assert html.count('data-testid="figures-row"') == 2
    assert "152.94%" in html and "96.10%" in html and "—" in html  # the free spin: no bets, no RTP
    assert "EUR -9.00" in html  # Frost Reels' GGR
    assert "EUR 9.99" not in html
    # The later day on its own, and one provider over both.
    later = timezone.localdate() + timedelta(days=40)
    html = client.get(FIGURES, {"date_from": str(later), "date_to": str(later)}).content.decode()
    assert html.count('data-testid="figures-row"') == 1 and "EUR 9.99" in html
    html = client.get(
        FIGURES,
        {
            "date_from": str(timezone.localdate()),
            "date_to": str(later),
            "provider": figures_world.provider.pk,
        },
    ).content.decode()
    assert html.count('data-testid="figures-row"') == 2 and "EUR 9.99" not in html


def test_figures_page_refuses_a_period_that_ends_before_it_starts(client, operators, figures_world):
    client.force_login(operators["admin"])
    today = timezone.localdate()
    r = client.get(FIGURES, {"date_from": str(today), "date_to": str(today - timedelta(days=3))})
    html = r.content.decode()
    assert r.status_code == 200 and "The start date is after the end date." in html
    assert 'data-testid="figures-row"' not in html


def test_figures_csv_is_the_same_table_and_is_audited(client, operators, figures_world):
    client.force_login(operators["finance"])
    today = timezone.localdate()
    r = client.get(FIGURES, {"date_from": str(today.replace(day=1)), "date_to": str(today), "format": "csv"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    frost = next(row for row in rows if row["game"] == "Frost Reels")
    assert frost["bets"] == "17.00" and frost["wins"] == "26.00" and frost["ggr"] == "-9.00"
    assert frost["rounds"] == "3" and frost["players"] == "2" and frost["actual_rtp_pct"] == "152.94"
    assert next(row for row in rows if row["game"] == "Aurora Gems")["actual_rtp_pct"] == ""
    event = AuditEvent.objects.get(action="games.figures.export")
    assert event.actor == operators["finance"] and event.after["rows"] == 2


# --- the player page's Game rounds tab ----------------------------------------------------------


def _tab(operator, player) -> str:
    request = RequestFactory().get(f"/admin/players/player/{player.pk}/change/?tab=rounds")
    request.user = operator
    ctx = {**rounds_tab_context(request, player), "player": player}
    return render_to_string("games/tabs/rounds.html", ctx, request=request)


def test_player_page_has_a_game_rounds_tab(client, operators, w):
    _play(w, "tab-1", 100, 250)
    _play(w, "tab-2", 300)
    client.force_login(operators["support"])
    page = reverse("admin:players_player_change", args=[w.player.pk])
    html = client.get(page, {"tab": "rounds"}).content.decode()
    assert 'data-testid="tab-rounds"' in html and 'data-testid="game-rounds"' in html
    assert html.count('data-testid="round-row"') == 2
    rnd = Round.objects.get(external_id="tab-1")
    assert reverse("admin:games_round_change", args=[rnd.pk]) in html
    assert f"{ROUNDS}?q={w.player.public_id}" in html
    assert "EUR 2.50" in html and "EUR -1.50" in html and "open" in html


def test_game_rounds_tab_runs_a_fixed_number_of_queries(operators, w, make_rounds, django_assert_num_queries):
    support = operators["support"]
    make_rounds(3)
    _tab(support, w.player)
    with CaptureQueriesContext(connection) as few:
        html_few = _tab(support, w.player)
    make_rounds(57)
    with CaptureQueriesContext(connection) as many:
        html_many = _tab(support, w.player)
    assert len(few.captured_queries) == len(many.captured_queries)
    assert html_few.count('data-testid="round-row"') == 3
    assert html_many.count('data-testid="round-row"') == selectors.PLAYER_ROUNDS_LIMIT
    request = RequestFactory().get("/")
    request.user = support
    with django_assert_num_queries(1):
        rounds_tab_context(request, w.player)


# --- who may see what ---------------------------------------------------------------------------


def test_marketing_sees_no_rounds_no_figures_and_no_rounds_tab(client, operators, w):
    _play(w, "r-secret", 100, 0)
    rnd = Round.objects.get()
    client.force_login(operators["marketing"])
    assert client.get(ROUNDS).status_code == 403
    assert client.get(reverse("admin:games_round_change", args=[rnd.pk])).status_code == 403
    assert client.get(FIGURES).status_code == 403
    html = client.get(reverse("admin:players_player_change", args=[w.player.pk]), {"tab": "rounds"}).content
    assert b'data-testid="tab-rounds"' not in html and b"r-secret" not in html


@pytest.mark.parametrize("role", ["support", "compliance", "finance", "risk", "admin"])
def test_casework_roles_see_rounds_calls_and_figures(client, operators, w, role):
    _play(w, "r-seen", 100, 0)
    rnd = Round.objects.get()
    client.force_login(operators[role])
    assert client.get(ROUNDS).status_code == 200
    html = _round_page(client, rnd)
    assert 'data-testid="round-calls"' in html and 'data-testid="round-postings"' in html
    # The per-game figures are the casino's game performance: finance, risk, administrators.
    assert client.get(FIGURES).status_code == (200 if role in ("finance", "risk", "admin") else 403)


def test_role_map_grants_rounds_to_casework_roles_only():
    # Several roles start from one shared set in backoffice/roles.py: a grant to one role
    # must not leak to the others (marketing once got game sessions that way).
    from backoffice import roles

    for role in (roles.SUPPORT, roles.COMPLIANCE, roles.FINANCE, roles.RISK, roles.ADMINISTRATOR):
        assert {"games.view_round", "games.view_wallettransaction"} <= roles.role_permissions(role)
    marketing = roles.role_permissions(roles.MARKETING)
    assert not {"games.view_round", "games.view_wallettransaction", "games.view_gamesession"} & marketing
    assert "games.view_gamesession" not in roles.role_permissions(roles.FINANCE)
