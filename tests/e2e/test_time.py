"""Staff in the browser: sign in, run the timer, fill and submit the week grid."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, sign_in, with_password
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory, WorkspaceFactory
from timesheets.models import TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import local_date, week_start_for
from workspaces.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def make_world():
    workspace = WorkspaceFactory(name="Acme Studio", slug="acme", timezone="Europe/Berlin")
    member = with_password(MembershipFactory(workspace=workspace, role=Role.MEMBER, user__username="mia"))
    website = ProjectFactory(workspace=workspace, name="Website", team=[member])
    TaskFactory(project=website, name="Design")
    ProjectFactory(workspace=workspace, name="Mobile app", team=[member])
    return workspace, member


def test_sign_in_with_a_wrong_then_the_right_password(page: Page):
    _, _member = make_world()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Acme Studio")).to_be_visible()
    page.get_by_role("link", name="Acme Studio").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Week")).to_be_visible()
    expect(page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Approvals")).to_have_count(0)


def test_start_and_stop_the_timer(page: Page):
    workspace, member = make_world()
    sign_in(page, member)
    page.goto(f"/w/{workspace.slug}/")
    page.get_by_label("Description").fill("Homepage hero")
    page.get_by_label("Project").select_option(label="Website")
    page.get_by_role("button", name="Start").click()

    elapsed = page.locator("#timer-elapsed")
    expect(elapsed).to_have_text(re.compile(r"^0:00:0\d$"))
    expect(page.locator("#timer")).to_contain_text("Homepage hero")
    running = TimeEntry.objects.get(member=member)
    assert (running.project.name, running.ended_at, running.description) == ("Website", None, "Homepage hero")
    first = elapsed.inner_text()
    expect(elapsed).not_to_have_text(first, timeout=3_000)  # the elapsed time ticks in the page

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#messages")).to_contain_text("Timer stopped")
    running.refresh_from_db()
    assert running.ended_at is not None
    assert (running.duration_seconds or 0) >= 1
    expect(page.locator("#timer-start-form")).to_be_visible()
    expect(page.get_by_role("region", name="Today")).to_contain_text("Homepage hero")


def test_fill_the_week_grid_see_totals_and_submit(page: Page):
    workspace, member = make_world()
    today = local_date(workspace, timezone.now())
    monday = week_start_for(workspace, today) - timedelta(days=7)  # last week: all of it is in the past
    sign_in(page, member)
    page.goto(f"/w/{workspace.slug}/week/?week={monday.isoformat()}")
    expect(page.get_by_role("heading", name=re.compile("Week of"))).to_be_visible()

    page.get_by_label("Add a row").select_option(label="Website · Design")
    page.get_by_role("button", name="Add row").click()
    page.get_by_label("Add a row").select_option(label="Mobile app")
    page.get_by_role("button", name="Add row").click()

    def cell(row: str, day: int):
        return page.get_by_label(re.compile(rf"^{re.escape(row)}, {(monday + timedelta(days=day)).strftime('%A')}"))

    cell("Website · Design", 0).fill("1:30")
    cell("Website · Design", 0).press("Tab")
    expect(page.locator("#week-grand-total")).to_have_text("1:30")
    cell("Website · Design", 1).fill("2h")
    cell("Website · Design", 1).press("Tab")
    cell("Mobile app", 1).fill("90m")
    cell("Mobile app", 1).press("Tab")
    expect(page.locator("#week-grand-total")).to_have_text("5:00")
    expect(page.locator("tfoot [data-total=day]").nth(1)).to_have_text("3:30")
    expect(page.locator("tr[data-row] [data-total=row]").first).to_have_text("1:30")  # Mobile app sorts first

    cell("Mobile app", 2).fill("lots")
    cell("Mobile app", 2).press("Tab")
    expect(page.get_by_role("alert").filter(has_text="Cannot read 'lots'")).to_be_visible()
    expect(page.locator("#week-grand-total")).to_have_text("5:00")

    seconds = sorted(e.duration_seconds or 0 for e in TimeEntry.objects.filter(member=member))
    assert seconds == [5400, 5400, 7200]

    page.reload()
    cell("Website · Design", 0).fill("0")
    cell("Website · Design", 0).press("Tab")
    expect(page.locator("#week-grand-total")).to_have_text("3:30")

    page.get_by_role("button", name="Submit week").click()
    expect(page.locator("#messages")).to_contain_text("submitted for approval")
    expect(page.locator("#week-status")).to_have_text("Submitted")
    expect(page.locator("#lock-reason")).to_contain_text("submitted")
    expect(page.locator("input.cell")).to_have_count(0)  # read-only now
    assert Timesheet.objects.get(member=member, week_start=monday).status == TimesheetStatus.SUBMITTED

    page.get_by_role("link", name="Next →").click()
    page.get_by_role("link", name="Copy last week's rows").click()
    expect(page.locator("tr[data-row]")).to_have_count(2)
