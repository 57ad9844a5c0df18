"""The values()-based entry lists (timesheets/presenters.py) render exactly what EntryOutput renders."""

from __future__ import annotations

import zoneinfo
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from tests.conftest import principal_for
from tests.factories import (
    ClientFactory,
    ConnectionFactory,
    ProjectFactory,
    TagFactory,
    TaskFactory,
    TimeEntryFactory,
    WorkspaceFactory,
)
from tests.mcp_gateway.helpers import agent
from timesheets.api import EntryOutput
from timesheets.models import EntrySource, EntryState, TimeEntry
from timesheets.presenters import (
    TAGS,
    _columns,
    entry_row,
    entry_values,
    present_created,
    present_entries,
    present_entry,
)
from timesheets.selectors import time_entry_list
from timesheets.services import time_entry_create, time_entry_create_for_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def shapes(workspace, owner, member):
    """One entry of every shape a list can hold."""
    client = ClientFactory(workspace=workspace, name="Zeta GmbH")
    with_client = ProjectFactory(workspace=workspace, client=client, billable_rate=Decimal("95.00"), team=[member])
    without_client = ProjectFactory(workspace=workspace, client=None, team=[member])
    task = TaskFactory(project=with_client, name="Design")
    tags = [TagFactory(workspace=workspace, name=name) for name in ("zulu", "alpha", "mike")]
    agent = ConnectionFactory(membership=member)
    base = timezone.now().replace(microsecond=0) - timedelta(days=2)
    entries = [
        # billable with a task, tags (rendered in name order) and a cost rate
        TimeEntryFactory(
            member=member, project=with_client, task=task, billable=True, billable_rate=Decimal("95.00"),
            cost_rate=Decimal("41.50"), started_at=base, ended_at=base + timedelta(minutes=47), description="Wireframes",
        ),
        # non-billable, no client, no rates, odd seconds and microseconds
        TimeEntryFactory(
            member=member, project=without_client, billable=False, billable_rate=None, cost_rate=None,
            started_at=base + timedelta(hours=1, microseconds=12345),
            ended_at=base + timedelta(hours=1, minutes=3, seconds=7, microseconds=12345),
        ),
        # a running timer: no end, no duration, no amounts
        TimeEntryFactory(
            member=member, project=with_client, billable=True, billable_rate=Decimal("95.00"),
            started_at=base + timedelta(hours=3), ended_at=None,
        ),
        # an agent's draft through a connection
        TimeEntryFactory(
            member=member, project=with_client, billable=True, billable_rate=Decimal("95.00"), state=EntryState.DRAFT,
            draft_reason="billable time proposed by an agent", source=EntrySource.MCP, connection=agent,
            started_at=base + timedelta(hours=4), ended_at=base + timedelta(hours=5),
        ),
        # billable without a rate
        TimeEntryFactory(
            member=member, project=with_client, billable=True, billable_rate=None,
            started_at=base + timedelta(hours=6), ended_at=base + timedelta(hours=6, minutes=15),
        ),
    ]  # fmt: skip
    entries[0].tags.set(tags)
    entries[3].tags.set(tags[:1])
    invoice = Invoice.objects.create(
        workspace=workspace, client=client, period_start=date(2026, 6, 1), period_end=date(2026, 6, 30),
        currency="EUR", created_by=owner.user,
    )  # fmt: skip
    line = InvoiceLine.objects.create(
        invoice=invoice, kind="time", description="Time", quantity=1, unit_price=Decimal("95"), amount=Decimal("95")
    )
    TimeEntry.objects.filter(pk=entries[4].pk).update(invoice_line=line)
    return entries


@pytest.mark.parametrize("sensitive", [True, False], ids=["sensitive", "redacted"])
def test_a_list_renders_exactly_as_entry_output(shapes, owner, member, sensitive):
    viewer = owner if sensitive else member
    principal = principal_for(viewer)
    entries = time_entry_list(actor=principal, member=member)

    expected = EntryOutput(list(entries), many=True, context={"principal": principal}).data
    presented = present_entries(entry_values(entries), principal)

    assert len(presented) == len(shapes)
    assert presented == [dict(row) for row in expected]
    assert [list(row) for row in presented] == [list(row) for row in expected]  # the same field order
    first = next(row for row in presented if row["description"] == "Wireframes")
    assert [tag["name"] for tag in first["tags"]] == ["alpha", "mike", "zulu"]
    assert first["redacted"] == ([] if sensitive else ["cost_rate", "cost_amount"])
    assert first["cost_amount"] == ("32.51" if sensitive else None)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/St_Johns", "UTC"])
def test_times_follow_the_active_time_zone_as_drf_renders_them(shapes, owner, member, zone):
    principal = principal_for(owner)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        entries = time_entry_list(actor=principal, member=member)
        expected = EntryOutput(list(entries), many=True, context={"principal": principal}).data
        presented = present_entries(entry_values(entries), principal)

    assert presented == [dict(row) for row in expected]
    started = [row["started_at"] for row in presented]
    assert all(text.endswith("Z") for text in started) == (zone == "UTC")


def test_a_list_is_one_query_whatever_its_length(shapes, member, django_assert_num_queries):
    principal = principal_for(member)
    rows = entry_values(time_entry_list(actor=principal, member=member))
    with django_assert_num_queries(1):  # the rows, each with its tags (PostgreSQL)
        assert len(present_entries(rows, principal)) == len(shapes)
    with django_assert_num_queries(0):  # nothing to show: no query at all
        assert present_entries([], principal) == []


@pytest.mark.parametrize("sensitive", [True, False], ids=["sensitive", "redacted"])
def test_rows_without_their_tags_read_them_in_one_more_query(
    shapes, owner, member, sensitive, django_assert_num_queries
):
    """The path other databases take (the tags are a PostgreSQL subquery): the same output."""
    principal = principal_for(owner if sensitive else member)
    entries = time_entry_list(actor=principal, member=member)
    expected = present_entries(entry_values(entries), principal)
    rows = list(entries.prefetch_related(None).values(*_columns()))
    assert TAGS not in rows[0]

    with django_assert_num_queries(1):  # the tags of every row at once
        presented = present_entries(rows, principal)

    assert presented == expected
    wireframes = next(row for row in presented if row["description"] == "Wireframes")
    assert [tag["name"] for tag in wireframes["tags"]] == ["alpha", "mike", "zulu"]


def test_a_tag_of_another_workspace_is_never_shown(shapes, member):
    """Tags come from the entries' own workspace, even if a row of the link table said otherwise."""
    foreign = TagFactory(name="elsewhere")  # another workspace's tag
    TimeEntry.tags.through.objects.create(timeentry_id=shapes[1].pk, tag_id=foreign.pk)
    principal = principal_for(member)
    entries = time_entry_list(actor=principal, member=member)

    for rows in (entry_values(entries), list(entries.prefetch_related(None).values(*_columns()))):
        presented = {row["id"]: row for row in present_entries(rows, principal)}
        assert presented[shapes[1].pk]["tags"] == []
        assert [tag["name"] for tag in presented[shapes[0].pk]["tags"]] == ["alpha", "mike", "zulu"]


def test_one_entry_reads_back_as_its_list_row_and_only_in_its_own_workspace(shapes, owner, workspace):
    principal = principal_for(owner)
    for entry in shapes:
        row = entry_row(workspace_id=workspace.pk, entry_id=entry.pk)
        assert present_entries(row, principal) == present_entries(
            entry_values(TimeEntry.objects.filter(pk=entry.pk)), principal
        )
    elsewhere = WorkspaceFactory()
    assert entry_row(workspace_id=elsewhere.pk, entry_id=shapes[0].pk) == []


# --- an entry just created, presented from its instance -------------------------------------------


@pytest.fixture
def created(workspace, owner, member):
    """Entries as the entry services create them, one of every shape a create gives, with the
    principal that wrote each."""
    client = ClientFactory(workspace=workspace, name="Zeta GmbH")
    rated = ProjectFactory(workspace=workspace, client=client, billable_rate=Decimal("95.00"), team=[member])
    bare = ProjectFactory(workspace=workspace, client=None, team=[member])
    task = TaskFactory(project=rated, name="Design")
    member.cost_rate = Decimal("41.50")
    member.save(update_fields=["cost_rate"])
    as_member, by_agent = principal_for(member), agent(member)
    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    made = [
        (as_member, time_entry_create_for_day(
            actor=as_member, project=rated, task=task, day=start.date(), duration_seconds=2821, billable=True,
            description="Wireframes",
        )),
        (as_member, time_entry_create(
            actor=as_member, project=bare, started_at=start - timedelta(days=1),
            ended_at=start - timedelta(days=1) + timedelta(minutes=3, seconds=7),
        )),
        (by_agent, time_entry_create_for_day(
            actor=by_agent, project=rated, day=start.date(), duration_seconds=900, billable=True, description="Draft",
        )),
    ]  # fmt: skip
    assert made[2][1].state == EntryState.DRAFT
    return made


@pytest.mark.parametrize("viewer", ["writer", "owner"])
def test_an_entry_just_created_is_presented_as_read_back_without_a_query(
    created, owner, viewer, django_assert_num_queries
):
    for writer, entry in created:
        principal = writer if viewer == "writer" else principal_for(owner)
        with django_assert_num_queries(0):
            presented = present_created(principal, entry, [])
        assert presented == present_entry(principal, entry.pk)


def test_one_with_tags_or_without_its_rows_on_the_instance_is_read_back(
    created, workspace, member, django_assert_num_queries
):
    writer, entry = created[0]
    tags = [TagFactory(workspace=workspace, name=name) for name in ("zulu", "Alpha")]
    entry.tags.set(tags)
    with django_assert_num_queries(1):
        presented = present_created(writer, entry, tags)
    assert [tag["name"] for tag in presented["tags"]] == ["Alpha", "zulu"]
    fresh = TimeEntry.objects.get(pk=entry.pk)  # its member, project and task not loaded
    with django_assert_num_queries(1):
        assert present_created(writer, fresh, []) == presented
