"""Project-level views: health check and the signed-in landing page."""

import functools
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from workspaces.models import User
from workspaces.selectors import membership_list_for_user


def _database_status() -> dict[str, object]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the reason is reported, not raised
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "ok", "vendor": connection.vendor, "ms": round((time.monotonic() - started) * 1000, 1)}


@functools.lru_cache(maxsize=4)
def _broker_client(url: str) -> Any:
    """One client (and connection pool) per broker URL for the health check, with short timeouts:
    a check every few seconds reuses its connection instead of opening one and leaving it to the
    garbage collector (3-4 ms of a web worker's CPU a check, bench/README twelfth round)."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def _broker_status() -> dict[str, object]:
    if not settings.REDIS_URL:
        return {"status": "eager", "detail": "no REDIS_URL: tasks run in-process"}
    started = time.monotonic()
    try:
        _broker_client(settings.REDIS_URL).ping()
    except Exception as exc:  # the broker being down degrades, it does not fail the check
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; the broker's state is reported but does not fail it."""
    database = _database_status()
    broker = _broker_status()
    healthy = database["status"] == "ok"
    body = {"status": "ok" if healthy else "down", "database": database, "broker": broker}
    return JsonResponse(body, status=200 if healthy else 503)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # login_required
    memberships = membership_list_for_user(user=request.user)
    return render(request, "home.html", {"memberships": memberships})
