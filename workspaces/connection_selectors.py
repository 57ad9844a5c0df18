"""Reads of connections: who a credential stands for, and whether it may still be used."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from workspaces import policies
from workspaces.connection_services import API_KEY_PREFIX, api_key_hash
from workspaces.models import Channel, Connection, ConnectionKind, Membership, User
from workspaces.principals import Principal
from workspaces.selectors import get_or_not_found


def connection_stop_reason(connection: Connection, membership: Membership | None) -> str | None:
    """Why this connection may not be used now (revoked, expired, person or workspace gone), or None."""
    if connection.revoked_at is not None:
        return "This connection was revoked."
    if connection.expires_at is not None and connection.expires_at <= timezone.now():
        return "This API key has expired."
    if not connection.user.is_active:
        return "The user of this connection is disabled."
    if not connection.workspace.is_active:
        return "The workspace of this connection is deactivated."
    if membership is None or not membership.is_active:
        return "The user is no longer an active member of this workspace."
    return None


def connection_principal(connection: Connection, *, channel: str = Channel.API, **context: object) -> Principal | None:
    """The principal a live connection acts as — scopes cut to what the member's role can use — or None."""
    membership = (
        Membership.objects.filter(user_id=connection.user_id, workspace_id=connection.workspace_id)
        .select_related("workspace")
        .first()
    )
    if connection_stop_reason(connection, membership) is not None or membership is None:
        return None
    scopes = connection.scope_set & policies.scopes_for_role(membership.role)
    return Principal(
        user=connection.user,
        membership=membership,
        channel=channel,
        scopes=frozenset(scopes),
        connection=connection,
        **context,  # type: ignore[arg-type]
    )


def connection_for_api_key(secret: str) -> Connection | None:
    """The connection of an API key, or None for an unknown key (revocation is checked by the caller)."""
    if not secret.startswith(API_KEY_PREFIX):
        return None
    return (
        Connection.objects.select_related("user", "workspace")
        .filter(key_hash=api_key_hash(secret), kind="api_key")
        .first()
    )


def connection_list(*, actor: Principal, include_revoked: bool = False) -> QuerySet[Connection]:
    """The caller's own connections in this workspace; admins see every connection of the workspace."""
    qs = Connection.objects.filter(workspace=actor.workspace).select_related("user", "application", "revoked_by")
    if not policies.role_at_least(actor.membership.role, "admin"):
        qs = qs.filter(user=actor.user)
    return qs if include_revoked else qs.filter(revoked_at__isnull=True)


def connection_get(*, actor: Principal, connection_id: object) -> Connection:
    """One connection the caller may see (revoked ones included); any other answers not found."""
    return get_or_not_found(connection_list(actor=actor, include_revoked=True), connection_id, label="Connection")


def api_key_list(*, actor: Principal, include_revoked: bool = False) -> QuerySet[Connection]:
    """The caller's own API keys in this workspace (an admin's too: others' keys are under connections)."""
    qs = Connection.objects.filter(workspace=actor.workspace, user=actor.user, kind=ConnectionKind.API_KEY)
    return qs if include_revoked else qs.filter(revoked_at__isnull=True)


def api_key_get(*, actor: Principal, key_id: object) -> Connection:
    """One of the caller's own API keys (revoked ones included); anyone else's answers not found."""
    return get_or_not_found(api_key_list(actor=actor, include_revoked=True), key_id, label="API key")


def connection_list_for_user(*, user: User) -> QuerySet[Connection]:
    """The user's own connections, plus every connection of the workspaces the user administers."""
    administered = Membership.objects.filter(
        user=user, is_active=True, workspace__is_active=True, role__in=["admin", "owner"]
    ).values("workspace_id")
    return (
        Connection.objects.filter(Q(user=user) | Q(workspace_id__in=administered))
        .select_related("user", "workspace", "application", "revoked_by")
        .order_by("revoked_at", "-created_at")
    )
