import pytest

pytestmark = pytest.mark.django_db


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_is_503_when_the_broker_is_unreachable(client, settings):
    from backoffice.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        r = client.get("/readyz")
    finally:
        app.conf.broker_url = old
    assert r.status_code == 503
    assert r.json()["checks"]["broker"] == "unreachable"
