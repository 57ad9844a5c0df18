"""CSV import (Toggl Track, Clockify, our own export): a dry run that tells everything, and
nothing written unless the whole file is valid or bad rows are skipped on purpose."""

import pytest

from billing.exports import ENTRY_COLUMNS, csv_lines, entry_rows
from billing.imports import time_entries_import
from tests.factories import ClientFactory, ProjectFactory, TagFactory, TaskFactory, TimeEntryFactory
from timesheets.models import EntrySource, TimeEntry
from timesheets.selectors import time_entry_list
from workspaces.errors import Invalid
from workspaces.models import AuditEvent

TOGGL = """User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags
Sam,member@example.test,Globex,Website,Design,Wireframes,Yes,2026-06-01,09:00:00,2026-06-01,10:30:00,01:30:00,workshop
Sam,member@example.test,Globex,Nope,,Lost,No,2026-06-01,11:00:00,2026-06-01,12:00:00,01:00:00,
Sam,member@example.test,Globex,Website,,Broken,No,2026-06-01,25:00:00,2026-06-01,26:00:00,01:00:00,
"""

CLOCKIFY = """Project,Client,Description,Task,User,Group,Email,Tags,Billable,Start Date,Start Time,End Date,End Time,Duration (h)
Website,Globex,Standup,,Sam,,member@example.test,,No,06/02/2026,09:15 AM,06/02/2026,09:30 AM,00:15:00
Website,Globex,Review,Design,Sam,,member@example.test,workshop,Yes,06/02/2026,01:00 PM,06/02/2026,03:00 PM,02:00:00
"""


@pytest.fixture
def world(workspace, member):
    client = ClientFactory(workspace=workspace, name="Globex")
    project = ProjectFactory(workspace=workspace, client=client, name="Website", team=[member])
    TaskFactory(project=project, name="Design")
    TagFactory(workspace=workspace, name="workshop")
    return project


def test_a_dry_run_reports_every_row_and_writes_nothing(as_manager, world):
    report = time_entries_import(actor=as_manager, content=TOGGL, dry_run=True)
    assert (report.format, report.rows, report.created, report.written) == ("toggl", 3, 1, False)
    assert report.errors == [(3, "unknown project 'Nope'"), (4, "unreadable time '25:00:00'")]
    assert report.unknown_projects == {"Nope (globex)"}
    assert not TimeEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="time_entry.create").exists()


def test_a_file_with_bad_rows_is_refused_whole_unless_they_are_skipped(as_manager, world, member):
    refused = time_entries_import(actor=as_manager, content=TOGGL, dry_run=False)
    assert (refused.written, refused.created) == (False, 0)
    assert not TimeEntry.objects.exists()

    done = time_entries_import(actor=as_manager, content=TOGGL, dry_run=False, skip_invalid=True)
    assert (done.written, done.created) == (True, 1)
    entry = TimeEntry.objects.get()
    assert entry.task is not None
    assert (entry.member, entry.project, entry.task.name, entry.billable, entry.duration_seconds) == (
        member, world, "Design", True, 5400,
    )  # fmt: skip
    assert entry.source == EntrySource.IMPORT
    assert [t.name for t in entry.tags.all()] == ["workshop"]
    assert entry.started_at.isoformat() == "2026-06-01T07:00:00+00:00"  # 09:00 in Berlin


def test_clockify_with_us_dates_and_12_hour_times(as_member, world):
    report = time_entries_import(actor=as_member, content=CLOCKIFY, dry_run=False)
    assert (report.format, report.created, report.errors) == ("clockify", 2, [])
    assert sorted(s or 0 for s in TimeEntry.objects.values_list("duration_seconds", flat=True)) == [900, 7200]


def test_rules_apply_row_by_row_locks_and_who_may_log(as_member, world, other_member):
    other_member.user.email = "other@example.test"
    other_member.user.save()
    content = (
        TOGGL.splitlines()[0] + "\nOther,other@example.test,Globex,Website,,x,No,2026-06-01,09:00,2026-06-01,10:00,,\n"
    )
    report = time_entries_import(actor=as_member, content=content, dry_run=True)
    assert report.errors == [(2, "Your role (member) may not do this; it needs manager or above.")]


def test_our_own_export_imports_back(as_manager, world, member, workspace):
    TimeEntryFactory(member=member, project=world, description="Round trip")
    exported = b"".join(csv_lines(ENTRY_COLUMNS, entry_rows(time_entry_list(actor=as_manager), workspace)))
    TimeEntry.objects.all().delete()
    report = time_entries_import(actor=as_manager, content=exported, dry_run=False)
    assert (report.format, report.created, report.errors) == ("timetracker", 1, [])
    assert TimeEntry.objects.get().description == "Round trip"


def test_an_unknown_layout_is_invalid(as_manager):
    with pytest.raises(Invalid, match="Unknown CSV layout"):
        time_entries_import(actor=as_manager, content="a,b\n1,2\n")
