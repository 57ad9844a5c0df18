"""Approvals (managers decide submitted weeks) and the review queue (people decide agents' drafts)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from timesheets.forms import RejectForm
from timesheets.models import TimesheetStatus
from timesheets.review_services import drafts_accept_bulk, drafts_discard_bulk
from timesheets.selectors import review_queue_list
from timesheets.timesheet_services import timesheet_approve, timesheet_reject
from timesheets.week_selectors import timesheet_get, timesheet_list, timesheet_totals
from workspaces import policies
from workspaces.errors import DomainError, Invalid
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.web import workspace_view

RECENT_DECISIONS = 20


def _approvals_page(
    request: HttpRequest,
    principal: Principal,
    *,
    reject_forms: dict[int, RejectForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    submitted = list(
        timesheet_list(actor=principal, status=TimesheetStatus.SUBMITTED).order_by(
            "week_start", "member__user__username"
        )
    )
    decided = list(
        timesheet_list(actor=principal)
        .filter(status__in=(TimesheetStatus.APPROVED, TimesheetStatus.REJECTED))
        .order_by("-decided_at")[:RECENT_DECISIONS]
    )
    totals = timesheet_totals(workspace=principal.workspace, timesheets=submitted + decided)
    forms = reject_forms or {}
    return render(
        request,
        "timesheets/approvals.html",
        {
            "submitted": [
                {
                    "sheet": t,
                    "seconds": totals[t.pk],
                    "reject": forms.get(t.pk) or RejectForm(prefix=f"r{t.pk}"),
                    "own": t.member_id == principal.membership.pk,
                }
                for t in submitted
            ],
            "decided": [{"sheet": t, "seconds": totals[t.pk]} for t in decided],
        },
        status=status,
    )


@workspace_view(Perm.TIMESHEET_DECIDE)
def approvals(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Submitted weeks, oldest first, with their totals; the last decisions below."""
    return _approvals_page(request, principal)


@workspace_view(Perm.TIMESHEET_DECIDE, methods=("POST",))
def timesheet_approve_view(request: HttpRequest, principal: Principal, timesheet_id: int) -> HttpResponse:
    timesheet = timesheet_get(actor=principal, timesheet_id=timesheet_id)
    try:
        timesheet_approve(actor=principal, timesheet=timesheet)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Approved {_who(timesheet)}'s week of {timesheet.week_start:%d %b %Y}.")
    return redirect("approvals", principal.workspace.slug)


@workspace_view(Perm.TIMESHEET_DECIDE, methods=("POST",))
def timesheet_reject_view(request: HttpRequest, principal: Principal, timesheet_id: int) -> HttpResponse:
    """Send a week back; the reason is required and shown to the member on their week."""
    timesheet = timesheet_get(actor=principal, timesheet_id=timesheet_id)
    form = RejectForm(request.POST, prefix=f"r{timesheet.pk}")
    if form.is_valid():
        try:
            timesheet_reject(actor=principal, timesheet=timesheet, reason=form.cleaned_data["reason"])
        except Invalid as exc:
            form.add_error("reason", exc.message)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("approvals", principal.workspace.slug)
        else:
            messages.success(
                request, f"Sent {_who(timesheet)}'s week of {timesheet.week_start:%d %b %Y} back with your reason."
            )
            return redirect("approvals", principal.workspace.slug)
    return _approvals_page(request, principal, reject_forms={timesheet.pk: form}, status=400)


def _who(timesheet: object) -> str:
    user = timesheet.member.user  # type: ignore[attr-defined]
    return str(user.get_full_name() or user.get_username())


@workspace_view(Perm.TIME_VIEW_OWN)
def review_queue(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Agents' drafts awaiting a person: one's own, or everyone's for managers and up."""
    drafts = list(review_queue_list(actor=principal))
    return render(
        request,
        "timesheets/review_queue.html",
        {"drafts": drafts, "sees_everyone": policies.can(principal, Perm.TIME_VIEW_ALL)},
    )


@workspace_view(Perm.TIME_LOG_OWN, methods=("POST",))
def review_decide(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Accept or discard the chosen drafts (one button per row, or the ticked ones), all or none."""
    decision = request.POST.get("decision", "")
    ids = [int(value) for value in request.POST.getlist("draft") if value.isdigit()]
    one_decision, _, one_id = request.POST.get("one", "").partition(":")
    if one_id.isdigit():  # a row's own button: that draft only, whatever is ticked
        decision, ids = one_decision, [int(one_id)]
    if decision not in ("accept", "discard") or not ids:
        messages.error(request, "Choose the drafts, then Accept or Discard.")
        return redirect("review-queue", principal.workspace.slug)
    try:
        if decision == "accept":
            count = len(drafts_accept_bulk(actor=principal, entry_ids=ids))
        else:
            count = len(drafts_discard_bulk(actor=principal, entry_ids=ids))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        noun = "draft" if count == 1 else "drafts"
        verb = "Accepted" if decision == "accept" else "Discarded"
        messages.success(
            request,
            f"{verb} {count} {noun}." + (" Accepted time now counts in the reports." if decision == "accept" else ""),
        )
    return redirect("review-queue", principal.workspace.slug)
