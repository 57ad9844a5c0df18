"""Callers of the timesheets REST endpoints, and the world their tests share."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tests.api_matrix import ALL_SCOPES, key_for
from workspaces.models import Membership

BASE = "/api/v1/workspaces/acme/"


@pytest.fixture
def api_as() -> Callable[..., APIClient]:
    """``api_as(membership, scopes=...)``: a client calling with an API key of that membership."""

    def make(membership: Membership, scopes: tuple[str, ...] = ALL_SCOPES) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(membership, scopes)}")
        return client

    return make
