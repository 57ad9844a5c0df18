"""A small OAuth client for tests that speaks real HTTP to a live server, as an MCP agent would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import requests

REDIRECT_URI = "http://127.0.0.1:33418/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = hidden_fields(page.text)["csrfmiddlewaretoken"]
    response = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    assert response.status_code == 200, response.text[:500]
    assert "sessionid" in session.cookies
    return session


@dataclass
class Agent:
    base: str
    client_id: str = ""
    verifier: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def register(self, redirect_uri: str = REDIRECT_URI) -> requests.Response:
        response = requests.post(
            f"{self.base}/oauth/register/",
            json={
                "client_name": "Test agent",
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            timeout=10,
        )
        if response.status_code == 201:
            self.client_id = response.json()["client_id"]
        return response

    def authorize_url(self, *, scope: str = "read write", resource: str, method: str | None = "S256") -> str:
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "xyz",
            "resource": resource,
        }
        if method == "S256":
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        elif method == "plain":
            params |= {"code_challenge": self.verifier, "code_challenge_method": "plain"}
        return f"{self.base}/oauth/authorize/?" + requests.compat.urlencode(params)

    def consent(self, session: requests.Session, url: str, *, workspace_member_id: int, approve: bool = True) -> str:
        """Open the consent page, pick the workspace, approve; return the code from the redirect."""
        page = session.get(url, timeout=10)
        assert page.status_code == 200, page.text[:1000]
        data = hidden_fields(page.text) | {"workspace": str(workspace_member_id)}
        if approve:
            data["allow"] = "on"
        response = session.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:1000]
        query = parse_qs(urlparse(response.headers["Location"]).query)
        assert query.get("state") == ["xyz"]
        return query.get("code", [""])[0] if approve else query["error"][0]

    def exchange(self, code: str, *, resource: str, verifier: str | None = None) -> requests.Response:
        response = requests.post(
            f"{self.base}/oauth/token/",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": self.client_id,
                "code_verifier": verifier if verifier is not None else self.verifier,
                "resource": resource,
            },
            timeout=10,
        )
        if response.status_code == 200:
            self.tokens = response.json()
        return response

    def refresh(self, refresh_token: str | None = None) -> requests.Response:
        response = requests.post(
            f"{self.base}/oauth/token/",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token or self.tokens["refresh_token"],
                "client_id": self.client_id,
            },
            timeout=10,
        )
        if response.status_code == 200:
            self.tokens = response.json()
        return response

    def me(self, token: str | None = None) -> requests.Response:
        bearer = token or self.tokens["access_token"]
        return requests.get(f"{self.base}/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
