"""The web process's side of the Celery broker: one Redis client per channel.

kombu's Redis channel builds a new ``redis.Redis`` for every message it publishes (its
``conn_or_acquire``): about 0.09 ms each, redis-py filling its table of response callbacks, a
fifth of publishing an audit event (bench/README.md, eighteenth round). The client holds no state
of its own beyond the channel's connection pool, so the channel here keeps the one it built.
A channel is used by one producer at a time (kombu's producer pool hands each out alone), and
``redis.Redis`` is thread-safe besides. The asynchronous client (the worker's ``BRPOP``) is
left as kombu builds it. ``timetracker.cache`` does the same for Django's cache.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis

# kombu's stubs leave out the channel's private client factory that this overrides.
_RedisChannel: Any = kombu_redis.Channel


class KeptClientChannel(_RedisChannel):
    _kept_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._kept_client is None:
            self._kept_client = super()._create_client()
        return self._kept_client


class KeptClientTransport(kombu_redis.Transport):
    Channel = KeptClientChannel


def publishing_transport(url: str) -> type[kombu_redis.Transport] | None:
    """The transport class for publishing to ``url``; None: kombu's own for its scheme.

    Only ``redis://``: kombu gives ``rediss://`` its TLS defaults by the scheme's name, which a
    class passed in its place would lose."""
    return KeptClientTransport if url.partition("://")[0] == "redis" else None
