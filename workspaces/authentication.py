"""DRF authentication: a bearer credential (OAuth access token or API key) → its Connection's principal.

``request.user`` is the connection's user and ``request.auth`` the :class:`Principal`, so the
faces hand the same object to every selector and service. Every lookup goes to the database,
so a revocation, deactivation or expiry takes effect on the very next request.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from workspaces.connection_selectors import connection_for_api_key, connection_principal
from workspaces.connection_services import API_KEY_PREFIX
from workspaces.models import Channel, Connection, OAuthAccessToken
from workspaces.principals import Principal


def api_resource_uri(request: Any) -> str:
    """This server's API, as the resource an OAuth token must be bound to (RFC 8707)."""
    return request.build_absolute_uri("/api/v1")


def connection_for_access_token(raw: str, *, resource: str) -> Connection | None:
    """The connection of a live OAuth access token issued for ``resource`` (or for no resource)."""
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    token = (
        OAuthAccessToken.objects.select_related("connection__user", "connection__workspace")
        .filter(token_checksum=checksum, expires__gt=timezone.now())
        .first()
    )
    if token is None or token.connection is None:
        return None
    if token.resource and resource.rstrip("/") not in [r.rstrip("/") for r in token.resource]:
        return None
    return token.connection


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <OAuth access token | tt_… API key>``."""

    channel = Channel.API

    def authenticate(self, request: Request) -> tuple[Any, Principal] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("invalid_token: the Authorization header must be 'Bearer <token>'.")
        raw = parts[1].decode("latin-1")
        if raw.startswith(API_KEY_PREFIX):
            connection = connection_for_api_key(raw)
        else:
            connection = connection_for_access_token(raw, resource=api_resource_uri(request))
        principal = (
            connection_principal(
                connection,
                channel=self.channel,
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                request_id=getattr(request, "request_id", ""),
            )
            if connection is not None
            else None
        )
        if principal is None:
            raise AuthenticationFailed("invalid_token: the token is unknown, expired or revoked.")
        # Use is recorded through the audit pipeline (workspaces.audit), not with a write here.
        return principal.user, principal

    def authenticate_header(self, request: Request) -> str:
        metadata = request.build_absolute_uri("/.well-known/oauth-protected-resource/api/v1")
        return f'Bearer realm="api", error="invalid_token", resource_metadata="{metadata}"'
