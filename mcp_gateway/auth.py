"""Who is calling /mcp: a bearer credential → its Connection → the Principal the tools act as.

The SDK's bearer middleware asks :class:`ConnectionTokenVerifier` about every request and then
refuses (401, with the RFC 9728 ``resource_metadata`` challenge) any token whose ``resource`` is
not ``settings.MCP_RESOURCE_URL``. So an OAuth token issued for ``/api/v1``, or for no resource
at all, never works here. API keys are not bound to a resource and work at both.

Every lookup goes to the database (one query for the token, one for the membership): a revoked
connection, a deactivated member or workspace, a disabled user stop on the very next request.
"""

from __future__ import annotations

import hashlib

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from mcp.server.auth.provider import AccessToken

from mcp_gateway.registry import refresh_connections
from workspaces.connection_selectors import connection_for_api_key, connection_principal
from workspaces.connection_services import API_KEY_PREFIX
from workspaces.models import Channel, Connection, OAuthAccessToken
from workspaces.principals import Principal

PRINCIPAL_CLAIM = "timetracker.principal"


def _oauth_connection(raw: str) -> tuple[Connection | None, str | None, int | None]:
    """The connection of a live OAuth access token, the resource it names for /mcp, and its expiry."""
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    token = (
        OAuthAccessToken.objects.select_related("connection__user", "connection__workspace", "application")
        .filter(token_checksum=checksum, expires__gt=timezone.now())
        .first()
    )
    if token is None or token.connection is None:
        return None, None, None
    wanted = settings.MCP_RESOURCE_URL.rstrip("/")
    resources = [str(r).rstrip("/") for r in (token.resource or [])]
    # No resource, or only others: the SDK refuses it (resource None or not ours).
    resource = wanted if wanted in resources else (resources[0] if resources else None)
    return token.connection, resource, int(token.expires.timestamp())


def access_for_bearer(raw: str) -> AccessToken | None:
    """An OAuth access token or API key → the SDK's AccessToken carrying our Principal, or None."""
    refresh_connections()
    try:
        if raw.startswith(API_KEY_PREFIX):
            connection = connection_for_api_key(raw)
            resource: str | None = settings.MCP_RESOURCE_URL
            expires_at = None
        else:
            connection, resource, expires_at = _oauth_connection(raw)
        if connection is None:
            return None
        principal = connection_principal(connection, channel=Channel.MCP)
        if principal is None:
            return None
        return AccessToken(
            token=raw,
            client_id=connection.application.client_id
            if connection.application is not None
            else f"api-key:{connection.pk}",
            scopes=sorted(principal.scopes),
            expires_at=expires_at,
            resource=resource,
            subject=str(principal.user.pk),
            claims={PRINCIPAL_CLAIM: principal},
        )
    finally:
        refresh_connections()


def principal_of(access: AccessToken) -> Principal:
    principal = (access.claims or {}).get(PRINCIPAL_CLAIM)
    assert isinstance(principal, Principal), "the token verifier sets the principal"
    return principal


class ConnectionTokenVerifier:
    """The SDK's TokenVerifier: DOT access tokens bound to /mcp, and API keys."""

    async def verify_token(self, token: str) -> AccessToken | None:
        return await sync_to_async(access_for_bearer, thread_sensitive=False)(token)
