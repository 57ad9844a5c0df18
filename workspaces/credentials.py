"""A bearer credential (OAuth access token or API key) → the principal it stands for.

Both faces that take bearer credentials — REST and /mcp — ask :func:`bearer_lookup`. Finding a
credential's connection and membership costs two or three queries, which at an agent's call rate
was a third of a small tool call (``bench/``). So each process keeps what it found, keyed by the
credential's hash, and re-uses it only while **nothing that could change the answer has changed
anywhere**:

* Every save or delete of a connection, access token, application, membership, user or workspace
  replaces a random *generation* in the shared cache (Redis): at once, and again after the
  transaction commits (a reader between the two may have cached the old rows under the new
  generation). Every use compares the entry's generation with the shared one — one Redis round
  trip — so a revocation, deactivation or role change in any process stops the next call in
  every process.
* An entry also carries the token's expiry and the connection's, checked on every use, and is
  dropped after ``MAX_AGE`` seconds whatever happens.
* When the shared cache cannot be reached, nothing is cached: every call reads the database.

Each use gets its own copy of the model instances, so a service that changes a caller's
membership or workspace object cannot change the cached one. The entry keeps its answer pickled
and each use unpickles it: a tenth of what ``copy.deepcopy`` of the same objects costs (50 µs
against 480 µs, ``bench/``).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from timetracker.cache import get_and_count
from workspaces.connection_selectors import connection_for_api_key, connection_principal, connection_stop_reason
from workspaces.connection_services import API_KEY_PREFIX
from workspaces.models import Connection, Membership, OAuthAccessToken, OAuthApplication, User, Workspace
from workspaces.principals import Principal

logger = logging.getLogger(__name__)

GENERATION_KEY = "credentials:generation"
MAX_AGE = 60.0  # seconds an entry is trusted at most, even if no change was announced
MAX_ENTRIES = 4096
WATCHED = (Connection, OAuthAccessToken, OAuthApplication, Membership, User, Workspace)


@dataclass(frozen=True)
class Bearer:
    """What a live credential stands for. ``principal`` has the API channel; faces replace it."""

    principal: Principal
    kind: str  # "oauth" | "api_key"
    resources: tuple[str, ...]  # the resources an OAuth token was issued for (none: unbound)
    client_id: str
    expires: datetime | None  # the OAuth token's expiry

    def live(self) -> bool:
        if self.expires is not None and self.expires <= timezone.now():
            return False
        connection = self.principal.connection
        assert connection is not None
        return connection_stop_reason(connection, self.principal.membership) is None


@dataclass
class _Entry:
    generation: str
    stored: float
    bearer: Bearer  # never handed out: asked only whether it is still live
    frozen: bytes  # the same, pickled: each use gets a fresh copy

    def current(self, generation: str) -> bool:
        """Made under the shared generation ``generation``, and young enough to trust."""
        return self.generation == generation and time.monotonic() - self.stored < MAX_AGE

    def thaw(self) -> Bearer:
        bearer: Bearer = pickle.loads(self.frozen)  # noqa: S301 - our own objects, pickled in this process
        return bearer


_entries: OrderedDict[str, _Entry] = OrderedDict()
_lock = threading.Lock()


def bearer_lookup(raw: str) -> Bearer | None:
    """The live credential ``raw`` names, or None (unknown, expired, revoked, member or workspace gone)."""
    return bearer_lookup_counting(raw, None)[0]


Windows = Callable[[Principal], Sequence[tuple[str, int]]]


def bearer_lookup_counting(raw: str, windows: Windows | None) -> tuple[Bearer | None, dict[str, int]]:
    """:func:`bearer_lookup`, and one more hit on each rate window ``windows(principal)`` names
    (``(key, seconds)``, as ``timetracker.cache.count_in_window`` counts), in the same round trip
    as the generation's read: the counts so far by key.

    The windows are those of the principal this process found for ``raw`` before. Where there is
    none, or the credential now stands for a principal with other windows, nothing is counted
    here and the caller counts on its own. A credential found revoked may have been counted
    once: a count of a principal that can no longer call.
    """
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    with _lock:
        entry = _entries.get(checksum)
    wanted = list(windows(entry.bearer.principal)) if windows is not None and entry is not None else []
    generation, counts = _generation(wanted)
    if entry is not None and generation is not None and entry.current(generation):
        return (entry.thaw() if entry.bearer.live() else None), counts
    bearer = _load(raw, checksum)
    if bearer is not None and windows is not None and list(windows(bearer.principal)) != wanted:
        counts = {}
    if bearer is None or generation is None:
        return bearer, counts
    entry = _Entry(generation, time.monotonic(), bearer, pickle.dumps(bearer, protocol=pickle.HIGHEST_PROTOCOL))
    with _lock:
        _entries[checksum] = entry
        _entries.move_to_end(checksum)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return entry.thaw(), counts


def _load(raw: str, checksum: str) -> Bearer | None:
    if raw.startswith(API_KEY_PREFIX):
        connection = connection_for_api_key(raw)
        resources: tuple[str, ...] = ()
        expires = None
        kind = "api_key"
    else:
        token = (
            OAuthAccessToken.objects.select_related(
                "connection__user", "connection__workspace", "connection__application"
            )
            .filter(token_checksum=checksum, expires__gt=timezone.now())
            .first()
        )
        connection = token.connection if token is not None else None
        resources = tuple(str(r).rstrip("/") for r in (token.resource or [])) if token is not None else ()
        expires = token.expires if token is not None else None
        kind = "oauth"
    if connection is None:
        return None
    principal = connection_principal(connection)
    if principal is None:
        return None
    application = connection.application
    client_id = application.client_id if application is not None else f"api-key:{connection.pk}"
    return Bearer(principal=principal, kind=kind, resources=resources, client_id=client_id, expires=expires)


# --- the shared generation ------------------------------------------------------------------------


def _generation(windows: Sequence[tuple[str, int]] = ()) -> tuple[str | None, dict[str, int]]:
    """The shared generation (made on first use), or None when the cache cannot be reached; and
    the counts of ``windows``, one more hit each, read in the same round trip."""
    try:
        value, counted = get_and_count(GENERATION_KEY, windows)
        if value is None:
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            value = cache.get(GENERATION_KEY)
    except Exception:  # the cache is down: read the database every time
        logger.warning("credentials: the shared cache is unreachable; not caching credentials", exc_info=True)
        return None, {}
    counts = {key: count for (key, _window), count in zip(windows, counted, strict=True)}
    return (str(value) if value is not None else None), counts


def announce_change() -> None:
    """Something a credential's answer depends on changed: every process re-reads on its next use."""
    _new_generation()
    transaction.on_commit(_new_generation, robust=True)


def _new_generation() -> None:
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("credentials: could not announce a change; entries expire within MAX_AGE", exc_info=True)
    with _lock:
        _entries.clear()


def _on_change(sender: Any, **kwargs: Any) -> None:
    announce_change()


def connect_signals() -> None:
    for model in WATCHED:
        post_save.connect(_on_change, sender=model, dispatch_uid=f"credentials-save-{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"credentials-delete-{model.__name__}")
