"""REST face of time: entries (list with filters and CSV/XLSX export, create, read, PATCH, delete)
and the running timer. Weekly timesheets and the review queue: ``api_timesheets.py``.

Cost figures of an entry are sensitive: null and listed in ``redacted`` unless you may see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing.exports import ENTRY_COLUMNS, entry_rows
from billing.money import amount_for
from timesheets.models import MAX_ENTRY_SECONDS, EntrySource, EntryState, TimeEntry
from timesheets.presenters import entry_values, present_created, present_entries, present_entry
from timesheets.selectors import entry_scope, time_entry_get, time_entry_list, timer_get
from timesheets.services import time_entry_create, time_entry_create_for_day, time_entry_delete, time_entry_update
from timesheets.timer_services import timer_start, timer_stop
from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.api_catalog import ActiveMember, AnyMember, InWorkspace, VisibleProject, list_query, visible_clients
from workspaces.compiled_pages import CompiledPage
from workspaces.models import Client, Tag, Task
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.redaction import ENTRY_COST_FIELDS, RedactedSerializerMixin
from workspaces.selectors import tag_list, task_list

# --- ids in the caller's workspace ----------------------------------------------------------------


def visible_tasks(principal: Principal) -> QuerySet[Task]:
    return task_list(actor=principal, include_archived=True)


def visible_tags(principal: Principal) -> QuerySet[Tag]:
    return tag_list(actor=principal, include_archived=True)


class OffsetDateTime(serializers.DateTimeField):
    """An RFC 3339 time with an offset; a bare local time is refused, never guessed."""

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is not None and timezone.is_naive(parsed):
                raise serializers.ValidationError("Give a time with an offset or 'Z' (RFC 3339).")
        result: datetime = super().to_internal_value(value)
        return result


# --- output ---------------------------------------------------------------------------------------


class EntryTagOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


MONEY = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class EntryOutput(RedactedSerializerMixin, serializers.Serializer[Any]):
    """A time entry. ``cost_rate`` and ``cost_amount`` are sensitive (null unless you may see them)."""

    sensitive_fields = ENTRY_COST_FIELDS

    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    member_username = serializers.CharField(source="member.user.username")
    project = serializers.IntegerField(source="project_id")
    project_name = serializers.CharField(source="project.name")
    client = serializers.IntegerField(source="project.client_id", allow_null=True)
    client_name = serializers.CharField(source="project.client.name", allow_null=True, default=None)
    task = serializers.IntegerField(source="task_id", allow_null=True)
    task_name = serializers.CharField(source="task.name", allow_null=True, default=None)
    description = serializers.CharField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True, help_text="null while the timer runs")
    duration_seconds = serializers.IntegerField(allow_null=True)
    billable = serializers.BooleanField()
    state = serializers.ChoiceField(choices=EntryState.choices, help_text="draft: proposed by an agent, in review")
    draft_reason = serializers.CharField(help_text="Why it is a draft (empty when active)")
    # "source" is also an attribute of every DRF field; declared here it is the output field.
    source = serializers.ChoiceField(choices=EntrySource.choices)  # type: ignore[assignment]
    connection = serializers.IntegerField(
        source="connection_id", allow_null=True, help_text="The connection it was created through (null: a person)"
    )
    tags = EntryTagOutput(many=True)
    billable_rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    billable_amount = serializers.SerializerMethodField()
    cost_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Sensitive: null unless you may see it"
    )
    cost_amount = serializers.SerializerMethodField(help_text="Sensitive")
    invoiced = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    redacted = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Fields withheld from you (value null)"
    )

    @extend_schema_field(MONEY)
    def get_billable_amount(self, entry: TimeEntry) -> str | None:
        # A string, like every DecimalField of the API (a JSON number would lose cents).
        if entry.duration_seconds is None or not entry.billable or entry.billable_rate is None:
            return None
        return str(amount_for(entry.duration_seconds, entry.billable_rate))

    @extend_schema_field(MONEY)
    def get_cost_amount(self, entry: TimeEntry) -> str | None:
        if entry.duration_seconds is None or entry.cost_rate is None:
            return None
        return str(amount_for(entry.duration_seconds, entry.cost_rate))

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_invoiced(self, entry: TimeEntry) -> bool:
        return entry.invoice_line_id is not None


def entry_out(view: WorkspaceAPIView, entry: TimeEntry) -> Any:
    return EntryOutput(entry, context={"principal": view.principal}).data


def entry_reloaded(view: WorkspaceAPIView, entry: TimeEntry) -> Any:
    """An entry as written by a service, read back with everything the output shows (one query on PostgreSQL)."""
    return present_entry(view.principal, entry.pk)


# --- time entries ---------------------------------------------------------------------------------


class EntryQuery(serializers.Serializer[Any]):
    member = AnyMember(required=False, help_text="A member's id")
    project = VisibleProject(required=False, help_text="A project's id")
    client = InWorkspace(selector=visible_clients, model=Client, required=False, help_text="A client's id")
    task = InWorkspace(selector=visible_tasks, model=Task, required=False, help_text="A task's id")
    tag = InWorkspace(selector=visible_tags, model=Tag, required=False, help_text="A tag's id")
    billable = serializers.BooleanField(required=False, help_text="true or false")
    state = serializers.ChoiceField(choices=EntryState.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="First day, inclusive, in the workspace's time zone")
    date_to = serializers.DateField(required=False, help_text="Last day, inclusive, in the workspace's time zone")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": ["Must be on or after date_from."]})
        return attrs


FORMAT_PARAM = OpenApiParameter(
    "format", str, enum=["json", "csv", "xlsx"], description="csv or xlsx: download every matching entry"
)


class EntryWriteFields(StrictSerializer):
    project = VisibleProject()
    task = InWorkspace(selector=visible_tasks, model=Task, required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    billable = serializers.BooleanField(
        required=False, allow_null=True, help_text="Omit (or null) for the task → project → workspace default"
    )
    tags = InWorkspace(selector=visible_tags, model=Tag, many=True, required=False)


class EntryCreateInput(EntryWriteFields):
    """Either ``started_at`` + ``ended_at``, or ``date`` + ``duration_seconds``."""

    started_at = OffsetDateTime(required=False, help_text="RFC 3339 with an offset")
    ended_at = OffsetDateTime(required=False, help_text="RFC 3339 with an offset; at most 24 h after the start")
    date = serializers.DateField(
        required=False,
        help_text="With duration_seconds: the day (workspace time); placed after that day's entries, within the day",
    )
    duration_seconds = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ENTRY_SECONDS)
    member = ActiveMember(required=False, help_text="Managers: log for this member")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        by_time = {"started_at", "ended_at"} & attrs.keys()
        by_day = {"date", "duration_seconds"} & attrs.keys()
        both = "Give started_at and ended_at, or date and duration_seconds."
        if bool(by_time) == bool(by_day):
            raise serializers.ValidationError({name: [both] for name in (by_time | by_day) or {"started_at"}})
        missing = ({"started_at", "ended_at"} - by_time) if by_time else ({"date", "duration_seconds"} - by_day)
        if missing:
            raise serializers.ValidationError({name: ["Required with the other half of the pair."] for name in missing})
        return attrs


class EntryUpdateInput(StrictSerializer):
    project = VisibleProject(required=False)
    task = InWorkspace(selector=visible_tasks, model=Task, required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    started_at = OffsetDateTime(required=False)
    ended_at = OffsetDateTime(required=False)
    billable = serializers.BooleanField(required=False)
    tags = InWorkspace(selector=visible_tags, model=Tag, many=True, required=False)


class TimeEntryListView(WorkspaceAPIView):
    """Entries you may see (members: their own), newest first; ``?format=csv|xlsx`` downloads them."""

    perms = {"GET": Perm.TIME_VIEW_OWN, "POST": Perm.TIME_LOG_OWN}
    audit_name = "time_entry"
    ordering = ("-started_at", "-id")

    @extend_schema(parameters=[EntryQuery, FORMAT_PARAM], responses=EntryOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Any:
        query = list_query(EntryQuery, self)
        kind = self.download_format()
        if kind is not None:
            rows = entry_rows(time_entry_list(actor=self.principal, **query), self.principal.workspace)
            return self.download(kind, ENTRY_COLUMNS, rows, name="time-entries")
        scope = entry_scope(actor=self.principal, **query)
        page = CompiledPage(
            ("time entries", scope.shape), lambda params: entry_values(scope.queryset(params=params)), scope.values()
        )
        return self.page_presented(page, lambda rows: present_entries(rows, self.principal))

    @extend_schema(request=EntryCreateInput, responses={201: EntryOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = EntryCreateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "date" in values:
            day, seconds = values.pop("date"), values.pop("duration_seconds")
            entry = time_entry_create_for_day(actor=self.principal, day=day, duration_seconds=seconds, **values)
        else:
            entry = time_entry_create(actor=self.principal, **values)
        return self.single(present_created(self.principal, entry, values.get("tags", ())), status=201)


class TimeEntryDetailView(WorkspaceAPIView):
    """One entry: read; change (send If-Match with its ETag to avoid overwriting); delete."""

    perms = {"GET": Perm.TIME_VIEW_OWN, "PATCH": Perm.TIME_LOG_OWN, "DELETE": Perm.TIME_LOG_OWN}
    audit_name = "time_entry"

    @extend_schema(responses=EntryOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(entry_out(self, time_entry_get(actor=self.principal, entry_id=pk)))

    @extend_schema(request=EntryUpdateInput, responses=EntryOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = EntryUpdateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        entry = time_entry_get(actor=self.principal, entry_id=pk)
        self.check_if_match(entry_out(self, entry))
        entry = time_entry_update(actor=self.principal, entry=entry, data=data.validated_data)
        return self.single(entry_reloaded(self, entry))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, workspace_slug: str, pk: int) -> Response:
        entry = time_entry_get(actor=self.principal, entry_id=pk)
        time_entry_delete(actor=self.principal, entry=entry)
        return Response(status=204)


# --- the timer ------------------------------------------------------------------------------------


class TimerOutput(serializers.Serializer[Any]):
    entry = EntryOutput(allow_null=True, help_text="The running entry, or null when no timer runs")


class TimerQuery(serializers.Serializer[Any]):
    member = AnyMember(required=False, help_text="Managers: this member's")


class TimerStartInput(EntryWriteFields):
    started_at = OffsetDateTime(required=False, help_text="Default now; not in the future")
    stop_running = serializers.BooleanField(default=False, help_text="Stop a running timer first (else 409)")
    member = ActiveMember(required=False)


class TimerStopInput(StrictSerializer):
    ended_at = OffsetDateTime(required=False, help_text="Default now; required after 24 h")
    member = ActiveMember(required=False)


class TimerView(WorkspaceAPIView):
    """The running timer of the caller (or, for managers, of ``member``)."""

    perms = {"GET": Perm.TIME_VIEW_OWN}
    audit_name = "timer"

    @extend_schema(parameters=[TimerQuery], responses=TimerOutput)
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(TimerQuery, self)
        entry = timer_get(actor=self.principal, **query)
        return self.single({"entry": entry_out(self, entry) if entry is not None else None})


class TimerStartView(WorkspaceAPIView):
    perms = {"POST": Perm.TIME_LOG_OWN}
    audit_name = "timer"

    @extend_schema(request=TimerStartInput, responses={201: EntryOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = TimerStartInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        entry = timer_start(actor=self.principal, **data.validated_data)
        return self.single(present_created(self.principal, entry, data.validated_data.get("tags", ())), status=201)


class TimerStopView(WorkspaceAPIView):
    perms = {"POST": Perm.TIME_LOG_OWN}
    audit_name = "timer"

    @extend_schema(request=TimerStopInput, responses=EntryOutput)
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = TimerStopInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        entry = timer_stop(actor=self.principal, **data.validated_data)
        return self.single(entry_reloaded(self, entry))
