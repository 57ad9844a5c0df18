"""Our extension of django-oauth-toolkit's validator: every code and token carries its Connection.

Only what DOT cannot know is added here: which Connection a consent created (carried from
the consent view on the grant, then onto each access and refresh token, and inherited on
refresh), the absolute refresh lifetime, reuse detection that stops the whole connection,
and refusing tokens of a connection that may no longer be used.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator

from workspaces.connection_selectors import connection_stop_reason
from workspaces.models import Connection, Membership, OAuthAccessToken, OAuthGrant, OAuthRefreshToken


def absolute_refresh_lifetime() -> timedelta:
    return timedelta(seconds=int(settings.OAUTH_ABSOLUTE_REFRESH_LIFETIME_SECONDS))


def connection_tokens_revoke(connection_id: int) -> None:
    """Stop every token of a connection (reuse detected): refresh tokens revoked, access tokens gone."""
    OAuthRefreshToken.objects.filter(connection_id=connection_id, revoked__isnull=True).update(revoked=timezone.now())
    OAuthAccessToken.objects.filter(connection_id=connection_id).delete()


def _usable(connection_id: int | None) -> bool:
    if connection_id is None:
        return False
    connection = Connection.objects.select_related("user", "workspace").filter(pk=connection_id).first()
    if connection is None:
        return False
    membership = Membership.objects.filter(user_id=connection.user_id, workspace_id=connection.workspace_id).first()
    return connection_stop_reason(connection, membership) is None


class ConnectionOAuth2Validator(OAuth2Validator):
    def _create_authorization_code(self, request: Any, code: dict[str, str], expires: Any = None) -> OAuthGrant:
        grant = super()._create_authorization_code(request, code, expires)
        grant.connection_id = getattr(request, "connection_id", None)
        grant.save(update_fields=["connection"])
        return grant

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        connection_id = OAuthGrant.objects.filter(code=code, application=client).values_list("connection_id", flat=True)
        request.connection_id = connection_id.first()
        return _usable(request.connection_id)

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        instance = getattr(request, "refresh_token_instance", None)
        if not valid or instance is None:
            # A spent (rotated or revoked) refresh token presented again is a replay: DOT revokes
            # its family; we stop every token of its connection.
            checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
            replayed = OAuthRefreshToken.objects.filter(
                token_checksum=checksum, revoked__isnull=False, connection__isnull=False
            ).values_list("connection_id", flat=True)
            for connection_id in set(replayed):
                connection_tokens_revoke(connection_id)
            return False
        request.connection_id = instance.connection_id
        connection = Connection.objects.filter(pk=instance.connection_id).values_list("authorized_at", flat=True)
        authorized_at = connection.first()
        if authorized_at is None or authorized_at + absolute_refresh_lifetime() <= timezone.now():
            return False
        return _usable(instance.connection_id)

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> OAuthAccessToken:
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        access_token.connection_id = getattr(request, "connection_id", None)
        access_token.save(update_fields=["connection"])
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> OAuthRefreshToken:
        refresh = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        refresh.connection_id = getattr(request, "connection_id", None)
        refresh.save(update_fields=["connection"])
        return refresh
