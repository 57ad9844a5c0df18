"""Who is calling /mcp: a bearer credential → its Connection → the Principal the tools act as.

The SDK's bearer middleware asks :class:`ConnectionTokenVerifier` about every request and then
refuses (401, with the RFC 9728 ``resource_metadata`` challenge) any token whose ``resource`` is
not ``settings.MCP_RESOURCE_URL``. So an OAuth token issued for ``/api/v1``, or for no resource
at all, never works here. API keys are not bound to a resource and work at both.

The lookup is :func:`workspaces.credentials.bearer_lookup_counting`, cached per process but checked against
a shared generation on every call: a revoked connection, a deactivated member or workspace, a
disabled user stop on the very next request, in every process.
"""

from __future__ import annotations

from dataclasses import replace

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.auth.provider import AccessToken

from mcp_gateway.rate import rate_windows
from mcp_gateway.registry import refresh_connections
from workspaces.credentials import bearer_lookup_counting
from workspaces.models import Channel
from workspaces.principals import Principal

PRINCIPAL_CLAIM = "timetracker.principal"
COUNTS_CLAIM = "timetracker.rate_counts"


def access_for_bearer(raw: str) -> AccessToken | None:
    """An OAuth access token or API key → the SDK's AccessToken carrying our Principal, or None."""
    refresh_connections()
    try:
        bearer, counts = bearer_lookup_counting(raw, rate_windows)  # this minute's call counted too
    finally:
        refresh_connections()
    if bearer is None:
        return None
    if bearer.kind == "api_key":
        resource: str | None = settings.MCP_RESOURCE_URL
    else:
        # No resource, or only others: the SDK refuses it (resource None or not ours).
        wanted = settings.MCP_RESOURCE_URL.rstrip("/")
        resource = wanted if wanted in bearer.resources else (bearer.resources[0] if bearer.resources else None)
    principal = replace(bearer.principal, channel=Channel.MCP)
    return AccessToken(
        token=raw,
        client_id=bearer.client_id,
        scopes=sorted(principal.scopes),
        expires_at=int(bearer.expires.timestamp()) if bearer.expires is not None else None,
        resource=resource,
        subject=str(principal.user.pk),
        claims={PRINCIPAL_CLAIM: principal, COUNTS_CLAIM: counts},
    )


def counts_of(access: AccessToken) -> dict[str, int]:
    """The rate counts taken with the bearer's check (``mcp_gateway.rate``); empty if none were."""
    counts = (access.claims or {}).get(COUNTS_CLAIM)
    return counts if isinstance(counts, dict) else {}


def principal_of(access: AccessToken) -> Principal:
    principal = (access.claims or {}).get(PRINCIPAL_CLAIM)
    assert isinstance(principal, Principal), "the token verifier sets the principal"
    return principal


class ConnectionTokenVerifier:
    """The SDK's TokenVerifier: DOT access tokens bound to /mcp, and API keys."""

    async def verify_token(self, token: str) -> AccessToken | None:
        return await sync_to_async(access_for_bearer, thread_sensitive=False)(token)
