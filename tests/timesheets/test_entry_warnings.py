"""What an agent's write answers besides the entry (``time_entry_warnings``): a draft waiting for
review, an overlap with the member's other active time (where overlaps are allowed), a day of
more than ten hours. One query, whatever the member's time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import MembershipFactory, TimeEntryFactory
from timesheets.member_time import time_entry_warnings
from timesheets.models import EntryState
from workspaces.models import OverlapPolicy

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
OVERLAP = "It overlaps another entry of the same person."


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=BERLIN)


def entry(member, project, start: datetime, end: datetime | None, **kwargs):
    return TimeEntryFactory(member=member, project=project, started_at=start, ended_at=end, **kwargs)


def test_an_entry_alone_on_a_short_day_has_no_warnings_in_one_query(member, project, django_assert_num_queries):
    written = entry(member, project, at(9), at(17))
    for day in range(1, 8):  # the member's other days count for nothing
        entry(member, project, at(9, day=day), at(19, day=day))

    with django_assert_num_queries(1):
        assert time_entry_warnings(entry=written) == []


def test_overlaps_are_other_active_time_of_the_member_that_shares_a_moment(member, other_member, project):
    written = entry(member, project, at(10), at(12))
    entry(member, project, at(8), at(10))  # ends as it starts: back to back
    entry(member, project, at(12), at(13))  # starts as it ends
    entry(other_member, project, at(10), at(12))  # someone else's
    entry(member, project, at(11), at(12), state=EntryState.DRAFT)  # a draft is not time yet
    assert time_entry_warnings(entry=written) == []

    entry(member, project, at(11, 59), at(12, 30))
    assert time_entry_warnings(entry=written) == [OVERLAP]


def test_a_running_timer_and_a_long_entry_from_the_day_before_overlap(member, project):
    written = entry(member, project, at(10), at(12))
    timer = entry(member, project, at(11), None)
    assert time_entry_warnings(entry=written) == [OVERLAP]
    timer.delete()

    entry(member, project, at(20, day=9), at(10, 30))  # started the evening before
    assert time_entry_warnings(entry=written) == [OVERLAP]


def test_overlaps_are_not_looked_for_where_the_workspace_forbids_them(member, project):
    written = entry(member, project, at(10), at(12))
    entry(member, project, at(11), at(13))  # as the factory writes it: no rules
    workspace = member.workspace
    workspace.overlap_policy = OverlapPolicy.FORBID
    workspace.save()
    written.refresh_from_db()

    assert time_entry_warnings(entry=written) == []


def test_a_day_is_long_beyond_ten_hours_of_the_members_time_starting_that_day(member, other_member, project):
    written = entry(member, project, at(13), at(18))  # 5 h
    entry(member, project, at(6), at(11))  # 5 h more: exactly ten
    entry(other_member, project, at(6), at(20))  # someone else's
    entry(member, project, at(23, 30, day=9), at(6, day=10))  # started the day before
    assert time_entry_warnings(entry=written) == []

    entry(member, project, at(22), at(22) + timedelta(seconds=360))  # six minutes more
    assert time_entry_warnings(entry=written) == ["2026-06-10 now has 10.1 hours logged (more than 10)."]


def test_a_draft_says_it_waits_for_review(member, project):
    written = entry(member, project, at(10), at(12), state=EntryState.DRAFT, draft_reason="billable time")

    assert time_entry_warnings(entry=written) == [
        "Saved as a draft for a person to accept in the review queue: billable time."
    ]


@pytest.fixture
def member(workspace):
    workspace.overlap_policy = OverlapPolicy.ALLOW
    workspace.save()
    return MembershipFactory(workspace=workspace)
