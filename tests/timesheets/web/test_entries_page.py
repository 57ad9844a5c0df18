"""The entries list: filters, inline edit, bulk delete of one's own unlocked entries, downloads."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import ClientFactory, ProjectFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.web.conftest import at
from timesheets.models import TimeEntry, TimesheetStatus

pytestmark = pytest.mark.django_db


def listed(response) -> list[str]:
    return [row["entry"].description for row in response.context["rows"]]


def test_filters_by_project_client_billable_and_days(member_client, workspace, member, project, monday):
    other_project = ProjectFactory(
        workspace=workspace, name="Shop", client=ClientFactory(workspace=workspace, name="Initech"), team=[member]
    )
    TimeEntryFactory(
        member=member,
        project=project,
        description="site",
        billable=True,
        started_at=at(workspace, monday, 9),
        ended_at=at(workspace, monday, 10),
    )
    TimeEntryFactory(
        member=member,
        project=other_project,
        description="shop",
        billable=False,
        started_at=at(workspace, monday + timedelta(days=1), 9),
        ended_at=at(workspace, monday + timedelta(days=1), 10),
    )
    url = reverse("entries", args=[workspace.slug])

    assert listed(member_client.get(url)) == ["shop", "site"]
    assert listed(member_client.get(url, {"project": project.pk})) == ["site"]
    assert listed(member_client.get(url, {"client": other_project.client_id})) == ["shop"]
    assert listed(member_client.get(url, {"billable": "yes"})) == ["site"]
    assert listed(member_client.get(url, {"date_from": (monday + timedelta(days=1)).isoformat()})) == ["shop"]
    bad = member_client.get(url, {"date_from": "2026-02-02", "date_to": "2026-02-01"})
    assert bad.status_code == 400
    assert "Must be on or after the first day." in bad.content.decode()


def test_pages_of_fifty(member_client, workspace, member, project, monday):
    TimeEntryFactory.create_batch(
        51, member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 9, 30)
    )
    url = reverse("entries", args=[workspace.slug])
    first = member_client.get(url)
    assert (len(first.context["rows"]), first.context["has_next"]) == (50, True)
    second = member_client.get(url, {"page": 2})
    assert (len(second.context["rows"]), second.context["has_next"]) == (1, False)


def test_inline_edit_with_htmx_returns_the_row(member_client, workspace, member, project, monday):
    entry = TimeEntryFactory(
        member=member,
        project=project,
        description="old",
        started_at=at(workspace, monday, 9),
        ended_at=at(workspace, monday, 10),
    )
    url = reverse("entry-edit", args=[workspace.slug, entry.pk])
    form = member_client.get(url, headers={"HX-Request": "true"})
    assert form.status_code == 200
    assert b'value="09:00"' in form.content

    saved = member_client.post(
        url,
        {
            "project": project.pk,
            "day": monday.isoformat(),
            "start": "13:00",
            "end": "15:30",
            "description": "new",
            "billable": "on",
        },
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert f'id="entry-{entry.pk}"'.encode() in saved.content
    assert b"2:30" in saved.content
    entry.refresh_from_db()
    assert (entry.description, entry.duration_seconds, entry.started_at) == ("new", 9000, at(workspace, monday, 13))


def test_edit_errors_are_shown_on_the_form(member_client, workspace, member, project, monday):
    entry = TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
    )
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 11), ended_at=at(workspace, monday, 12)
    )
    workspace.overlap_policy = "forbid"
    workspace.save()
    response = member_client.post(
        reverse("entry-edit", args=[workspace.slug, entry.pk]),
        {"project": project.pk, "day": monday.isoformat(), "start": "10:30", "end": "11:30"},
    )
    assert response.status_code == 400
    assert "overlaps another entry" in response.content.decode()
    entry.refresh_from_db()
    assert entry.duration_seconds == 3600


def test_bulk_delete_removes_own_unlocked_entries_all_or_none(
    member_client, workspace, member, other_member, project, monday
):
    mine = [
        TimeEntryFactory(
            member=member, project=project, started_at=at(workspace, monday, h), ended_at=at(workspace, monday, h + 1)
        )
        for h in (9, 11)
    ]
    theirs = TimeEntryFactory(member=other_member, project=project)
    url = reverse("entries-delete", args=[workspace.slug])

    refused = member_client.post(url, {"entry": [mine[0].pk, theirs.pk]}, follow=True)
    assert "not found among your entries" in refused.content.decode()
    assert TimeEntry.objects.count() == 3

    last_week = at(workspace, monday - timedelta(days=7), 9)
    locked = TimeEntryFactory(
        member=member, project=project, started_at=last_week, ended_at=last_week + timedelta(hours=1)
    )
    TimesheetFactory(member=member, week_start=monday - timedelta(days=7), status=TimesheetStatus.APPROVED)
    refused = member_client.post(url, {"entry": [mine[0].pk, locked.pk]}, follow=True)
    assert f"Entry {locked.pk}:" in refused.content.decode()
    assert "Nothing was deleted." in refused.content.decode()
    assert TimeEntry.objects.count() == 4

    done = member_client.post(url, {"entry": [e.pk for e in mine]}, follow=True)
    assert "Deleted 2 entries." in done.content.decode()
    assert set(TimeEntry.objects.values_list("pk", flat=True)) == {theirs.pk, locked.pk}


def test_only_own_unlocked_entries_offer_a_checkbox(manager_client, workspace, manager, member, project, monday):
    theirs = TimeEntryFactory(member=member, project=project)
    own = TimeEntryFactory(
        member=manager, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
    )
    rows = {
        row["entry"].pk: row for row in manager_client.get(reverse("entries", args=[workspace.slug])).context["rows"]
    }
    assert (rows[own.pk]["deletable"], rows[theirs.pk]["deletable"]) == (True, False)
    assert rows[theirs.pk]["editable"] is True  # managers edit anyone's time, as the API allows


def test_csv_and_xlsx_downloads_follow_the_filters(member_client, workspace, member, project, monday):
    TimeEntryFactory(
        member=member,
        project=project,
        description="keep",
        started_at=at(workspace, monday, 9),
        ended_at=at(workspace, monday, 10),
    )
    TimeEntryFactory(
        member=member,
        project=project,
        description="drop",
        billable=False,
        started_at=at(workspace, monday, 11),
        ended_at=at(workspace, monday, 12),
    )
    csv_response = member_client.get(reverse("entries-export", args=[workspace.slug, "csv"]), {"billable": "yes"})
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode("utf-8-sig"))))
    assert [row["description"] for row in rows] == ["keep"]

    xlsx = member_client.get(reverse("entries-export", args=[workspace.slug, "xlsx"]))
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None
    assert sheet.max_row == 3  # header + two entries
    assert member_client.get(reverse("entries-export", args=[workspace.slug, "pdf"])).status_code == 400
