import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _zero_sum_checked_per_statement(request):
    """Tests on the `db` fixture run inside one transaction that is rolled back, so the
    deferred zero-sum trigger would never fire. Make it fire at the end of each statement
    instead: the service inserts a transaction's postings in one statement, so every
    posting the tests make is still checked by PostgreSQL."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("transaction") or "transactional_db" in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS wallet_posting_zero_sum IMMEDIATE")
    yield
