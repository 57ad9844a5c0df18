"""Managers in the browser: approve and reject weeks; people accept what agents proposed; revoke a connection."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in, with_password
from tests.factories import ConnectionFactory, MembershipFactory, ProjectFactory, TimeEntryFactory, WorkspaceFactory
from timesheets.models import EntryState, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import local_date, week_start_for
from timesheets.services import time_entry_create
from timesheets.timesheet_services import timesheet_submit
from workspaces.models import Channel, Connection, Role
from workspaces.principals import Principal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme():
    workspace = WorkspaceFactory(name="Acme Studio", slug="acme", timezone="Europe/Berlin")
    manager = with_password(MembershipFactory(workspace=workspace, role=Role.MANAGER, user__username="max"))
    mia = with_password(MembershipFactory(workspace=workspace, role=Role.MEMBER, user__username="mia"))
    noah = MembershipFactory(workspace=workspace, role=Role.MEMBER, user__username="noah")
    website = ProjectFactory(workspace=workspace, name="Website", team=[mia, noah])
    return {"workspace": workspace, "manager": manager, "mia": mia, "noah": noah, "website": website}


def submitted_week(acme, who: str, hours: int) -> Timesheet:
    """A finished week last week with ``hours`` on Monday, submitted by the member."""
    workspace, member = acme["workspace"], acme[who]
    monday = week_start_for(workspace, local_date(workspace, timezone.now())) - timedelta(days=7)
    start = datetime.combine(monday, time(9), tzinfo=workspace.tzinfo)
    TimeEntryFactory(member=member, project=acme["website"], started_at=start, ended_at=start + timedelta(hours=hours))
    return timesheet_submit(actor=Principal(user=member.user, membership=member), week_start=monday)


def test_manager_approves_one_week_and_rejects_another_with_a_reason(page: Page, acme):
    mias = submitted_week(acme, "mia", 3)
    noahs = submitted_week(acme, "noah", 5)
    sign_in(page, acme["manager"])
    page.goto("/w/acme/approvals/")
    table = page.locator("#submitted-weeks")
    expect(table.locator(f"#timesheet-{mias.pk}")).to_contain_text("3:00")
    expect(table.locator(f"#timesheet-{noahs.pk}")).to_contain_text("5:00")

    table.locator(f"#timesheet-{noahs.pk}").get_by_role("button", name="Approve").click()
    expect(page.locator("#messages")).to_contain_text("Approved noah")
    assert Timesheet.objects.get(pk=noahs.pk).status == TimesheetStatus.APPROVED

    row = page.locator(f"#timesheet-{mias.pk}")
    row.get_by_label("Reason to reject").fill("   ")
    row.get_by_role("button", name="Reject").click()
    expect(page.locator(f"#timesheet-{mias.pk}").get_by_role("alert")).to_contain_text("needs a reason")
    assert Timesheet.objects.get(pk=mias.pk).status == TimesheetStatus.SUBMITTED

    row = page.locator(f"#timesheet-{mias.pk}")
    row.get_by_label("Reason to reject").fill("Tuesday is missing the client call.")
    row.get_by_role("button", name="Reject").click()
    expect(page.locator("#messages")).to_contain_text("back with your reason")
    expect(page.locator("#submitted-weeks")).to_have_count(0)
    expect(page.locator("#decided-weeks")).to_contain_text("Tuesday is missing the client call.")

    # The member sees the reason on that week, and can change its time again.
    page.context.clear_cookies()
    sign_in(page, acme["mia"])
    page.goto(f"/w/acme/week/?week={mias.week_start.isoformat()}")
    expect(page.locator("#rejection")).to_contain_text("Tuesday is missing the client call.")
    expect(page.locator("#week-status")).to_have_text("Rejected")
    expect(page.locator("input.cell").first).to_be_editable()


def test_a_member_does_not_get_the_approvals_page(page: Page, acme):
    sign_in(page, acme["mia"])
    expect(page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Approvals")).to_have_count(0)
    response = page.goto("/w/acme/approvals/")
    assert response is not None
    assert response.status == 403


def test_accept_an_agents_draft_in_the_review_queue(page: Page, acme):
    workspace, mia = acme["workspace"], acme["mia"]
    agent = ConnectionFactory(user=mia.user, workspace=workspace, label="Claude Desktop", scopes="read write")
    as_agent = Principal(
        user=mia.user, membership=mia, channel=Channel.MCP, scopes=frozenset({"read", "write"}), connection=agent
    )
    yesterday = local_date(workspace, timezone.now()) - timedelta(days=1)
    start = datetime.combine(yesterday, time(14), tzinfo=workspace.tzinfo)
    draft = time_entry_create(
        actor=as_agent,
        project=acme["website"],
        started_at=start,
        ended_at=start + timedelta(hours=2),
        description="Wireframes review",
        billable=True,
    )
    other = time_entry_create(
        actor=as_agent,
        project=acme["website"],
        started_at=start + timedelta(hours=3),
        ended_at=start + timedelta(hours=4),
        description="Guessing",
        billable=True,
    )
    assert (draft.state, other.state) == (EntryState.DRAFT, EntryState.DRAFT)

    sign_in(page, mia)
    page.goto("/w/acme/review/")
    row = page.locator(f"#draft-{draft.pk}")
    expect(row).to_contain_text("Claude Desktop")
    expect(row).to_contain_text("Wireframes review")
    expect(row).to_contain_text("2:00")
    expect(row).to_contain_text("Billable time proposed by an agent waits for a human")
    row.get_by_role("button", name="Accept").click()
    expect(page.locator("#messages")).to_contain_text("Accepted 1 draft")
    expect(page.locator(f"#draft-{draft.pk}")).to_have_count(0)
    assert TimeEntry.objects.get(pk=draft.pk).state == EntryState.ACTIVE
    assert TimeEntry.objects.get(pk=other.pk).state == EntryState.DRAFT

    page.get_by_label(f"Select draft {other.pk}").check()
    page.get_by_role("button", name="Discard selected").click()
    expect(page.locator(".empty")).to_contain_text("Nothing to review")
    assert not TimeEntry.objects.filter(pk=other.pk).exists()


def test_revoke_a_connection_and_see_it_gone(page: Page, acme, server):
    sign_in(page, acme["mia"])
    page.get_by_text("mia", exact=True).click()  # the user menu
    page.get_by_role("link", name="Connected apps & API keys").click()
    page.get_by_label("Label").fill("Nightly export")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-api-key").inner_text()
    me = requests.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert me.status_code == 200

    connection = Connection.objects.get(user=acme["mia"].user, label="Nightly export")
    row = page.locator(f"#connection-{connection.pk}")
    expect(row).to_contain_text("Nightly export")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.locator("#messages")).to_contain_text("Revoked")
    expect(page.locator(f"#connection-{connection.pk}")).to_have_count(0)
    expect(page.locator("#inactive-connections")).to_contain_text("Nightly export")
    after = requests.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert after.status_code == 401
