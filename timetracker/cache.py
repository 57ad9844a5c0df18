"""The Redis cache with one client per process.

Django keeps a cache object per async context (``caches`` is an ``asgiref`` Local), and its
``RedisCache`` builds its connection pool per cache object: under ASGI every request opened a
fresh TCP connection to Redis for its first cache call (the MCP rate limit, DRF's throttles, the
credential generation). Measured in ``bench/``. This backend shares one ``RedisCacheClient``, and
so one pool, per process and configuration; redis-py's pool is thread-safe and resets itself in
a forked child. That client also keeps one ``redis.Redis`` per pool, where Django's builds a new
one for every operation (about 0.1 ms each, its table of response callbacks); a ``redis.Redis``
is thread-safe, every command taking its own connection from the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.commands.core import Script

_lock = threading.Lock()

# KEYS[1]: a key to read when ARGV[1] is 1 (none when 0); then each window's counter, ARGV[i] its
# seconds. A script runs whole, as MULTI/EXEC does. Its reply: the value read (nil if none), then
# each count.
GET_AND_COUNT = """
local found = {false}
if ARGV[1] == '1' then found[1] = redis.call('GET', KEYS[1]) end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], 0, 'EX', ARGV[i], 'NX')
  found[i] = redis.call('INCR', KEYS[i])
end
return found
"""


class SharedRedisCacheClient(RedisCacheClient):
    """Django's client, with one ``redis.Redis`` per pool instead of one per operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_by_pool: dict[int, Any] = {}
        self._scripts: dict[int, Script] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private in the stubs
        client = self._redis_by_pool.get(id(pool))
        if client is None:
            with _lock:
                client = self._redis_by_pool.setdefault(id(pool), self._client(connection_pool=pool))  # type: ignore[attr-defined]
        return client

    def script(self, client: Any) -> Script:
        """``GET_AND_COUNT`` registered with ``client``: redis-py sends it by its digest, and
        whole once where Redis does not know it (first use, or after a restart)."""
        script = self._scripts.get(id(client))
        if script is None:
            with _lock:
                script = self._scripts.setdefault(id(client), client.register_script(GET_AND_COUNT))
        return script


_clients: dict[tuple[tuple[str, ...], str], SharedRedisCacheClient] = {}


class SharedRedisCache(RedisCache):
    @property
    def _cache(self) -> SharedRedisCacheClient:
        backend: Any = self  # RedisCache's private attributes, untyped in the stubs
        key = (tuple(backend._servers), repr(sorted(backend._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.setdefault(key, SharedRedisCacheClient(backend._servers, **backend._options))
        return client

    def count(self, key: str, *, window: int) -> int:
        """Add one to ``key``'s count and return it; the count lives ``window`` seconds. One round trip."""
        return int(self._counted(None, [(key, window)])[1])

    def get_and_count(self, key: str, windows: Sequence[tuple[str, int]]) -> tuple[Any, list[int]]:
        """``key``'s value, and one more hit on each ``(key, window)`` of ``windows`` (as
        :meth:`count`): one round trip for all of it."""
        found, *counts = self._counted(key, windows)
        value = self._cache._serializer.loads(found) if found is not None else None  # type: ignore[attr-defined]
        return value, counts

    def _counted(self, key: str | None, windows: Sequence[tuple[str, int]]) -> list[Any]:
        """``key``'s stored value (None without a key), then the count of each of ``windows``:
        ``GET_AND_COUNT`` in one call.

        A script, as the pipeline's MULTI/EXEC before it, so that a window cannot expire between
        its SET NX and INCR and leave a count without an expiry; but one command and one reply
        where the pipeline sent and parsed seven (a GET and two windows): 99 against 144 µs of CPU
        a call, in-process (``bench/README``).
        """
        read = self.make_and_validate_key(key) if key is not None else ""
        counted = [self.make_and_validate_key(name) for name, _ in windows]
        client = self._cache.get_client(read, write=True)
        script = self._cache.script(client)
        arguments = [int(key is not None), *(window for _, window in windows)]
        found = script(keys=[read, *counted], args=arguments, client=client)
        return [found[0], *(int(count) for count in found[1:])]

    def seconds_left(self, key: str) -> int | None:
        """Seconds until ``key`` expires; None if it is gone or never expires."""
        key = self.make_and_validate_key(key)
        left = self._cache.get_client(key).ttl(key)
        return int(left) if left is not None and left >= 0 else None


def count_in_window(key: str, *, window: int) -> int:
    """One more hit on ``key`` in a window of ``window`` seconds: the hits so far (rate limits)."""
    backend = caches["default"]
    if isinstance(backend, SharedRedisCache):
        return backend.count(key, window=window)
    backend.add(key, 0, timeout=window)  # the local-memory cache of the zero-setup run
    return int(backend.incr(key))


def get_and_count(key: str, windows: Sequence[tuple[str, int]]) -> tuple[Any, list[int]]:
    """``key``'s value in the shared cache and the hits so far on each ``(key, window)`` of
    ``windows``, this one included (:func:`count_in_window`): one round trip on Redis."""
    backend = caches["default"]
    if isinstance(backend, SharedRedisCache):
        return backend.get_and_count(key, windows)
    return backend.get(key), [count_in_window(counted, window=window) for counted, window in windows]


def window_seconds_left(key: str, *, default: int) -> int:
    """Seconds until ``key``'s window closes (``default`` where the cache cannot tell: the
    local-memory cache of the zero-setup run), at least 1."""
    backend = caches["default"]
    left = backend.seconds_left(key) if isinstance(backend, SharedRedisCache) else None
    return max(1, left if left is not None else default)
