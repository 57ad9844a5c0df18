"""Client ID metadata documents (CIMD): an agent identified by the URL of its metadata document.

No network here: the document is served by a fetcher given in the settings, which is the
extension point DOT offers for egress proxies; everything after the fetch is DOT's and ours.
"""

from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.workspaces.oauth_client import REDIRECT_URI, hidden_fields, pkce_pair
from workspaces.models import Connection, OAuthApplication

CLIENT_ID = "https://agent.example.com/oauth/client.json"


class StaticFetcher:
    def fetch(self, client_id):
        return (
            {
                "client_id": CLIENT_ID,
                "client_name": "Example Agent (CIMD)",
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            },
            3600,
        )


@pytest.fixture
def cimd(settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_METADATA_FETCHER": f"{__name__}.StaticFetcher"}


@pytest.mark.usefixtures("cimd")
def test_an_agent_known_by_its_metadata_url_goes_through_consent_and_gets_a_token(client, member):
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    client.force_login(member.user)
    url = "/oauth/authorize/?" + urlencode(query)
    page = client.get(url)
    assert page.status_code == 200
    assert "Example Agent (CIMD)" in page.content.decode()
    application = OAuthApplication.objects.get(client_id=CLIENT_ID)
    assert application.registration_source == OAuthApplication.RegistrationSource.CIMD

    data = hidden_fields(page.content.decode()) | {"workspace": str(member.pk), "allow": "on"}
    response = client.post(url, data)
    assert response.status_code == 302
    code = parse_qs(urlparse(response["Location"]).query)["code"][0]
    token = client.post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content
    assert Connection.objects.get().application == application
