"""Callers of the workspaces REST endpoints: an API key of a membership, or a signed-in session."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tests.conftest import principal_for
from workspaces import connection_services
from workspaces.models import Membership, Role

ALL_SCOPES = ("read", "write", "admin")


def key_for(membership: Membership, scopes=ALL_SCOPES, allow_sensitive: bool | None = None) -> str:
    """A key with the scopes its role can use; admins' and owners' allow sensitive data unless told."""
    if allow_sensitive is None:
        allow_sensitive = membership.role in (Role.ADMIN, Role.OWNER)
    return connection_services.api_key_create(
        actor=principal_for(membership), label="test", scopes=list(scopes), allow_sensitive=allow_sensitive
    ).secret


@pytest.fixture
def api_as() -> Callable[..., APIClient]:
    """``api_as(membership, scopes=..., allow_sensitive=...)``: a client calling with an API key."""

    def make(membership: Membership, **kwargs) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(membership, **kwargs)}")
        return client

    return make


@pytest.fixture
def session_as() -> Callable[[Membership], APIClient]:
    """``session_as(membership)``: a client signed in as the membership's user (browser session)."""

    def make(membership: Membership) -> APIClient:
        client = APIClient()
        client.force_login(membership.user)
        return client

    return make
