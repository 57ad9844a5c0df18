"""How many /mcp calls a connection may make: ``MCP_THROTTLE_PER_MINUTE`` a clock minute.

Each minute of each connection (or, without one, user) is a counter in the shared cache that
lives a little longer than its minute. The count of a call is usually taken with its bearer's
check, in the same round trip to the cache (:func:`mcp_gateway.auth.access_for_bearer`); a call
whose credential this process did not know yet counts on its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings

from timetracker.cache import count_in_window
from workspaces.principals import Principal

WINDOW_SECONDS = 70  # a clock minute's counter, kept past its minute


def rate_windows(principal: Principal) -> list[tuple[str, int]]:
    """The counter this minute's calls of ``principal`` go to, and how long it lives."""
    minute = int(time.time() // 60)
    caller = principal.connection.pk if principal.connection else principal.user.pk
    return [(f"throttle:mcp:{caller}:{minute}", WINDOW_SECONDS)]


def within_counted_rate(principal: Principal, counted: Mapping[str, int]) -> bool | None:
    """Whether this call is within the rate by the count taken with the bearer's check; None if
    that count was not this minute's counter (then :func:`within_rate` counts)."""
    ((key, _window),) = rate_windows(principal)
    count = counted.get(key)
    return None if count is None else count <= settings.MCP_THROTTLE_PER_MINUTE


def within_rate(principal: Principal) -> bool:
    """One more hit on this minute's counter: whether this call is within the rate. Calls pass if
    the cache is down."""
    ((key, window),) = rate_windows(principal)
    try:
        count = count_in_window(key, window=window)
    except Exception:
        return True
    return bool(count <= settings.MCP_THROTTLE_PER_MINUTE)
