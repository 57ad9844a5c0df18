"""REST face of the human decisions on time: weekly timesheets (submit, approve, reject, reopen)
and the review queue of agent drafts (accept, discard, one by one or in bulk)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from timesheets.api import EntryOutput, entry_reloaded
from timesheets.models import TimeEntry, Timesheet, TimesheetStatus
from timesheets.review_services import (
    MAX_BULK,
    draft_accept,
    draft_discard,
    drafts_accept_bulk,
    drafts_discard_bulk,
)
from timesheets.selectors import review_queue_get, review_queue_list
from timesheets.timesheet_services import (
    MAX_REASON_LENGTH,
    timesheet_approve,
    timesheet_reject,
    timesheet_reopen,
    timesheet_submit,
)
from timesheets.week_selectors import timesheet_get, timesheet_list, timesheet_week_get
from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.api_catalog import ActiveMember, AnyMember, list_query
from workspaces.policies import Perm

# --- timesheets -----------------------------------------------------------------------------------


class TimesheetOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    member_username = serializers.CharField(source="member.user.username")
    week_start = serializers.DateField()
    status = serializers.ChoiceField(choices=TimesheetStatus.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, help_text="Who decided last")
    decided_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField(help_text="Why the week was sent back (when rejected)")


class DayTotal(serializers.Serializer[Any]):
    date = serializers.DateField()
    seconds = serializers.IntegerField()


class ProjectTotalOutput(serializers.Serializer[Any]):
    project = serializers.IntegerField(source="project_id")
    project_name = serializers.CharField()
    seconds = serializers.IntegerField()


class TimesheetDetailOutput(serializers.Serializer[Any]):
    """The week with its totals (active time; drafts apart in ``draft_seconds``) and its entries."""

    timesheet = TimesheetOutput()
    days = DayTotal(many=True)
    projects = ProjectTotalOutput(many=True)
    total_seconds = serializers.IntegerField()
    draft_seconds = serializers.IntegerField(help_text="Agent drafts awaiting review (not in the totals)")
    lock_reason = serializers.CharField(allow_null=True, help_text="Why its time cannot change; null when it can")
    entries = EntryOutput(many=True)


class TimesheetQuery(serializers.Serializer[Any]):
    member = AnyMember(required=False, help_text="A member's id")
    status = serializers.ChoiceField(choices=TimesheetStatus.choices, required=False)
    week_start_from = serializers.DateField(required=False, help_text="Weeks starting on or after this day")
    week_start_to = serializers.DateField(required=False, help_text="Weeks starting on or before this day")


class SubmitInput(StrictSerializer):
    week_start = serializers.DateField(help_text="The first day of the week (workspace week start)")
    member = ActiveMember(required=False, help_text="Managers: submit for this member")


class RejectInput(StrictSerializer):
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, help_text="What needs to change (the member sees it)")


class ReopenInput(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Kept in the audit")


def timesheet_out(timesheet: Timesheet) -> Any:
    return TimesheetOutput(timesheet).data


class TimesheetListView(WorkspaceAPIView):
    """Submitted, approved and rejected weeks you may see (members: their own), newest first.

    A week without a row is open; submit it to create one.
    """

    perms = {"GET": Perm.TIME_VIEW_OWN}
    audit_name = "timesheet"
    ordering = ("-week_start", "-id")

    @extend_schema(parameters=[TimesheetQuery], responses=TimesheetOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(TimesheetQuery, self)
        return self.page(timesheet_list(actor=self.principal, **query), TimesheetOutput)


class TimesheetDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.TIME_VIEW_OWN}
    audit_name = "timesheet"

    @extend_schema(responses=TimesheetDetailOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        timesheet = timesheet_get(actor=self.principal, timesheet_id=pk)
        week = timesheet_week_get(actor=self.principal, member=timesheet.member, week_start=timesheet.week_start)
        data = {
            "timesheet": timesheet_out(timesheet),
            "days": [{"date": day.isoformat(), "seconds": week.seconds_by_day[day]} for day in week.days],
            "projects": ProjectTotalOutput(week.projects, many=True).data,
            "total_seconds": week.total_seconds,
            "draft_seconds": week.draft_seconds,
            "lock_reason": week.lock_reason,
            "entries": EntryOutput(week.entries, many=True, context={"principal": self.principal}).data,
        }
        return self.single(data)


class TimesheetSubmitView(WorkspaceAPIView):
    perms = {"POST": Perm.TIMESHEET_SUBMIT_OWN}
    audit_name = "timesheet"

    @extend_schema(request=SubmitInput, responses=TimesheetOutput)
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = SubmitInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        return self.single(timesheet_out(timesheet_submit(actor=self.principal, **data.validated_data)))


class TimesheetApproveView(WorkspaceAPIView):
    perms = {"POST": Perm.TIMESHEET_DECIDE}
    audit_name = "timesheet"

    @extend_schema(request=None, responses=TimesheetOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        timesheet = timesheet_get(actor=self.principal, timesheet_id=pk)
        return self.single(timesheet_out(timesheet_approve(actor=self.principal, timesheet=timesheet)))


class TimesheetRejectView(WorkspaceAPIView):
    perms = {"POST": Perm.TIMESHEET_DECIDE}
    audit_name = "timesheet"

    @extend_schema(request=RejectInput, responses=TimesheetOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        timesheet = timesheet_get(actor=self.principal, timesheet_id=pk)
        rejected = timesheet_reject(actor=self.principal, timesheet=timesheet, **data.validated_data)
        return self.single(timesheet_out(rejected))


class TimesheetReopenView(WorkspaceAPIView):
    perms = {"POST": Perm.TIMESHEET_REOPEN}
    audit_name = "timesheet"

    @extend_schema(request=ReopenInput, responses=TimesheetOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ReopenInput(data=request.data)
        data.is_valid(raise_exception=True)
        timesheet = timesheet_get(actor=self.principal, timesheet_id=pk)
        reopened = timesheet_reopen(actor=self.principal, timesheet=timesheet, **data.validated_data)
        return self.single(timesheet_out(reopened))


# --- the review queue -----------------------------------------------------------------------------


class DraftOutput(EntryOutput):
    """An agent's draft, with the connection (agent) that proposed it."""

    connection_label = serializers.SerializerMethodField()
    connection_client = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_connection_label(self, entry: TimeEntry) -> str | None:
        connection = entry.connection
        if connection is None:
            return None
        return connection.label or (connection.application.name if connection.application else connection.key_prefix)

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The OAuth client's name (null: API key)"))
    def get_connection_client(self, entry: TimeEntry) -> str | None:
        connection = entry.connection
        return connection.application.name if connection is not None and connection.application else None


class ReviewQuery(serializers.Serializer[Any]):
    member = AnyMember(required=False, help_text="Managers: one member's")


class BulkInput(StrictSerializer):
    action = serializers.ChoiceField(choices=["accept", "discard"])
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=MAX_BULK, help_text="Draft ids"
    )


class BulkOutput(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["accept", "discard"])
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="Every draft named: all or none succeed")


class ReviewQueueView(WorkspaceAPIView):
    """Agent drafts awaiting a person, oldest first: your own, or everyone's for managers and up."""

    perms = {"GET": Perm.TIME_VIEW_OWN}
    audit_name = "review_queue"
    ordering = ("created_at", "id")

    @extend_schema(parameters=[ReviewQuery], responses=DraftOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(ReviewQuery, self)
        return self.page(review_queue_list(actor=self.principal, **query), DraftOutput)


class DraftAcceptView(WorkspaceAPIView):
    perms = {"POST": Perm.TIME_LOG_OWN}
    audit_name = "review_queue"

    @extend_schema(request=None, responses=EntryOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        entry = review_queue_get(actor=self.principal, entry_id=pk)
        return self.single(entry_reloaded(self, draft_accept(actor=self.principal, entry=entry)))


class DraftDiscardView(WorkspaceAPIView):
    perms = {"POST": Perm.TIME_LOG_OWN}
    audit_name = "review_queue"

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        entry = review_queue_get(actor=self.principal, entry_id=pk)
        draft_discard(actor=self.principal, entry=entry)
        return Response(status=204)


class ReviewBulkView(WorkspaceAPIView):
    """Accept or discard several drafts at once: all of them, or none and an error naming the draft."""

    perms = {"POST": Perm.TIME_LOG_OWN}
    audit_name = "review_queue"

    @extend_schema(request=BulkInput, responses=BulkOutput)
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        action, ids = data.validated_data["action"], data.validated_data["ids"]
        if action == "accept":
            done = [entry.pk for entry in drafts_accept_bulk(actor=self.principal, entry_ids=ids)]
        else:
            done = drafts_discard_bulk(actor=self.principal, entry_ids=ids)
        return self.single({"action": action, "ids": sorted(done)})
