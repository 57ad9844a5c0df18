"""The week grid page without JavaScript (the whole form) and with htmx (one cell, totals out of band)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import TimeEntryFactory, TimesheetFactory
from tests.timesheets.web.conftest import at
from timesheets.models import TimeEntry, Timesheet, TimesheetStatus

pytestmark = pytest.mark.django_db


def cell(project, task, day) -> str:
    return f"c-{project.pk}-{task.pk if task else 0}-{day.isoformat()}"


def test_saving_the_whole_form_without_javascript(member_client, workspace, member, project, task, monday):
    url = reverse("week-save", args=[workspace.slug])
    rows = [f"{project.pk}-{task.pk}", f"{project.pk}-0"]
    response = member_client.post(
        url,
        {
            "week": monday.isoformat(),
            "row": rows,
            cell(project, task, monday): "1:30",
            cell(project, task, monday + timedelta(days=1)): "1.5",
            cell(project, None, monday + timedelta(days=2)): "45m",
            cell(project, None, monday + timedelta(days=3)): "",
        },
    )
    assert response.status_code == 302
    assert sorted(e.duration_seconds or 0 for e in TimeEntry.objects.filter(member=member)) == [
        2700,
        5400,
        5400,
    ]
    page = member_client.get(response["Location"])
    assert page.context["grid"].total == 13500
    assert b"Saved 3 days." in page.content


def test_a_bad_value_is_shown_on_its_cell_and_the_others_still_save(member_client, workspace, member, project, monday):
    response = member_client.post(
        reverse("week-save", args=[workspace.slug]),
        {
            "week": monday.isoformat(),
            "row": [f"{project.pk}-0"],
            cell(project, None, monday): "2h",
            cell(project, None, monday + timedelta(days=1)): "soon",
        },
    )
    assert response.status_code == 400
    assert response.context["errors"] == {
        cell(project, None, monday + timedelta(days=1)): "Cannot read 'soon' as a duration from 1 minute to 24 hours."
    }
    assert b'value="soon"' in response.content  # what was typed stays in the cell
    assert list(TimeEntry.objects.filter(member=member).values_list("duration_seconds", flat=True)) == [7200]


def test_htmx_saves_one_cell_and_answers_the_totals_out_of_band(member_client, workspace, member, project, monday):
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
    )
    response = member_client.post(
        reverse("week-save", args=[workspace.slug]),
        {"week": monday.isoformat(), cell(project, None, monday + timedelta(days=1)): "2:15"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert '<span id="week-grand-total" hx-swap-oob="true">3:15</span>' in body
    assert '<span id="day-total-1" data-total="day" hx-swap-oob="true">2:15</span>' in body
    assert f'<span id="row-total-{project.pk}-0" data-total="row" hx-swap-oob="true">3:15</span>' in body


def test_a_submitted_week_is_read_only_with_its_reason(member_client, workspace, member, project, monday):
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
    )
    TimesheetFactory(member=member, week_start=monday, status=TimesheetStatus.SUBMITTED)
    page = member_client.get(reverse("week", args=[workspace.slug]), {"week": monday.isoformat()})
    assert page.context["editable"] is False
    assert b'class="cell"' not in page.content
    assert b"This week is submitted" in page.content

    response = member_client.post(
        reverse("week-save", args=[workspace.slug]),
        {"week": monday.isoformat(), cell(project, None, monday): "3h"},
    )
    assert response.status_code == 400
    assert "submitted" in next(iter(response.context["errors"].values()))
    assert TimeEntry.objects.get(member=member).duration_seconds == 3600


def test_submitting_the_week(member_client, workspace, member, project, monday):
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
    )
    response = member_client.post(
        reverse("week-submit", args=[workspace.slug]), {"week": (monday + timedelta(days=2)).isoformat()}
    )
    assert response.status_code == 302
    assert Timesheet.objects.get(member=member, week_start=monday).status == TimesheetStatus.SUBMITTED
    again = member_client.post(reverse("week-submit", args=[workspace.slug]), {"week": monday.isoformat()}, follow=True)
    assert "already" in again.content.decode() or "submitted" in again.content.decode()


def test_a_bad_week_parameter_is_a_clear_message_not_an_error(member_client, workspace):
    page = member_client.get(reverse("week", args=[workspace.slug]), {"week": "next tuesday"})
    assert page.status_code == 200
    assert "Cannot read &#x27;next tuesday&#x27; as a date." in page.content.decode()
    bad_post = member_client.post(reverse("week-submit", args=[workspace.slug]), {"week": "nope"})
    assert bad_post.status_code == 400


def test_a_manager_opens_a_members_week(client, manager, member, workspace, project, monday):
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 12)
    )
    client.force_login(manager.user)
    page = client.get(reverse("week", args=[workspace.slug]), {"week": monday.isoformat(), "member": member.pk})
    assert page.status_code == 200
    assert page.context["grid"].total == 3 * 3600
    assert page.context["viewed_member"] == member
