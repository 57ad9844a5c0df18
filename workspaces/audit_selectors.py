"""Reads of the audit trail: the workspace's events for its admins, filtered, and as CSV rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from workspaces import policies
from workspaces.models import AuditEvent, Channel, Connection, Outcome, User
from workspaces.policies import Perm
from workspaces.principals import Principal

CHUNK = 2000
CSV_COLUMNS = (
    "id",
    "created_at",
    "channel",
    "action",
    "outcome",
    "actor",
    "connection_id",
    "connection",
    "target_type",
    "target_id",
    "target",
    "ip",
    "user_agent",
    "request_id",
    "duration_ms",
    "detail",
)


def audit_event_list(*, actor: Principal) -> QuerySet[AuditEvent]:
    """The workspace's audit events, newest first; admins with the admin scope only."""
    policies.ensure(actor, Perm.AUDIT_VIEW)
    return (
        AuditEvent.objects.filter(workspace=actor.workspace)
        .select_related("actor", "connection__application", "connection__user", "connection__workspace")
        .order_by("-created_at", "-id")
    )


class AuditEventFilter(django_filters.FilterSet):
    """Filters of the audit log (web and API). Applied to :func:`audit_event_list`, never wider.

    ``since`` and ``until`` are days in the workspace's time zone, both included.
    """

    actor = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label="Person")
    connection = django_filters.ModelChoiceFilter(queryset=Connection.objects.none(), label="Connection")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    action = django_filters.CharFilter(
        lookup_expr="startswith", label="Action", help_text="e.g. 'time_entry.' for every time entry action"
    )
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    since = django_filters.DateFilter(method="filter_since", label="From")
    until = django_filters.DateFilter(method="filter_until", label="To")

    class Meta:
        model = AuditEvent
        fields = ["actor", "connection", "channel", "action", "outcome"]

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal
        workspace = principal.workspace
        actor, connection = self.filters["actor"], self.filters["connection"]
        assert isinstance(actor, django_filters.ModelChoiceFilter)
        assert isinstance(connection, django_filters.ModelChoiceFilter)
        actor.queryset = User.objects.filter(memberships__workspace=workspace).order_by("username")
        connection.queryset = (
            Connection.objects.filter(workspace=workspace)
            .select_related("application", "user", "workspace")
            .order_by("-created_at")
        )

    def _day_start(self, day: Any) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.principal.workspace.tzinfo)

    def filter_since(self, queryset: QuerySet[AuditEvent], name: str, value: Any) -> QuerySet[AuditEvent]:
        return queryset.filter(created_at__gte=self._day_start(value))

    def filter_until(self, queryset: QuerySet[AuditEvent], name: str, value: Any) -> QuerySet[AuditEvent]:
        return queryset.filter(created_at__lt=self._day_start(value + timedelta(days=1)))


def audit_page(queryset: QuerySet[AuditEvent], *, before: str | None, size: int) -> tuple[list[AuditEvent], str | None]:
    """One page, newest first, continuing after the ``before`` cursor (``<iso time>|<id>``).

    A cursor instead of page numbers: no COUNT over a large table, and stable while events arrive.
    """
    if before:
        try:
            stamp, event_id = before.split("|", 1)
            moment = datetime.fromisoformat(stamp)
            queryset = queryset.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=event_id))
        except (ValueError, TypeError):
            queryset = queryset.none()
    rows = list(queryset[: size + 1])
    page = rows[:size]
    following = f"{page[-1].created_at.isoformat()}|{page[-1].id}" if len(rows) > size else None
    return page, following


def audit_csv_rows(queryset: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    """CSV rows for :data:`CSV_COLUMNS`, read in chunks."""
    for event in queryset.iterator(chunk_size=CHUNK):
        yield [
            event.id,
            event.created_at.isoformat(),
            event.channel,
            event.action,
            event.outcome,
            event.actor.get_username() if event.actor else "",
            event.connection_id or "",
            str(event.connection) if event.connection else "",
            event.target_type,
            event.target_id,
            event.target_repr,
            event.ip or "",
            event.user_agent,
            event.request_id,
            event.duration_ms if event.duration_ms is not None else "",
            json.dumps(event.detail, sort_keys=True, default=str),
        ]
