"""Access matrix of the timesheets app's REST endpoints (harness: tests/api_matrix.py).

Every caller is an API key with every scope its role can use. The member is on ``{project}``'s
team; ``other`` is a second member. Entries are in the week of 2026-06-01, the timesheets in the
week before (so they lock nothing the other rows touch), the agent drafts two weeks later.
Every role has a running timer, so ``timer/stop`` answers 200 and ``timer/start`` stops it first.
"""

import dataclasses
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api_matrix import Case, case_id, cases_by_caller, check
from tests.factories import ConnectionFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import EntrySource, EntryState, TimesheetStatus

pytestmark = pytest.mark.django_db

ENTRY = {"project": "{project}", "started_at": "2026-06-02T09:00:00+02:00", "ended_at": "2026-06-02T10:00:00+02:00"}

TABLE = [
    # time entries
    Case("GET", "time-entries", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "time-entries?format=csv", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "time-entries", "write", member=201, manager=201, admin=201, owner=201, body=ENTRY),
    Case("GET", "time-entries/{own_entry}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "time-entries/{other_entry}", "read", member=404, manager=200, admin=200, owner=200),
    Case(
        "PATCH",
        "time-entries/{own_entry}",
        "write",
        member=200,
        manager=200,
        admin=200,
        owner=200,
        body={"description": "x"},
    ),
    Case(
        "PATCH",
        "time-entries/{other_entry}",
        "write",
        member=404,
        manager=200,
        admin=200,
        owner=200,
        body={"description": "x"},
    ),
    Case("DELETE", "time-entries/{own_entry}", "write", member=204, manager=204, admin=204, owner=204),
    Case("DELETE", "time-entries/{other_entry}", "write", member=404, manager=204, admin=204, owner=204),
    # the timer
    Case("GET", "timer", "read", member=200, manager=200, admin=200, owner=200),
    Case(
        "POST",
        "timer/start",
        "write",
        member=201,
        manager=201,
        admin=201,
        owner=201,
        body={"project": "{project}", "stop_running": True},
    ),
    Case("POST", "timer/stop", "write", member=200, manager=200, admin=200, owner=200),
    # timesheets
    Case("GET", "timesheets", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "timesheets/{own_sheet}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "timesheets/{other_sheet}", "read", member=404, manager=200, admin=200, owner=200),
    Case(
        "POST",
        "timesheets/submit",
        "write",
        member=200,
        manager=200,
        admin=200,
        owner=200,
        body={"week_start": "2026-06-08"},
    ),
    Case("POST", "timesheets/{other_sheet}/approve", "write", member=403, manager=200, admin=200, owner=200),
    Case(
        "POST",
        "timesheets/{other_sheet}/reject",
        "write",
        member=403,
        manager=200,
        admin=200,
        owner=200,
        body={"reason": "Split the meeting time"},
    ),
    Case("POST", "timesheets/{other_sheet}/reopen", "admin", member=403, manager=403, admin=200, owner=200),
    # the review queue
    Case("GET", "review-queue", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "review-queue/{own_draft}/accept", "write", member=200, manager=200, admin=200, owner=200),
    Case("POST", "review-queue/{other_draft}/accept", "write", member=404, manager=200, admin=200, owner=200),
    Case("POST", "review-queue/{own_draft}/discard", "write", member=204, manager=204, admin=204, owner=204),
    Case("POST", "review-queue/{other_draft}/discard", "write", member=404, manager=204, admin=204, owner=204),
    Case(
        "POST",
        "review-queue/bulk",
        "write",
        member=200,
        manager=200,
        admin=200,
        owner=200,
        body={"action": "accept", "ids": ["{own_draft}"]},
    ),
    Case(
        "POST",
        "review-queue/bulk",
        "write",
        member=404,
        manager=200,
        admin=200,
        owner=200,
        body={"action": "discard", "ids": ["{other_draft}"]},
    ),
]


@pytest.fixture
def roles(member, manager, admin, owner):
    return {"member": member, "manager": manager, "admin": admin, "owner": owner}


def _draft(membership, project, day):
    return TimeEntryFactory(
        member=membership,
        project=project,
        started_at=berlin(day, 9),
        state=EntryState.DRAFT,
        source=EntrySource.MCP,
        connection=ConnectionFactory(membership=membership),
        draft_reason="Billable time proposed by an agent waits for a human (workspace policy)",
    )


@pytest.fixture
def world(workspace, member, other_member, manager, admin, owner, project):
    sheet_week = MONDAY - timedelta(days=7)
    for membership in (member, manager, admin, owner):
        TimeEntryFactory(
            member=membership, project=project, started_at=timezone.now() - timedelta(hours=1), ended_at=None
        )
    draft_day = MONDAY + timedelta(days=14)
    return {
        "project": project.pk,
        "own_entry": TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 9)).pk,
        "other_entry": TimeEntryFactory(member=other_member, project=project, started_at=berlin(MONDAY, 11)).pk,
        "own_sheet": TimesheetFactory(member=member, week_start=sheet_week, status=TimesheetStatus.SUBMITTED).pk,
        "other_sheet": TimesheetFactory(
            member=other_member, week_start=sheet_week, status=TimesheetStatus.SUBMITTED, submitted_at=timezone.now()
        ).pk,
        "own_draft": _draft(member, project, draft_day).pk,
        "other_draft": _draft(other_member, project, draft_day).pk,
    }


def _resolved(case: Case, world: dict) -> Case:
    """The harness fills placeholders in string values; bulk bodies carry them in a list of ids."""
    if case.body is None or not isinstance(case.body.get("ids"), list):
        return case
    ids = [int(value.format(**world)) for value in case.body["ids"]]
    return dataclasses.replace(case, body={**case.body, "ids": ids})


@pytest.mark.parametrize("pair", cases_by_caller(TABLE), ids=case_id)
def test_access(pair, roles, world):
    case, caller = pair
    check(_resolved(case, world), caller, roles, world)
