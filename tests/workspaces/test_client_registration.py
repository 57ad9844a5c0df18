"""RFC 7591 dynamic registration: public clients only, loopback-or-https redirects, rate-limited."""

import pytest

from workspaces.models import OAuthApplication

pytestmark = pytest.mark.django_db


def register(client, redirect_uris, **extra):
    body = {
        "client_name": "Agent",
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    } | extra
    return client.post("/oauth/register/", body, content_type="application/json")


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:33418/callback",
        "http://localhost:6274/oauth/callback",
        "http://[::1]:8080/cb",
        "https://app.example.com/cb",
    ],
)
def test_loopback_http_and_https_redirects_are_accepted(client, uri):
    response = register(client, [uri])
    assert response.status_code == 201, response.content
    app = OAuthApplication.objects.get(client_id=response.json()["client_id"])
    assert app.client_type == OAuthApplication.CLIENT_PUBLIC
    assert app.redirect_uris == uri


@pytest.mark.parametrize("uri", ["http://evil.example.com/cb", "ftp://127.0.0.1/cb", "https://app.example.com/cb#frag"])
def test_other_redirects_are_refused(client, uri):
    response = register(client, [uri])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert not OAuthApplication.objects.exists()


def test_confidential_clients_cannot_register_anonymously(client):
    response = register(client, ["https://app.example.com/cb"], token_endpoint_auth_method="client_secret_basic")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert not OAuthApplication.objects.exists()


def test_registration_is_rate_limited_per_address(client, settings):
    settings.OAUTH_DCR_REGISTRATIONS_PER_HOUR = 3
    statuses = [register(client, ["http://127.0.0.1:1/cb"]).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert OAuthApplication.objects.count() == 3
    assert register(client, ["http://127.0.0.1:1/cb"])["Retry-After"] == "3600"
