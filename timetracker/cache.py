"""The Redis cache with one client per process.

Django keeps a cache object per async context (``caches`` is an ``asgiref`` Local), and its
``RedisCache`` builds its connection pool per cache object: under ASGI every request opened a
fresh TCP connection to Redis for its first cache call (the MCP rate limit, DRF's throttles, the
credential generation). Measured in ``bench/``. This backend shares one ``RedisCacheClient``, and
so one pool, per process and configuration; redis-py's pool is thread-safe and resets itself in
a forked child.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[tuple[str, ...], str], RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @property
    def _cache(self) -> RedisCacheClient:
        backend: Any = self  # RedisCache's private attributes, untyped in the stubs
        key = (tuple(backend._servers), repr(sorted(backend._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.setdefault(key, backend._class(backend._servers, **backend._options))
        return client

    def count(self, key: str, *, window: int) -> int:
        """Add one to ``key``'s count and return it; the count lives ``window`` seconds. One round trip."""
        key = self.make_and_validate_key(key)
        with self._cache.get_client(key, write=True).pipeline() as pipe:
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
            _, count = pipe.execute()
        return int(count)


def count_in_window(key: str, *, window: int) -> int:
    """One more hit on ``key`` in a window of ``window`` seconds: the hits so far (rate limits)."""
    backend = caches["default"]
    if isinstance(backend, SharedRedisCache):
        return backend.count(key, window=window)
    backend.add(key, 0, timeout=window)  # the local-memory cache of the zero-setup run
    return int(backend.incr(key))
