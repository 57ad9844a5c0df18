"""The REST access matrix: one table row per endpoint and method, the exact status for each caller.

A row names what each role gets (member, manager, admin, owner, each through an API key with
every scope); three callers answer the same everywhere and are checked on every row too:
anonymous → 401, an owner's key of another workspace → 404, the owner's key without the
operation's scope → 403 ``insufficient_scope``.

Each app's table lives in ``tests/<app>/api/test_access_matrix.py`` and runs through
:func:`check` with a ``world`` of ids to fill the paths' ``{placeholders}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

from tests.conftest import principal_for
from tests.factories import MembershipFactory, WorkspaceFactory
from workspaces import connection_services
from workspaces.models import Membership, Role

ROLES = ("member", "manager", "admin", "owner")
CALLERS = (*ROLES, "anonymous", "other_workspace", "missing_scope")
ALL_SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # relative to /api/v1/workspaces/acme/, with {placeholders} from the world
    scope: str  # the scope the operation needs
    member: int
    manager: int
    admin: int
    owner: int
    body: Mapping[str, Any] | None = None
    multipart: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)  # headers

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, caller: str) -> int:
        if caller == "anonymous":
            return 401
        if caller == "other_workspace":
            return 404
        if caller == "missing_scope":
            return 403
        return int(getattr(self, caller))


def cases_by_caller(table: list[Case]) -> list[tuple[Case, str]]:
    """(case, caller) pairs to parametrize a test with; ids read like ``GET tags · member``."""
    return [(case, caller) for case in table for caller in CALLERS]


def case_id(pair: tuple[Case, str]) -> str:
    case, caller = pair
    return f"{case.id} · {caller}"


def key_for(membership: Membership, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    """A key with ``scopes``; admins and owners also allow sensitive data on it."""
    sensitive = membership.role in (Role.ADMIN, Role.OWNER)
    return connection_services.api_key_create(
        actor=principal_for(membership), label="matrix", scopes=list(scopes), allow_sensitive=sensitive
    ).secret


def caller_key(caller: str, roles: Mapping[str, Membership], scope: str) -> str | None:
    """The bearer credential of ``caller``; ``roles`` maps each role to its membership in acme."""
    if caller == "anonymous":
        return None
    if caller == "other_workspace":
        other = WorkspaceFactory(slug="globex")
        return key_for(MembershipFactory(workspace=other, role=Role.OWNER))
    if caller == "missing_scope":
        return key_for(roles["owner"], tuple(s for s in ALL_SCOPES if s != scope))
    return key_for(roles[caller])


def check(case: Case, caller: str, roles: Mapping[str, Membership], world: Mapping[str, Any]) -> Any:
    """Call the endpoint as ``caller`` and assert the table's status (and the error code)."""
    client = APIClient()
    key = caller_key(caller, roles, case.scope)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    url = "/api/v1/workspaces/acme/" + case.path.format(**world)
    body = dict(case.body or {})
    body = {k: (v.format(**world) if isinstance(v, str) else v) for k, v in body.items()}
    headers: dict[str, Any] = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in case.extra.items()}
    if case.multipart:
        from django.core.files.uploadedfile import SimpleUploadedFile

        files = {k: SimpleUploadedFile(f"{k}.bin", v) if isinstance(v, bytes) else v for k, v in body.items()}
        response = client.post(url, files, format="multipart", **headers)
    else:
        data = _json(body) if case.method not in ("GET", "HEAD") else ""
        response = client.generic(case.method, url, data, "application/json", **headers)
    expected = case.expected(caller)
    assert response.status_code == expected, (
        f"{case.id} as {caller}: {response.status_code} != {expected}: {getattr(response, 'content', b'')[:300]!r}"
    )
    if caller == "missing_scope":
        assert response.json()["error"]["code"] == "insufficient_scope"
    if caller in ("other_workspace",) or expected == 404:
        assert response.json()["error"]["code"] == "not_found"
    return response


def _json(body: Mapping[str, Any]) -> str:
    import json

    return json.dumps(body, default=str)
