"""The Redis cache shares one client per process; the window counter counts in one round trip,
by a script."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import caches

from timetracker.cache import SharedRedisCache, count_in_window, get_and_count


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
    # and one redis.Redis for every operation (Django builds one per call)
    assert first._cache.get_client("a") is second._cache.get_client("b", write=True)


def test_replies_are_parsed_by_hiredis():
    """Every Redis call of a request (credential generation, rate counts, the audit queue) reads
    its reply; redis-py does it in C when hiredis is installed, which the install asks for."""
    cache = caches["default"]
    assert isinstance(cache, SharedRedisCache)
    client = cache._cache.get_client("parser-probe")
    connection = client.connection_pool.get_connection()
    try:
        assert type(connection._parser).__name__ == "_HiredisParser"
    finally:
        client.connection_pool.release(connection)


def test_the_shared_client_serves_many_threads_at_once():
    key = f"threads-probe-{uuid.uuid4().hex}"

    def hits(_: int) -> list[int]:
        return [count_in_window(key, window=30) for _ in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = [count for batch in pool.map(hits, range(8)) for count in batch]

    assert sorted(counts) == list(range(1, 401))  # every hit counted once, none lost or repeated


def test_a_window_count_counts_and_expires():
    key = f"window-probe-{uuid.uuid4().hex}"
    assert [count_in_window(key, window=30) for _ in range(3)] == [1, 2, 3]
    backend = caches["default"]
    assert isinstance(backend, SharedRedisCache)
    full_key = backend.make_and_validate_key(key)
    ttl = backend._cache.get_client(full_key).ttl(full_key)
    assert 0 < ttl <= 30


def test_a_value_and_window_counts_are_read_in_one_round_trip(monkeypatch):
    import redis.client

    cache = caches["default"]
    value_key, first, second = (f"get-and-count-{uuid.uuid4().hex}" for _ in range(3))
    cache.set(value_key, "generation-1")
    assert count_in_window(first, window=30) == 1
    sent: list[Any] = []  # each message to Redis: a command's name, or a pipeline's commands
    pipeline_execute, command = redis.client.Pipeline.execute, redis.Redis.execute_command

    def counted_pipeline(self, *args, **kwargs):
        sent.append([name for name, *_ in self.command_stack])
        return pipeline_execute(self, *args, **kwargs)

    def lone_command(self, *args, **kwargs):
        sent.append(args[0])
        return command(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)
    monkeypatch.setattr(redis.Redis, "execute_command", lone_command)

    assert get_and_count(value_key, [(first, 30), (second, 60)]) == ("generation-1", [2, 1])
    assert sent == ["EVALSHA"]  # GET, then SET NX and INCR for each window: the script, by its digest
    assert get_and_count(f"missing-{uuid.uuid4().hex}", []) == (None, [])
    monkeypatch.undo()
    assert count_in_window(first, window=30) == 3  # the same counters count_in_window keeps
    backend = caches["default"]
    assert isinstance(backend, SharedRedisCache)
    full_key = backend.make_and_validate_key(second)
    assert 30 < backend._cache.get_client(full_key).ttl(full_key) <= 60


def test_counts_go_on_when_redis_has_forgotten_the_script():
    """Redis keeps scripts in memory only: after a restart (here SCRIPT FLUSH) redis-py is told
    NOSCRIPT and sends the script whole."""
    backend = caches["default"]
    assert isinstance(backend, SharedRedisCache)
    key, value_key = f"flushed-{uuid.uuid4().hex}", f"flushed-value-{uuid.uuid4().hex}"
    backend.set(value_key, {"a": 1})
    assert count_in_window(key, window=30) == 1
    client = backend._cache.get_client(key)
    client.script_flush()
    assert client.script_exists(backend._cache.script(client).sha) == [False]
    assert count_in_window(key, window=30) == 2
    assert get_and_count(value_key, [(key, 30)]) == ({"a": 1}, [3])


def test_a_window_counter_that_expired_is_counted_afresh_with_its_expiry():
    backend = caches["default"]
    assert isinstance(backend, SharedRedisCache)
    key = f"expired-{uuid.uuid4().hex}"
    full_key = backend.make_and_validate_key(key)
    client = backend._cache.get_client(full_key)
    assert count_in_window(key, window=30) == 1
    client.delete(full_key)  # as when its window ends
    assert get_and_count(f"none-{uuid.uuid4().hex}", [(key, 45)]) == (None, [1])
    assert 30 < client.ttl(full_key) <= 45
