"""GET /healthz: 200 while the database answers; the broker's state is reported, never fatal."""

import pytest
from django.db import OperationalError

from timetracker import views

pytestmark = pytest.mark.django_db

NEVER_CACHE = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def test_healthy_with_database_and_redis(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["vendor"] == "postgresql"
    assert body["broker"]["status"] == "ok"
    assert cache_directives(response) == NEVER_CACHE


def test_checks_reuse_one_broker_connection(client, settings):
    views._broker_client.cache_clear()
    for _ in range(3):
        assert client.get("/healthz").json()["broker"]["status"] == "ok"
    assert views._broker_client.cache_info().misses == 1  # one client for every check
    pool = views._broker_client(settings.REDIS_URL).connection_pool
    assert len(pool._available_connections) + len(pool._in_use_connections) == 1  # and one connection


def test_a_down_broker_is_reported_but_not_fatal(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["broker"] == {"status": "down", "error": "ConnectionError"}


def test_without_redis_the_broker_is_eager(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"]["status"] == "eager"


def test_a_failing_database_gives_503(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views.connection, "cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == {"status": "down", "error": "OperationalError"}
    assert body["broker"]["status"] == "ok"
    assert cache_directives(response) == NEVER_CACHE


def test_only_get_and_head_are_allowed(client):
    response = client.post("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    # load balancers probe with HEAD
    assert client.head("/healthz").status_code == 200
