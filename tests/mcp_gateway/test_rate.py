"""/mcp's rate: this minute's call of a connection is counted with its bearer's check once the
process knows the credential, and counted on its own before."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from mcp_gateway import auth, rate
from tests.conftest import principal_for
from workspaces import connection_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_key(member) -> str:
    return connection_services.api_key_create(actor=principal_for(member), label="rate", scopes=["read"]).secret


def test_once_the_credential_is_known_its_call_is_counted_with_the_check(api_key):
    first = auth.access_for_bearer(api_key)
    assert first is not None
    principal = auth.principal_of(first)
    ((key, window),) = rate.rate_windows(principal)
    assert window == rate.WINDOW_SECONDS
    cache.delete(key)
    assert auth.counts_of(first) == {}  # not known to this process before: counted on its own

    second, third = auth.access_for_bearer(api_key), auth.access_for_bearer(api_key)

    assert second is not None
    assert third is not None
    assert (auth.counts_of(second), auth.counts_of(third)) == ({key: 1}, {key: 2})
    cache.delete(key)


def test_within_the_rate_by_the_count_taken_or_by_counting_now(api_key, settings):
    settings.MCP_THROTTLE_PER_MINUTE = 2
    access = auth.access_for_bearer(api_key)
    assert access is not None
    principal = auth.principal_of(access)
    ((key, _window),) = rate.rate_windows(principal)
    cache.delete(key)

    assert rate.within_counted_rate(principal, {}) is None  # not counted: count now
    assert rate.within_counted_rate(principal, {"throttle:mcp:other:0": 1}) is None
    assert rate.within_counted_rate(principal, {key: 2}) is True
    assert rate.within_counted_rate(principal, {key: 3}) is False
    assert [rate.within_rate(principal) for _ in range(3)] == [True, True, False]
    assert cache.get(key) == 3
    cache.delete(key)


def test_calls_pass_when_the_cache_is_down(api_key, monkeypatch):
    access = auth.access_for_bearer(api_key)
    assert access is not None

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(rate, "count_in_window", unreachable)
    assert rate.within_rate(auth.principal_of(access)) is True
