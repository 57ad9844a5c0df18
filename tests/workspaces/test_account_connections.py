"""Account → Connected apps & API keys (server-rendered page, Django test client)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import ConnectionFactory, OAuthAccessTokenFactory
from workspaces.models import AuditEvent, Connection, OAuthAccessToken

URL = "/account/connections/"


def test_signed_out_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_member_sees_own_connections_an_admin_all_of_the_workspace(client, member, other_member, admin):
    mine = ConnectionFactory(membership=member, label="My Claude")
    theirs = ConnectionFactory(membership=other_member, label="Their Cursor")
    ConnectionFactory(label="Stranger's agent")
    client.force_login(member.user)
    page = client.get(URL).content.decode()
    assert "My Claude" in page
    assert "Their Cursor" not in page
    assert "Stranger's agent" not in page
    client.force_login(admin.user)
    page = client.get(URL).content.decode()
    assert "My Claude" in page
    assert "Their Cursor" in page
    assert "Stranger's agent" not in page
    assert mine.pk != theirs.pk


def test_revoke_from_the_page_kills_the_tokens(client, member):
    connection = ConnectionFactory(membership=member, label="My Claude")
    token = OAuthAccessTokenFactory(connection=connection)
    client.force_login(member.user)
    response = client.post(f"{URL}{connection.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert "Revoked" in response.content.decode()
    connection.refresh_from_db()
    assert connection.revoked_at is not None
    assert not OAuthAccessToken.objects.filter(pk=token.pk).exists()
    assert AuditEvent.objects.filter(action="connection.revoke", actor=member.user).count() == 1


def test_another_persons_or_workspaces_connection_is_404(client, member, other_member):
    theirs = ConnectionFactory(membership=other_member)
    stranger = ConnectionFactory()
    client.force_login(member.user)
    for connection in (theirs, stranger):
        assert client.post(f"{URL}{connection.pk}/revoke/").status_code == 404
        connection.refresh_from_db()
        assert connection.revoked_at is None


def test_get_is_not_allowed_for_revoke(client, member):
    connection = ConnectionFactory(membership=member)
    client.force_login(member.user)
    assert client.get(f"{URL}{connection.pk}/revoke/").status_code == 405


def test_an_api_key_is_created_and_shown_once(client, member):
    client.force_login(member.user)
    response = client.post(URL, {"workspace": "acme", "label": "Nightly export", "scopes": ["read"]})
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret.startswith("tt_")
    assert secret in response.content.decode()
    assert secret not in client.get(URL).content.decode()
    connection = Connection.objects.get()
    assert (connection.kind, connection.label, connection.scopes) == ("api_key", "Nightly export", "read")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/me").json()["workspace"] == "acme"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"workspace": "acme", "label": "x", "scopes": ["admin"]}, "None of the requested scopes"),
        ({"workspace": "acme", "label": "x", "scopes": ["read"], "allow_sensitive": "on"}, "Only admins and owners"),
        ({"workspace": "elsewhere", "label": "x", "scopes": ["read"]}, "Select a valid choice"),
    ],
)
def test_key_creation_errors_are_clear(client, member, data, message):
    client.force_login(member.user)
    response = client.post(URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Connection.objects.exists()
