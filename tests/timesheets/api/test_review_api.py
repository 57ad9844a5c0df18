"""REST: the review queue of agent drafts — list (with the proposing connection), accept, discard, bulk."""

import pytest

from tests.factories import (
    ConnectionFactory,
    MembershipFactory,
    OAuthApplicationFactory,
    ProjectFactory,
    TimeEntryFactory,
    TimesheetFactory,
)
from tests.timesheets.api.conftest import BASE
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import EntrySource, EntryState, TimeEntry, TimesheetStatus
from workspaces.models import ConnectionKind

URL = BASE + "review-queue"
REASON = "Billable time proposed by an agent waits for a human (workspace policy)"


def make_draft(member, project, hour=9, connection=None):
    return TimeEntryFactory(
        member=member,
        project=project,
        started_at=berlin(MONDAY, hour),
        state=EntryState.DRAFT,
        source=EntrySource.MCP,
        connection=connection or ConnectionFactory(membership=member),
        draft_reason=REASON,
    )


def test_queue_shows_each_draft_with_its_agent(api_as, member, other_member, project):
    app = OAuthApplicationFactory(name="Claude")
    mine = make_draft(member, project, connection=ConnectionFactory(membership=member, application=app, label=""))
    make_draft(other_member, project, hour=11)
    TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 13))  # active

    rows = api_as(member).get(URL).json()["results"]

    assert [row["id"] for row in rows] == [mine.pk]
    row = rows[0]
    assert (row["connection"], row["connection_label"], row["connection_client"]) == (
        mine.connection_id,
        "Claude",
        "Claude",
    )
    assert (row["state"], row["draft_reason"]) == ("draft", REASON)


def test_an_api_keys_draft_shows_its_label(api_as, manager, member, project):
    key = ConnectionFactory(
        membership=member, kind=ConnectionKind.API_KEY, application=None, label="nightly agent", key_hash="h" * 64
    )
    make_draft(member, project, connection=key)

    row = api_as(manager).get(URL).json()["results"][0]

    assert (row["connection_label"], row["connection_client"]) == ("nightly agent", None)


@pytest.mark.parametrize("rows", [1, 50])
def test_list_runs_a_constant_number_of_queries(api_as, manager, member, project, rows, django_assert_max_num_queries):
    for i in range(rows):
        make_draft(member, project, hour=i % 20)
    api = api_as(manager)

    with django_assert_max_num_queries(12):
        response = api.get(URL, {"limit": 50})

    assert len(response.json()["results"]) == rows


def test_another_workspaces_member_as_a_filter_is_invalid(api_as, manager):
    foreign = MembershipFactory()
    make_draft(foreign, ProjectFactory(workspace=foreign.workspace))

    response = api_as(manager).get(URL, {"member": foreign.pk})

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["member"])
    assert api_as(manager).get(URL).json()["results"] == []


def test_accept(api_as, member, project):
    draft = make_draft(member, project)

    response = api_as(member).post(f"{URL}/{draft.pk}/accept", format="json")

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["draft_reason"]) == ("active", "")
    assert TimeEntry.objects.get().state == EntryState.ACTIVE


def test_accept_in_a_locked_week_is_409_locked(api_as, member, project):
    draft = make_draft(member, project)
    TimesheetFactory(member=member, week_start=MONDAY, status=TimesheetStatus.APPROVED)

    response = api_as(member).post(f"{URL}/{draft.pk}/accept", format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "locked")


def test_an_active_entry_is_not_in_the_queue(api_as, member, project):
    entry = TimeEntryFactory(member=member, project=project)

    response = api_as(member).post(f"{URL}/{entry.pk}/accept", format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_discard(api_as, manager, member, project):
    draft = make_draft(member, project)

    response = api_as(manager).post(f"{URL}/{draft.pk}/discard", format="json")

    assert response.status_code == 204
    assert not TimeEntry.objects.exists()


def test_bulk_accept(api_as, manager, member, other_member, project):
    drafts = [make_draft(member, project), make_draft(other_member, project, hour=11)]
    ids = [d.pk for d in drafts]

    response = api_as(manager).post(URL + "/bulk", {"action": "accept", "ids": ids}, format="json")

    assert response.status_code == 200
    assert response.json() == {"action": "accept", "ids": sorted(ids)}
    assert set(TimeEntry.objects.values_list("state", flat=True)) == {EntryState.ACTIVE}


def test_bulk_is_all_or_nothing(api_as, manager, member, other_member, project):
    good = make_draft(member, project)
    locked = make_draft(other_member, project, hour=11)
    TimesheetFactory(member=other_member, week_start=MONDAY, status=TimesheetStatus.SUBMITTED)

    response = api_as(manager).post(URL + "/bulk", {"action": "accept", "ids": [good.pk, locked.pk]}, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "locked"
    assert error["fields"]["ids"][0].startswith(f"{locked.pk}: ")
    assert set(TimeEntry.objects.values_list("state", flat=True)) == {EntryState.DRAFT}


def test_bulk_with_another_workspaces_id_is_not_found(api_as, owner, member, project):
    mine = make_draft(member, project)
    foreign_member = MembershipFactory()
    foreign = make_draft(foreign_member, ProjectFactory(workspace=foreign_member.workspace))

    response = api_as(owner).post(URL + "/bulk", {"action": "discard", "ids": [mine.pk, foreign.pk]}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert TimeEntry.objects.filter(pk__in=[mine.pk, foreign.pk]).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "approve", "ids": [1]}, "action"),
        ({"action": "accept", "ids": []}, "ids"),
        ({"action": "accept"}, "ids"),
    ],
)
def test_bulk_refuses_bad_input(api_as, member, body, field):
    response = api_as(member).post(URL + "/bulk", body, format="json")

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, [field])
