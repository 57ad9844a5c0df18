"""DRF permission: resolve the caller's principal in the URL's workspace, then require the action's rule.

Each view declares one table ``perms = {"GET": Perm.X, "PATCH": Perm.Y}`` (STYLE §5); the same
:mod:`workspaces.policies` rules answer for the MCP tools.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from workspaces import policies
from workspaces.errors import Forbidden, NotFound
from workspaces.models import User
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import principal_for_user


def workspace_principal(request: Request, slug: str) -> Principal:
    """The principal for this request in workspace ``slug``; another workspace answers 404."""
    auth = request.auth
    if isinstance(auth, Principal):
        if auth.workspace.slug != slug:
            raise NotFound("Workspace not found.")
        if not auth.workspace.api_enabled:
            raise Forbidden("API access is turned off for this workspace; ask a workspace admin.")
        return auth
    if not isinstance(request.user, User):
        raise NotFound("Workspace not found.")
    return principal_for_user(
        user=request.user,
        workspace_slug=slug,
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        request_id=getattr(request, "request_id", ""),
    )


class WorkspaceRule(BasePermission):
    """Needs an authenticated caller with the view's (role, scope) rule in the URL's workspace."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False  # DRF answers 401 with the authenticator's WWW-Authenticate
        principal = workspace_principal(request, view.kwargs["workspace_slug"])
        request.principal = principal  # type: ignore[attr-defined]  # set first: a denial is audited with it
        perms: dict[str, Perm] = view.perms
        perm = perms.get(request.method or "GET")
        if perm is None:
            raise MethodNotAllowed(request.method or "")
        policies.ensure(principal, perm)
        return True
