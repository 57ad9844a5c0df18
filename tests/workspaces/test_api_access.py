"""Access to the REST API through connections: exact statuses and codes (DRF test client over the real stack)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import principal_for
from tests.factories import ConnectionFactory, MembershipFactory, WorkspaceFactory
from workspaces import connection_services
from workspaces.models import Connection, Role, Workspace


@pytest.fixture
def api():
    return APIClient()


def key_for(membership, scopes=("read", "write", "admin"), **kwargs) -> str:
    return connection_services.api_key_create(
        actor=principal_for(membership), label="test", scopes=scopes, **kwargs
    ).secret


def call(api, key, method="get", slug="acme", data=None):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return getattr(api, method)(f"/api/v1/workspaces/{slug}", data=data, format="json")


def test_an_api_key_reads_its_workspace(api, member):
    response = call(api, key_for(member))
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_another_workspace_answers_404_like_a_missing_one(api, member):
    WorkspaceFactory(slug="globex")
    key = key_for(member)
    for slug in ("globex", "does-not-exist"):
        response = call(api, key, slug=slug)
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Workspace not found.", "fields": {}}}


def test_even_a_member_of_both_workspaces_is_bound_to_the_keys_workspace(api, member):
    other = WorkspaceFactory(slug="globex")
    MembershipFactory(user=member.user, workspace=other, role=Role.OWNER)
    assert call(api, key_for(member), slug="globex").status_code == 404


def test_a_missing_scope_is_403_insufficient_scope(api, admin):
    response = call(api, key_for(admin, scopes=("read",)), method="patch", data={"name": "Renamed"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert "'admin' scope" in response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="admin"'
    assert Workspace.objects.get(slug="acme").name == "Acme Studio"


def test_a_role_too_low_is_403_forbidden(api, member):
    api.force_login(member.user)  # a browser session holds every scope: only the role is missing
    response = api.patch("/api/v1/workspaces/acme", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_an_admin_with_the_admin_scope_changes_settings_and_unknown_fields_are_named(api, admin):
    key = key_for(admin)
    response = call(api, key, method="patch", data={"name": "Renamed", "slug": "x", "owner": 1})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == {"owner", "slug"}
    response = call(api, key, method="patch", data={"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"


def test_a_workspace_can_switch_api_access_off_for_every_connection(api, member, workspace):
    key = key_for(member)
    workspace.api_enabled = False
    workspace.save()
    response = call(api, key)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "API access is turned off for this workspace; ask a workspace admin."


@pytest.mark.parametrize(
    "stop",
    ["revoke", "deactivate_membership", "remove_membership", "disable_user", "deactivate_workspace"],
)
def test_access_stops_on_the_very_next_request(api, member, stop):
    key = key_for(member)
    assert call(api, key).status_code == 200
    if stop == "revoke":
        connection_services.connection_revoke(actor=principal_for(member), connection=Connection.objects.get())
    elif stop == "deactivate_membership":
        member.is_active = False
        member.save()
    elif stop == "remove_membership":
        member.delete()
    elif stop == "disable_user":
        member.user.is_active = False
        member.user.save()
    elif stop == "deactivate_workspace":
        member.workspace.is_active = False
        member.workspace.save()
    response = call(api, key)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_an_expired_or_garbage_key_is_401(api, member):
    key = key_for(member, expires_at=timezone.now() + timedelta(seconds=60))
    Connection.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for bad in (key, "tt_garbage", "garbage"):
        response = call(api, bad)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"


def test_anonymous_is_401_and_a_signed_in_member_uses_the_session(api, member):
    response = api.get("/api/v1/workspaces/acme")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    api.force_authenticate(user=None)
    api.force_login(member.user)
    assert api.get("/api/v1/workspaces/acme").status_code == 200
    ConnectionFactory()  # unrelated connections change nothing
    assert api.get("/api/v1/workspaces/elsewhere").status_code == 404


def test_use_is_recorded_at_most_once_a_minute(api, member):
    key = key_for(member)
    assert Connection.objects.get().last_used_at is None
    call(api, key)
    first = Connection.objects.get().last_used_at
    assert first is not None
    call(api, key)
    assert Connection.objects.get().last_used_at == first
    Connection.objects.update(last_used_at=first - timedelta(minutes=2))
    call(api, key)
    latest = Connection.objects.get().last_used_at
    assert latest is not None
    assert latest > first
