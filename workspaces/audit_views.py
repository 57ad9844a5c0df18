"""Web face of the audit trail: the log with filters, and its CSV export, for workspace admins."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from workspaces import audit
from workspaces.audit_selectors import CSV_COLUMNS, AuditEventFilter, audit_csv_rows, audit_event_list, audit_page
from workspaces.errors import DomainError
from workspaces.models import Channel, Outcome
from workspaces.principals import Principal
from workspaces.tabular import csv_lines, streaming_response
from workspaces.web import web_principal

PAGE_SIZE = 100


def _principal(request: HttpRequest, workspace_slug: str) -> Principal:
    principal = web_principal(request, workspace_slug)
    request.principal = principal  # type: ignore[attr-defined]  # for the navigation context
    return principal


def _filtered(request: HttpRequest, principal: Principal) -> AuditEventFilter:
    try:
        events = audit_event_list(actor=principal)
    except DomainError as exc:
        audit.publish(action="audit.read", actor=principal, outcome=Outcome.DENIED, detail={"path": request.path})
        raise PermissionDenied(exc.message) from None
    return AuditEventFilter(request.GET, queryset=events, principal=principal)


@login_required
@require_safe
def audit_log(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The audit log: newest first, 100 at a time, filtered by person, connection, channel, action, outcome, days."""
    principal = _principal(request, workspace_slug)
    filters = _filtered(request, principal)
    page, following = (
        audit_page(filters.qs, before=request.GET.get("before"), size=PAGE_SIZE) if filters.is_valid() else ([], None)
    )
    audit.publish(action="audit.read", actor=principal, channel=Channel.WEB, detail={"filters": _query(request)})
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "workspaces/audit_log.html",
        {
            "workspace": principal.workspace,
            "filters": filters,
            "events": page,
            "following": following,
            "query": query.urlencode(),
        },
    )


@login_required
@require_safe
def audit_log_csv(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The filtered audit log as CSV, streamed row by row."""
    principal = _principal(request, workspace_slug)
    filters = _filtered(request, principal)
    if not filters.is_valid():
        problems = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in filters.errors.items())
        return HttpResponse(f"Invalid filters: {problems}", status=400, content_type="text/plain")
    audit.publish(action="audit.export", actor=principal, channel=Channel.WEB, detail={"filters": _query(request)})
    stamp = timezone.localtime(timezone.now(), principal.workspace.tzinfo).strftime("%Y%m%d-%H%M")
    return streaming_response(
        request,
        csv_lines(CSV_COLUMNS, audit_csv_rows(filters.qs)),
        content_type="text/csv; charset=utf-8",
        filename=f"audit-{principal.workspace.slug}-{stamp}.csv",
    )


def _query(request: HttpRequest) -> dict[str, str]:
    return {key: str(value)[:100] for key, value in request.GET.items() if key != "before"}
