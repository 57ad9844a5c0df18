"""Writes of connections: API keys and revocation. (OAuth grants are created at consent.)"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from workspaces import audit, policies
from workspaces.errors import Conflict, Forbidden, Invalid, NotFound
from workspaces.models import (
    Channel,
    Connection,
    ConnectionKind,
    Membership,
    OAuthAccessToken,
    OAuthApplication,
    OAuthRefreshToken,
    Role,
    User,
)
from workspaces.policies import Perm
from workspaces.principals import Principal

API_KEY_PREFIX = "tt_"
API_KEY_VISIBLE_CHARS = 10


def api_key_hash(secret: str) -> str:
    """Keys are 256-bit random strings, so one fast SHA-256 suffices (no salt or stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def granted_scopes(*, role: str, requested: Iterable[str]) -> frozenset[str]:
    """The requested scopes this role can use; the rest are not granted."""
    asked = frozenset(requested)
    unknown = asked - {s.value for s in policies.Scope}
    if unknown:
        raise Invalid(
            f"Unknown scope(s): {', '.join(sorted(unknown))}.", fields={"scopes": ["Use read, write, admin."]}
        )
    return asked & policies.scopes_for_role(role)


@dataclass(frozen=True)
class NewApiKey:
    connection: Connection
    secret: str  # shown once, never stored


@transaction.atomic
def api_key_create(
    *,
    actor: Principal,
    label: str,
    scopes: Iterable[str] = ("read",),
    allow_sensitive: bool = False,
    expires_at: datetime | None = None,
) -> NewApiKey:
    """Create an API key for the caller in the caller's workspace. The secret is returned once."""
    if actor.connection is not None:
        raise Forbidden("API keys are created by a person signed in, not by another connection.")
    label = label.strip()
    if not label:
        raise Invalid("Give the key a name.", fields={"label": ["Required, e.g. 'Nightly export'."]})
    granted = granted_scopes(role=actor.membership.role, requested=scopes)
    if not granted:
        raise Invalid("None of the requested scopes is available to your role.", fields={"scopes": ["Pick read."]})
    if allow_sensitive and not policies.can_allow_sensitive(actor.membership.role):
        raise Forbidden("Only admins and owners can allow sensitive data on a key.")
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid("The expiry must be in the future.", fields={"expires_at": ["In the past."]})
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    connection = Connection.objects.create(
        kind=ConnectionKind.API_KEY,
        user=actor.user,
        workspace=actor.workspace,
        label=label,
        scopes=" ".join(sorted(granted)),
        allow_sensitive=allow_sensitive,
        key_prefix=secret[:API_KEY_VISIBLE_CHARS],
        key_hash=api_key_hash(secret),
        expires_at=expires_at,
    )
    audit.record(
        action="api_key.create",
        actor=actor,
        target=connection,
        detail={"scopes": sorted(granted), "allow_sensitive": allow_sensitive},
    )
    return NewApiKey(connection=connection, secret=secret)


def _may_revoke(user: User, membership: Membership | None, connection: Connection) -> bool:
    if connection.user_id == user.pk:
        return True
    return membership is not None and policies.role_at_least(membership.role, Role.ADMIN)


@transaction.atomic
def connection_revoke(*, actor: Principal | None, connection: Connection, user: User | None = None) -> Connection:
    """Revoke a connection and every token of it, at once. Its owner or a workspace admin may.

    ``actor`` is the principal in the connection's workspace; the Django admin passes ``user``
    (a staff member) instead.
    """
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if actor is not None:
        if connection.workspace_id != actor.workspace.pk:
            raise NotFound("Connection not found.")
        if not _may_revoke(actor.user, actor.membership, connection):
            raise Forbidden("Only the connection's owner or a workspace admin can revoke it.")
        if actor.connection is not None:
            policies.ensure(actor, Perm.MEMBER_MANAGE)
    elif user is None or not user.is_staff:
        raise Forbidden("Revoking needs a signed-in owner, workspace admin or staff member.")
    if connection.revoked_at is not None:
        raise Conflict("This connection is already revoked.")
    revoker = actor.user if actor is not None else user
    now = timezone.now()
    connection.revoked_at, connection.revoked_by = now, revoker
    connection.save(update_fields=["revoked_at", "revoked_by"])
    refreshed = OAuthRefreshToken.objects.filter(connection=connection, revoked__isnull=True).update(revoked=now)
    deleted, _ = OAuthAccessToken.objects.filter(connection=connection).delete()
    audit.record(
        action="connection.revoke",
        actor=actor,
        user=None if actor is not None else revoker,
        workspace=connection.workspace,
        channel=None if actor is not None else Channel.ADMIN,
        target=connection,
        detail={"access_tokens_deleted": deleted, "refresh_tokens_revoked": refreshed},
    )
    return connection


@transaction.atomic
def oauth_consent_approve(
    *,
    user: User,
    application: OAuthApplication,
    membership: Membership,
    requested_scopes: Iterable[str],
    allow_sensitive: bool = False,
) -> Connection:
    """The person approved the client for one workspace: create or update its Connection.

    Scopes the member's role cannot use are not granted; sensitive data only for admins.
    Consenting again to the same client for the same workspace updates the live connection.
    """
    if membership.user_id != user.pk or not membership.is_active or not membership.workspace.is_active:
        raise NotFound("Workspace not found.")
    granted = granted_scopes(role=membership.role, requested=requested_scopes)
    if not granted:
        raise Invalid("Your role in this workspace can use none of the requested scopes.")
    if allow_sensitive and not policies.can_allow_sensitive(membership.role):
        raise Forbidden("Only admins and owners can allow sensitive data.")
    connection, created = Connection.objects.select_for_update().get_or_create(
        kind=ConnectionKind.OAUTH,
        application=application,
        user=user,
        workspace=membership.workspace,
        revoked_at__isnull=True,
        defaults={"label": application.name},
    )
    connection.scopes = " ".join(sorted(granted))
    connection.allow_sensitive = allow_sensitive
    connection.authorized_at = timezone.now()
    connection.save(update_fields=["scopes", "allow_sensitive", "authorized_at"])
    audit.record(
        action="oauth.consent.approve",
        user=user,
        workspace=membership.workspace,
        channel=Channel.WEB,
        target=connection,
        detail={
            "client": application.name,
            "scopes": sorted(granted),
            "allow_sensitive": allow_sensitive,
            "new": created,
        },
    )
    return connection


def oauth_consent_deny(*, user: User, application: OAuthApplication, membership: Membership | None) -> None:
    """Record that the person refused the client."""
    audit.record(
        action="oauth.consent.deny",
        user=user,
        workspace=membership.workspace if membership is not None else None,
        channel=Channel.WEB,
        detail={"client": application.name, "client_id": application.client_id},
    )
