"""Player search: the kind of input picks the lookups, each lookup finds its player,
and on PostgreSQL each lookup is served by an index."""

import pytest
from django.db import connection

from players import selectors, services
from players.selectors import player_search, search_plan

from .factories import register

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "q, kind, lookups",
    [
        ("P7K3M9Q2XA", "public_id", ["public_id"]),
        ("p7k3m9q2xa", "public_id", ["public_id"]),
        ("anna@example.com", "email", ["email"]),
        ("192.0.2.7", "ip", ["session_ip"]),
        ("2001:db8::1", "ip", ["session_ip"]),
        ("+46 70-123 45 67", "phone", ["phone", "national_id"]),
        ("19850314-1234", "phone", ["phone", "national_id"]),
        ("131052-308T", "token", ["national_id", "session_device"]),
        ("AB123456C", "token", ["national_id", "session_device"]),
        ("3f2a9c1e-77b0-4c1d-9e2f-0a1b2c3d4e5f", "token", ["national_id", "session_device"]),
        ("Anna Svensson", "name", ["search_text"]),
        ("anna@", "name", ["search_text"]),
        ("an", "none", []),
        ("", "none", []),
    ],
)
def test_the_input_decides_the_lookups(q, kind, lookups):
    plan = search_plan(q)
    assert (plan.kind, plan.lookups) == (kind, lookups)


@pytest.fixture
def anna():
    p = register(
        first_name="Anna",
        last_name="Lindqvist",
        email="anna.lindqvist@example.se",
        phone="+46701112233",
        national_id="19811228-9874",
    )
    services.session_start(player_id=p.pk, ip="198.51.100.23", device_id="3f2a9c1e-77b0-4c1d")
    register(first_name="Bertil", last_name="Ek", email="bertil@example.se", national_id="19700101-0000")
    return p


@pytest.mark.parametrize(
    "q",
    [
        "public_id",
        "ANNA.Lindqvist@example.se",
        "198.51.100.23",
        "+46 70 111 22 33",
        "0046701112233",
        "198112289874",
        "19811228-9874",
        "3f2a9c1e-77b0-4c1d",
        "lindqvist",
        "anna lindq",
        "lindqvist anna",
        "lindqvist@exa",
    ],
)
def test_each_kind_of_input_finds_the_player(anna, q):
    q = anna.public_id.lower() if q == "public_id" else q
    assert [p.pk for p in player_search(q)] == [anna.pk]


def test_search_finds_nothing_for_near_misses(anna):
    for q in ["P2222222222", "anna@example.se", "198.51.100.24", "+46701112234", "19811228-9875", "zzzzz"]:
        assert player_search(q) == [], q


def test_search_is_limited_without_counting(django_assert_max_num_queries):
    for i in range(5):
        register(first_name="Common", last_name=f"Name{i}")
    with django_assert_max_num_queries(1):
        found = player_search("common", limit=3)
    assert len(found) == 3


def test_player_get_raises_player_not_found():
    from backoffice.errors import DomainError

    with pytest.raises(DomainError) as exc:
        selectors.player_get(public_id="PNOPE")
    assert exc.value.code == "player_not_found" and exc.value.status == 404


def _plan_for(queryset) -> str:
    # On a test-sized table a sequential scan is always cheapest: switch scans that need
    # no index off, so the plan shows whether the lookup *can* be served by its index.
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")  # bitmap scans only: no full-index walks
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("RESET enable_seqscan")
        cur.execute("RESET enable_indexscan")
    return plan


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_each_lookup_can_use_its_index(anna):
    for lookup, q, index in [
        ("public_id", "P7K3M9Q2XA", "public_id"),
        ("email", "anna@example.com", "player_email_unique"),
        ("phone", "+46701112233", "phone"),
        ("national_id", "198112289874", "national_id_hash"),
        ("search_text", "lindqvist anna", "player_search_trgm"),
    ]:
        plan = _plan_for(selectors._lookup(lookup, q).order_by("-created_at", "-id")[:50])
        assert "Seq Scan" not in plan and index in plan, plan
    for field, q, index in [
        ("ip", "198.51.100.23", "session_ip_idx"),
        ("device_id", "dev-1", "session_device_idx"),
    ]:
        plan = _plan_for(selectors.PlayerSession.objects.filter(**{field: q}).values("player_id"))
        assert "Seq Scan" not in plan and index in plan, plan


def test_search_through_personal_data_is_only_for_roles_that_see_it(operators):
    from players.models import Player, PlayerSession
    from players.selectors import player_search

    p = Player.objects.create(
        jurisdiction="MT", currency="EUR", first_name="Ip", last_name="Only", email="ip@x.mt"
    )
    PlayerSession.objects.create(player=p, ip="203.0.113.77", device_id="dev-7", reported_by="test")
    assert player_search("203.0.113.77", user=operators["support"]) == [p]
    assert player_search("203.0.113.77", user=operators["marketing"]) == []
    assert player_search("ip@x.mt", user=operators["marketing"]) == [p]
