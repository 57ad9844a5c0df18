"""REST: weekly timesheets — list with filters, the week with totals, submit, approve, reject, reopen."""

from datetime import timedelta

import pytest

from tests.factories import MembershipFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.api.conftest import BASE
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import EntryState, Timesheet, TimesheetStatus
from workspaces.models import AuditEvent

URL = BASE + "timesheets"


def sheet(member, week=MONDAY, status=TimesheetStatus.SUBMITTED):
    return TimesheetFactory(member=member, week_start=week, status=status)


def test_member_lists_own_weeks_and_manager_filters(api_as, member, other_member, manager):
    mine = sheet(member)
    older = sheet(member, MONDAY - timedelta(days=7), TimesheetStatus.APPROVED)
    theirs = sheet(other_member)

    as_member = [row["id"] for row in api_as(member).get(URL).json()["results"]]
    api = api_as(manager)

    assert as_member == [mine.pk, older.pk]
    assert [r["id"] for r in api.get(URL, {"member": other_member.pk}).json()["results"]] == [theirs.pk]
    assert [r["id"] for r in api.get(URL, {"status": "approved"}).json()["results"]] == [older.pk]
    window = {"week_start_from": "2026-05-25", "week_start_to": "2026-05-31"}
    assert [r["id"] for r in api.get(URL, window).json()["results"]] == [older.pk]


def test_another_workspaces_member_as_a_filter_is_invalid(api_as, manager):
    foreign = MembershipFactory()
    sheet(foreign)

    response = api_as(manager).get(URL, {"member": foreign.pk})

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["member"])


@pytest.mark.parametrize("rows", [1, 50])
def test_list_runs_a_constant_number_of_queries(api_as, manager, workspace, rows, django_assert_max_num_queries):
    for i in range(rows):
        sheet(MembershipFactory(workspace=workspace), MONDAY - timedelta(days=7 * (i % 3)))
    api = api_as(manager)

    with django_assert_max_num_queries(10):
        response = api.get(URL, {"limit": 50})

    assert len(response.json()["results"]) == rows


def test_week_detail_has_totals_and_entries(api_as, member, project):
    timesheet = sheet(member)
    TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 9))
    TimeEntryFactory(
        member=member,
        project=project,
        started_at=berlin(MONDAY + timedelta(days=2), 9),
        ended_at=berlin(MONDAY + timedelta(days=2), 11),
    )
    TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 14), state=EntryState.DRAFT)

    body = api_as(member).get(f"{URL}/{timesheet.pk}").json()

    assert body["timesheet"]["status"] == "submitted"
    assert body["total_seconds"] == 3 * 3600
    assert body["draft_seconds"] == 3600
    assert body["days"][0] == {"date": "2026-06-01", "seconds": 3600}
    assert body["days"][2] == {"date": "2026-06-03", "seconds": 7200}
    assert body["projects"] == [{"project": project.pk, "project_name": "Website", "seconds": 3 * 3600}]
    assert body["lock_reason"].startswith("The week of 2026-06-01 is submitted")
    assert len(body["entries"]) == 3


def test_submit_then_approve(api_as, member, manager):
    submitted = api_as(member).post(URL + "/submit", {"week_start": "2026-06-01"}, format="json")

    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    approved = api_as(manager).post(f"{URL}/{submitted.json()['id']}/approve", format="json")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "manager")


def test_submit_refuses_a_day_that_does_not_start_a_week(api_as, member):
    response = api_as(member).post(URL + "/submit", {"week_start": "2026-06-02"}, format="json")

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["week_start"])


def test_reject_needs_a_reason(api_as, manager, member):
    timesheet = sheet(member)
    api = api_as(manager)

    for body in ({}, {"reason": ""}):
        response = api.post(f"{URL}/{timesheet.pk}/reject", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
        assert list(response.json()["error"]["fields"]) == ["reason"]
    timesheet.refresh_from_db()
    assert timesheet.status == TimesheetStatus.SUBMITTED

    rejected = api.post(f"{URL}/{timesheet.pk}/reject", {"reason": "Split the meeting"}, format="json")
    assert (rejected.status_code, rejected.json()["rejection_reason"]) == (200, "Split the meeting")


def test_manager_cannot_approve_own_week(api_as, manager):
    timesheet = sheet(manager)

    response = api_as(manager).post(f"{URL}/{timesheet.pk}/approve", format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


def test_approving_a_rejected_week_is_a_conflict(api_as, admin, member):
    timesheet = TimesheetFactory(
        member=member, week_start=MONDAY, status=TimesheetStatus.REJECTED, rejection_reason="Split the meeting"
    )

    response = api_as(admin).post(f"{URL}/{timesheet.pk}/approve", format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")


def test_admin_reopens_and_it_is_audited(api_as, admin, member):
    timesheet = sheet(member, status=TimesheetStatus.APPROVED)

    response = api_as(admin).post(f"{URL}/{timesheet.pk}/reopen", {"reason": "Late correction"}, format="json")

    assert (response.status_code, response.json()["status"]) == (200, "open")
    event = AuditEvent.objects.get(action="timesheet.reopen")
    assert event.detail == {"from": "approved", "reason": "Late correction"}
    assert Timesheet.objects.get().status == TimesheetStatus.OPEN


def test_another_workspaces_timesheet_is_not_found(api_as, owner):
    foreign = sheet(MembershipFactory())

    response = api_as(owner).post(f"{URL}/{foreign.pk}/approve", format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
