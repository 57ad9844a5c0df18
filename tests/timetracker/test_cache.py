"""The Redis cache shares one client per process; the window counter counts in one round trip."""

from __future__ import annotations

import uuid

from django.core.cache import caches

from timetracker.cache import SharedRedisCache, count_in_window


def test_every_cache_object_shares_one_client_and_pool():
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert isinstance(first, SharedRedisCache)
    assert isinstance(second, SharedRedisCache)
    assert first is not second  # Django makes one per request context
    assert first._cache is second._cache
    first.set("shared-client-probe", 1)
    assert second._cache.get_client("shared-client-probe").connection_pool is (
        first._cache.get_client("shared-client-probe").connection_pool
    )


def test_a_window_count_counts_and_expires():
    key = f"window-probe-{uuid.uuid4().hex}"
    assert [count_in_window(key, window=30) for _ in range(3)] == [1, 2, 3]
    backend = caches["default"]
    assert isinstance(backend, SharedRedisCache)
    full_key = backend.make_and_validate_key(key)
    ttl = backend._cache.get_client(full_key).ttl(full_key)
    assert 0 < ttl <= 30
