"""The OAuth 2.1 flow an MCP agent runs, end to end over real HTTP against a live server."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.workspaces.oauth_client import REDIRECT_URI, Agent, hidden_fields, login
from workspaces.models import AuditEvent, Connection, OAuthAccessToken, OAuthApplication, Role

PASSWORD = "correct horse battery"


@pytest.fixture
def world(transactional_db):
    home = WorkspaceFactory(name="Acme", slug="acme")
    other = WorkspaceFactory(name="Globex", slug="globex")
    member = MembershipFactory(workspace=home, role=Role.MEMBER, user__username="sam")
    MembershipFactory(workspace=other, role=Role.MEMBER, user=member.user)
    return {"member": member, "home": home, "other": other}


@pytest.fixture
def agent(live_server):
    agent = Agent(base=live_server.url)
    assert agent.register().status_code == 201
    return agent


def api(live_server) -> str:
    return f"{live_server.url}/api/v1"


@pytest.mark.slow
def test_register_authorize_exchange_call_refresh_revoke(live_server, world, agent):
    member = world["member"]
    session = login(live_server.url, "sam", PASSWORD)

    # The consent page names the client, its redirect host, the scopes, and both workspaces.
    url = agent.authorize_url(resource=api(live_server))
    page = session.get(url, timeout=10).text
    assert "Test agent" in page
    assert "127.0.0.1:33418" in page
    assert "Log, change and delete time" in page
    assert "Acme" in page
    assert "Globex" in page
    assert re.search(r'name="allow_sensitive"[^>]*disabled', page)  # a member cannot allow it

    code = agent.consent(session, url, workspace_member_id=member.pk)
    token = agent.exchange(code, resource=api(live_server))
    assert token.status_code == 200, token.text
    assert token.json()["expires_in"] <= 3600
    assert set(token.json()["scope"].split()) == {"read", "write"}

    me = agent.me()
    assert me.status_code == 200, me.text
    assert me.json() | {"connection_id": None} == {
        "username": "sam",
        "workspace": "acme",
        "role": "member",
        "scopes": ["read", "write"],
        "connection_id": None,
        "allow_sensitive": False,
    }
    connection = Connection.objects.get(pk=me.json()["connection_id"])
    assert (connection.kind, connection.workspace, connection.allow_sensitive) == ("oauth", world["home"], False)
    stored = OAuthAccessToken.objects.get(connection=connection)
    assert stored.resource == [api(live_server)]

    first_access = agent.tokens["access_token"]
    refreshed = agent.refresh()
    assert refreshed.status_code == 200, refreshed.text
    assert agent.tokens["access_token"] != first_access
    assert agent.me().status_code == 200
    assert OAuthAccessToken.objects.get(pk__gt=stored.pk).connection == connection

    # An admin revokes the connection in Django admin: the next call is 401.
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    staff.set_password(PASSWORD)
    staff.save()
    admin_session = login(live_server.url, "root", PASSWORD)
    changelist = f"{live_server.url}/admin/workspaces/connection/"
    csrf = admin_session.cookies["csrftoken"]
    response = admin_session.post(
        changelist,
        data={"csrfmiddlewaretoken": csrf, "action": "revoke_selected", "_selected_action": [connection.pk]},
        headers={"Referer": changelist},
        timeout=10,
    )
    assert response.status_code == 200
    after = agent.me()
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "resource_metadata=" in after.headers["WWW-Authenticate"]
    assert agent.refresh().status_code == 400
    assert AuditEvent.objects.filter(action="oauth.consent.approve", target_id=str(connection.pk)).count() == 1
    assert AuditEvent.objects.filter(action="connection.revoke", target_id=str(connection.pk)).count() == 1


@pytest.mark.slow
@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_s256_is_required(live_server, world, agent, method):
    session = login(live_server.url, "sam", PASSWORD)
    response = session.get(
        agent.authorize_url(resource=api(live_server), method=method), timeout=10, allow_redirects=False
    )
    # Refused before any consent is shown: sent back to the client with invalid_request.
    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI)
    assert "error=invalid_request" in response.headers["Location"]
    assert not Connection.objects.exists()


@pytest.mark.slow
def test_a_code_works_once_and_only_with_its_verifier(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    url = agent.authorize_url(resource=api(live_server))
    code = agent.consent(session, url, workspace_member_id=world["member"].pk)
    assert agent.exchange(code, resource=api(live_server), verifier="wrong-" * 8).status_code == 400
    code = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk
    )
    assert agent.exchange(code, resource=api(live_server)).status_code == 200
    again = agent.exchange(code, resource=api(live_server))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.slow
def test_a_reused_refresh_token_stops_every_token_of_the_connection(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    code = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk
    )
    agent.exchange(code, resource=api(live_server))
    stolen = agent.tokens["refresh_token"]
    assert agent.refresh().status_code == 200
    current = agent.tokens["access_token"]
    assert agent.me(current).status_code == 200

    replay = agent.refresh(stolen)
    assert replay.status_code == 400
    assert agent.me(current).status_code == 401
    assert agent.refresh().status_code == 400


@pytest.mark.slow
def test_the_redirect_uri_must_match_exactly(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    url = agent.authorize_url(resource=api(live_server)).replace(
        requests.compat.quote(REDIRECT_URI, safe=""), requests.compat.quote(REDIRECT_URI + "/evil", safe="")
    )
    response = session.get(url, timeout=10, allow_redirects=False)
    assert response.status_code == 400
    assert "evil" not in response.headers.get("Location", "")


@pytest.mark.slow
def test_denying_consent_creates_nothing(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    error = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk, approve=False
    )
    assert error == "access_denied"
    assert not Connection.objects.exists()
    assert AuditEvent.objects.filter(action="oauth.consent.deny").count() == 1


@pytest.mark.slow
def test_garbage_and_missing_tokens_are_401_with_www_authenticate(live_server, world):
    for headers in ({"Authorization": "Bearer garbage"}, {}, {"Authorization": "Bearer tt_unknown"}):
        response = requests.get(f"{live_server.url}/api/v1/me", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_metadata_documents(live_server, db):
    server = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server", timeout=10).json()
    assert server["authorization_endpoint"] == f"{live_server.url}/oauth/authorize/"
    assert server["token_endpoint"] == f"{live_server.url}/oauth/token/"
    assert server["registration_endpoint"] == f"{live_server.url}/oauth/register/"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in server.get("grant_types_supported", [])
    assert "password" not in server.get("grant_types_supported", [])
    for path in ("mcp", "api/v1"):
        resource = requests.get(f"{live_server.url}/.well-known/oauth-protected-resource/{path}", timeout=10)
        assert resource.status_code == 200
        assert resource.json()["resource"] == f"{live_server.url}/{path}"


@pytest.mark.slow
def test_a_tampered_consent_form_without_s256_creates_no_connection(live_server, world, agent):

    session = login(live_server.url, "sam", PASSWORD)
    url = agent.authorize_url(resource=api(live_server))
    data = hidden_fields(session.get(url, timeout=10).text)
    data |= {"code_challenge_method": "plain", "workspace": str(world["member"].pk), "allow": "on"}
    response = session.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI)
    assert "error=invalid_request" in response.headers["Location"]
    assert not Connection.objects.exists()


@pytest.mark.slow
def test_admins_may_allow_sensitive_data_and_get_the_admin_scope(live_server, world, agent):
    owner = MembershipFactory(workspace=world["home"], role=Role.OWNER, user__username="olivia")
    session = login(live_server.url, "olivia", PASSWORD)
    url = agent.authorize_url(resource=api(live_server), scope="read admin")

    data = hidden_fields(session.get(url, timeout=10).text)
    data |= {"workspace": str(owner.pk), "allow": "on", "allow_sensitive": "on"}
    response = session.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=10)
    code = parse_qs(urlparse(response.headers["Location"]).query)["code"][0]
    assert agent.exchange(code, resource=api(live_server)).status_code == 200
    me = agent.me().json()
    assert (me["role"], me["scopes"], me["allow_sensitive"]) == ("owner", ["admin", "read"], True)


@pytest.mark.slow
def test_a_token_for_another_resource_is_refused_by_the_api(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    code = agent.consent(
        session, agent.authorize_url(resource=f"{live_server.url}/mcp"), workspace_member_id=world["member"].pk
    )
    assert agent.exchange(code, resource=f"{live_server.url}/mcp").status_code == 200
    assert agent.me().status_code == 401


@pytest.mark.slow
def test_rfc7009_revocation_endpoint(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    code = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk
    )
    agent.exchange(code, resource=api(live_server))
    assert agent.me().status_code == 200
    response = requests.post(
        f"{live_server.url}/oauth/revoke_token/",
        data={"token": agent.tokens["access_token"], "client_id": agent.client_id},
        timeout=10,
    )
    assert response.status_code == 200
    assert agent.me().status_code == 401


@pytest.mark.slow
def test_an_oauth_token_is_bound_to_its_workspace_and_expires(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    code = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk
    )
    agent.exchange(code, resource=api(live_server))
    headers = {"Authorization": f"Bearer {agent.tokens['access_token']}"}

    # sam is a member of Globex too, but this token was bound to Acme at consent.
    assert requests.get(f"{api(live_server)}/workspaces/acme", headers=headers, timeout=10).status_code == 200
    other = requests.get(f"{api(live_server)}/workspaces/globex", headers=headers, timeout=10)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"

    for token in OAuthAccessToken.objects.all():  # (the cached expiry is tested in test_credentials.py)
        token.expires = timezone.now() - timedelta(seconds=1)
        token.save(update_fields=["expires"])
    expired = requests.get(f"{api(live_server)}/workspaces/acme", headers=headers, timeout=10)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "invalid_token"
    assert expired.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.slow
def test_rfc7662_introspection_for_a_confidential_resource_server(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    code = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk
    )
    agent.exchange(code, resource=api(live_server))
    OAuthApplication.objects.create(
        name="Resource server",
        client_id="rs",
        client_secret="rs-secret-value",
        client_type=OAuthApplication.CLIENT_CONFIDENTIAL,
        authorization_grant_type=OAuthApplication.GRANT_CLIENT_CREDENTIALS,
    )
    active = requests.post(
        f"{live_server.url}/oauth/introspect/",
        data={"token": agent.tokens["access_token"]},
        auth=("rs", "rs-secret-value"),
        timeout=10,
    )
    assert active.status_code == 200, active.text
    assert active.json()["active"] is True
    assert set(active.json()["scope"].split()) == {"read", "write"}
    unknown = requests.post(
        f"{live_server.url}/oauth/introspect/", data={"token": "nope"}, auth=("rs", "rs-secret-value"), timeout=10
    )
    assert unknown.json() == {"active": False}
    anonymous = requests.post(f"{live_server.url}/oauth/introspect/", data={"token": "nope"}, timeout=10)
    assert anonymous.status_code == 403


@pytest.mark.slow
def test_refresh_tokens_end_a_fixed_time_after_consent_however_often_rotated(live_server, world, agent):
    session = login(live_server.url, "sam", PASSWORD)
    code = agent.consent(
        session, agent.authorize_url(resource=api(live_server)), workspace_member_id=world["member"].pk
    )
    agent.exchange(code, resource=api(live_server))
    assert agent.refresh().status_code == 200
    Connection.objects.update(authorized_at=timezone.now() - timedelta(days=30, seconds=1))
    response = agent.refresh()
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
