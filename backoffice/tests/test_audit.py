import pytest
from django.db import DatabaseError, connection, transaction

from backoffice import audit
from backoffice.models import AuditEvent
from backoffice.testing import client_login

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_audit_events(operators):
    assert connection.vendor == "postgresql", "make test runs the suite on PostgreSQL"
    ev = audit.record(actor=operators["admin"], action="test.thing", note="original")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=ev.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=ev.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE backoffice_auditevent SET note = 'raw' WHERE id = %s", [ev.pk])
    ev.refresh_from_db()
    assert ev.note == "original"


def test_audit_records_request_id_and_ip_from_the_request(client, operators):
    client_login(client, operators["admin"])
    ev = AuditEvent.objects.filter(action="backoffice.auth.login").latest("id")
    assert ev.ip == "127.0.0.1"
    assert len(ev.request_id) == 32
    assert ev.actor == operators["admin"]


def test_sign_in_sign_out_and_failures_are_audited(client, operators):
    r = client.post("/accounts/login/", {"login": "support@pitboss.test", "password": "wrong-password"})
    assert r.status_code == 200
    failed = AuditEvent.objects.get(action="backoffice.auth.login_failed")
    assert failed.actor is None and failed.after == {"email": "support@pitboss.test"}
    client_login(client, operators["support"])
    client.post("/accounts/logout/")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["backoffice.auth.login", "backoffice.auth.logout"]


def test_wrong_second_factor_is_audited_and_does_not_sign_in(client, operators):
    client.post("/accounts/login/", {"login": "support@pitboss.test", "password": "pitboss-demo-2026"})
    r = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert r.status_code == 200
    assert (
        AuditEvent.objects.filter(action="backoffice.auth.mfa_failed", actor=operators["support"]).count()
        == 1
    )
    assert client.get("/admin/").status_code == 302


def test_audit_log_screen_is_read_only(client, operators):
    client.force_login(operators["admin"])
    ev = audit.record(actor=operators["admin"], action="test.thing")
    assert client.get("/admin/backoffice/auditevent/").status_code == 200
    r = client.post(f"/admin/backoffice/auditevent/{ev.pk}/change/", {"note": "x"})
    assert r.status_code == 403
    assert client.get(f"/admin/backoffice/auditevent/{ev.pk}/delete/").status_code == 403


def test_audit_list_runs_a_fixed_number_of_queries(client, operators, django_assert_max_num_queries):
    client.force_login(operators["admin"])
    for i in range(5):
        audit.record(actor=operators["admin"], action=f"test.a{i}", target=operators["support"])
    client.get("/admin/backoffice/auditevent/")
    for i in range(60):
        audit.record(actor=operators["admin"], action=f"test.b{i}", target=operators["finance"])
    with django_assert_max_num_queries(20):
        r = client.get("/admin/backoffice/auditevent/")
    assert r.status_code == 200


def test_a_callers_request_id_is_kept_only_when_it_is_a_plain_token(client, db):
    r = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert r["X-Request-ID"] == "abc-123"
    r = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert r["X-Request-ID"] != "<script>alert(1)</script>" and len(r["X-Request-ID"]) == 32
