"""Approvals and the review queue pages: totals, decisions, reasons, agents' drafts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.web.conftest import at
from timesheets.models import EntryState, TimeEntry, TimesheetStatus

pytestmark = pytest.mark.django_db


def submitted(member, workspace, project, monday, hours: int):
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 8), ended_at=at(workspace, monday, 8 + hours)
    )
    TimeEntryFactory(
        member=member,
        project=project,
        state=EntryState.DRAFT,
        started_at=at(workspace, monday, 20),
        ended_at=at(workspace, monday, 22),
    )
    return TimesheetFactory(member=member, week_start=monday, status=TimesheetStatus.SUBMITTED)


def test_approvals_list_submitted_weeks_with_their_active_totals(
    manager_client, workspace, member, other_member, project, monday
):
    first = submitted(member, workspace, project, monday, 3)
    second = submitted(other_member, workspace, project, monday, 5)
    TimesheetFactory(member=member, week_start=monday - timedelta(days=7), status=TimesheetStatus.APPROVED)
    page = manager_client.get(reverse("approvals", args=[workspace.slug]))
    assert [(row["sheet"].pk, row["seconds"]) for row in page.context["submitted"]] == [
        (first.pk, 3 * 3600),
        (second.pk, 5 * 3600),
    ]
    assert [row["sheet"].status for row in page.context["decided"]] == [TimesheetStatus.APPROVED]


def test_reject_needs_a_reason_and_the_member_sees_it(manager_client, client, workspace, member, project, monday):
    sheet = submitted(member, workspace, project, monday, 2)
    url = reverse("timesheet-reject", args=[workspace.slug, sheet.pk])
    empty = manager_client.post(url, {f"r{sheet.pk}-reason": ""})
    assert empty.status_code == 400
    assert "A rejection needs a reason" in empty.content.decode()
    sheet.refresh_from_db()
    assert sheet.status == TimesheetStatus.SUBMITTED

    assert manager_client.post(url, {f"r{sheet.pk}-reason": "Add the Friday workshop."}).status_code == 302
    sheet.refresh_from_db()
    assert (sheet.status, sheet.rejection_reason) == (TimesheetStatus.REJECTED, "Add the Friday workshop.")

    client.force_login(member.user)
    week = client.get(reverse("week", args=[workspace.slug]), {"week": monday.isoformat()})
    assert "Add the Friday workshop." in week.content.decode()
    assert week.context["editable"] is True


def test_approve_and_a_second_decision_is_a_clear_message(manager_client, workspace, member, project, monday):
    sheet = submitted(member, workspace, project, monday, 2)
    url = reverse("timesheet-approve", args=[workspace.slug, sheet.pk])
    assert manager_client.post(url).status_code == 302
    again = manager_client.post(url, follow=True)
    assert "Only a submitted week can be approved" in again.content.decode()


def test_the_review_queue_shows_who_proposed_what_and_why(member_client, workspace, member, project):
    agent = ConnectionFactory(user=member.user, workspace=workspace, label="Cursor")
    draft = TimeEntryFactory(
        member=member,
        project=project,
        state=EntryState.DRAFT,
        connection=agent,
        description="Refactor",
        draft_reason="Billable time proposed by an agent waits for a human (workspace policy)",
    )
    page = member_client.get(reverse("review-queue", args=[workspace.slug]))
    body = page.content.decode()
    assert [d.pk for d in page.context["drafts"]] == [draft.pk]
    assert "Cursor" in body
    assert "Refactor" in body
    assert "(workspace policy)" in body


def test_accept_one_by_its_button_whatever_is_ticked_and_discard_in_bulk(member_client, workspace, member, project):
    drafts = TimeEntryFactory.create_batch(3, member=member, project=project, state=EntryState.DRAFT)
    url = reverse("review-decide", args=[workspace.slug])
    member_client.post(url, {"one": f"accept:{drafts[0].pk}", "draft": [d.pk for d in drafts]})
    assert list(TimeEntry.objects.order_by("pk").values_list("state", flat=True)) == ["active", "draft", "draft"]
    member_client.post(url, {"decision": "discard", "draft": [drafts[1].pk, drafts[2].pk]})
    assert list(TimeEntry.objects.values_list("pk", flat=True)) == [drafts[0].pk]
    nothing = member_client.post(url, {"decision": "accept"}, follow=True)
    assert "Choose the drafts" in nothing.content.decode()


def test_a_member_cannot_decide_someone_elses_draft(member_client, workspace, other_member, project):
    theirs = TimeEntryFactory(member=other_member, project=project, state=EntryState.DRAFT)
    response = member_client.post(
        reverse("review-decide", args=[workspace.slug]), {"one": f"accept:{theirs.pk}"}, follow=True
    )
    assert "not found" in response.content.decode().lower()
    theirs.refresh_from_db()
    assert theirs.state == EntryState.DRAFT
