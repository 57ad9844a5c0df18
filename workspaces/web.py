"""What every web page of a workspace shares: the principal, permissions, navigation, errors.

A web view is a thin face, like a REST view or an MCP tool: ``@workspace_view(Perm…)`` resolves
the signed-in user's principal in ``/w/<slug>/`` (404 for a workspace they are not in, as the
API answers), refuses a role below the page's permission with 403, and hands the principal to
the view, which parses a form, calls one service or selector and renders.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from workspaces import audit, policies
from workspaces.errors import DomainError, Forbidden, InsufficientScope, NotFound
from workspaces.models import Channel, Outcome, User
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import membership_list_for_user, principal_for_user

P = ParamSpec("P")
WebView = Callable[Concatenate[HttpRequest, Principal, P], HttpResponseBase]


def workspace_view(
    *perms: Perm, methods: Iterable[str] = ("GET", "HEAD")
) -> Callable[[WebView[P]], Callable[..., HttpResponseBase]]:
    """Sign-in required; the principal in the URL's workspace (404 if not a member); 403 below ``perms``.

    A domain error the view lets through maps as the API maps it: not found → 404, a role or
    scope refusal → 403, a conflict or lock → 409, anything else → 400, each with its message.
    """

    def decorate(view: WebView[P]) -> Callable[..., HttpResponseBase]:
        @login_required
        @require_http_methods(list(methods))
        @functools.wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            principal = web_principal(request, workspace_slug)
            for perm in perms:
                if not policies.can(principal, perm):
                    _denied(request, principal, perm)
            request.principal = principal  # type: ignore[attr-defined]  # for the navigation context
            try:
                return view(request, principal, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except (Forbidden, InsufficientScope) as exc:
                raise PermissionDenied(exc.message) from None
            except DomainError as exc:  # one the view did not show on a form
                status = 409 if exc.code in ("conflict", "locked") else 400
                return render(request, "error.html", {"error": exc}, status=status)

        return wrapper

    return decorate


def _denied(request: HttpRequest, principal: Principal, perm: Perm) -> None:
    """A page refused for the role: audited like a refused API call, then 403."""
    audit.publish(
        action="web.denied",
        actor=principal,
        channel=Channel.WEB,
        outcome=Outcome.DENIED,
        detail={"path": request.path[:200], "needs": str(perm)},
    )
    raise PermissionDenied(f"This page needs the {policies.RULES[perm].role} role or above.")


def web_principal(request: HttpRequest, workspace_slug: str) -> Principal:
    """The signed-in user's principal in ``workspace_slug``; 404 unless an active member."""
    assert isinstance(request.user, User)  # login_required
    try:
        return principal_for_user(
            user=request.user,
            workspace_slug=workspace_slug,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=getattr(request, "request_id", ""),
        )
    except NotFound as exc:
        raise Http404(exc.message) from None


def show_error(form: forms.Form, exc: DomainError) -> None:
    """Put a domain error on the form: each named field that the form has, the rest on top."""
    unplaced = []
    for name, problems in exc.fields.items():
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
        else:
            unplaced.extend(problems)
    form.add_error(None, " ".join([exc.message, *unplaced]))


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- navigation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    perm: Perm


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Dashboard", "dashboard", Perm.TIME_VIEW_OWN),
    NavItem("Week", "week", Perm.TIME_LOG_OWN),
    NavItem("Entries", "entries", Perm.TIME_VIEW_OWN),
    NavItem("Approvals", "approvals", Perm.TIMESHEET_DECIDE),
    NavItem("Review queue", "review-queue", Perm.TIME_VIEW_OWN),
    NavItem("Projects", "projects", Perm.PROJECT_VIEW),
    NavItem("Clients", "clients", Perm.CLIENT_VIEW),
    NavItem("Reports", "reports", Perm.TIME_VIEW_OWN),
    NavItem("Invoices", "invoices", Perm.INVOICE_VIEW),
    NavItem("Expenses", "expenses", Perm.TIME_VIEW_OWN),
    NavItem("Settings", "settings", Perm.WORKSPACE_MANAGE),
    NavItem("Audit log", "audit-log", Perm.AUDIT_VIEW),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: the workspace being shown, the switcher and the links its role may open."""
    principal: Principal | None = getattr(request, "principal", None)
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    context: dict[str, Any] = {"switcher": _LazyMemberships(user)}
    if principal is not None:
        slug = principal.workspace.slug
        context["workspace"] = principal.workspace
        context["principal"] = principal
        context["nav"] = []
        for item in NAVIGATION:
            if not policies.can(principal, item.perm):
                continue
            url = reverse(item.url_name, args=[slug])
            context["nav"].append({"label": item.label, "url": url, "current": _in_section(request.path, url)})
    return context


def _in_section(path: str, url: str) -> bool:
    """A page belongs to the nav item whose URL prefixes it (the dashboard, ``/w/<slug>/``, only itself)."""
    return path == url or (url.count("/") > 3 and path.startswith(url))


class _LazyMemberships:
    """The user's workspaces, queried only if the page shows the switcher."""

    def __init__(self, user: User) -> None:
        self.user = user
        self._rows: list[Any] | None = None

    def __iter__(self) -> Any:
        if self._rows is None:
            self._rows = list(membership_list_for_user(user=self.user))
        return iter(self._rows)


def redirect_back(request: HttpRequest, fallback: str) -> str:
    """A same-site ``next`` from the form, or ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback
