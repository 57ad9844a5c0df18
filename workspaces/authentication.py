"""DRF authentication: a bearer credential (OAuth access token or API key) → its Connection's principal.

``request.user`` is the connection's user and ``request.auth`` the :class:`Principal`, so the
faces hand the same object to every selector and service. The lookup is
:func:`workspaces.credentials.bearer_lookup`: cached per process, checked against a shared
generation on every request, so a revocation, deactivation or expiry takes effect on the very
next request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from workspaces.credentials import bearer_lookup_counting
from workspaces.models import Channel
from workspaces.principals import Principal


def api_resource_uri(request: Any) -> str:
    """This server's API, as the resource an OAuth token must be bound to (RFC 8707)."""
    return request.build_absolute_uri("/api/v1")


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <OAuth access token | tt_… API key>``."""

    channel = Channel.API

    def authenticate(self, request: Request) -> tuple[Any, Principal] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("invalid_token: the Authorization header must be 'Bearer <token>'.")
        # The view's rate windows are counted with the credential's check, in one round trip to the
        # shared cache; its throttles read the counts (workspaces.api_base._SettingsRate).
        windows = getattr((request.parser_context or {}).get("view"), "rate_windows", None)
        bearer, counts = bearer_lookup_counting(parts[1].decode("latin-1"), windows)
        request.rate_counts = counts  # type: ignore[attr-defined]  # read by the throttles
        # An OAuth token bound to resources (RFC 8707) must name this API; API keys are unbound.
        if bearer is None or (bearer.resources and api_resource_uri(request).rstrip("/") not in bearer.resources):
            raise AuthenticationFailed("invalid_token: the token is unknown, expired or revoked.")
        principal = replace(
            bearer.principal,
            channel=self.channel,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            request_id=getattr(request, "request_id", ""),
        )
        # Use is recorded through the audit pipeline (workspaces.audit), not with a write here.
        return principal.user, principal

    def authenticate_header(self, request: Request) -> str:
        metadata = request.build_absolute_uri("/.well-known/oauth-protected-resource/api/v1")
        return f'Bearer realm="api", error="invalid_token", resource_metadata="{metadata}"'
