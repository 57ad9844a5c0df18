"""GET /healthz: 200 while the database answers; the broker's state is reported."""

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_healthy_with_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["vendor"] == "postgresql"
    assert body["broker"]["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_a_down_broker_is_reported_but_not_fatal(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"]["status"] == "down"


def test_without_redis_the_broker_is_eager(client, settings):
    settings.REDIS_URL = ""
    assert client.get("/healthz").json()["broker"]["status"] == "eager"


def test_a_failing_database_gives_503(client, monkeypatch):
    from timetracker import views

    def broken_cursor():
        raise OperationalError("connection refused")

    monkeypatch.setattr(views.connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["database"] == {"status": "down", "error": "OperationalError"}


def test_only_get(client):
    assert client.post("/healthz").status_code == 405
