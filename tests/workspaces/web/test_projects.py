"""Projects and tasks pages: the list with budget bars, search, filters and pages; the detail
with tasks and team; create, edit, archive and restore, with their form errors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ProjectFactory,
    TaskFactory,
    finished_entry,
)
from tests.workspaces.web.conftest import form_errors
from workspaces.models import AuditEvent, Project, ProjectStatus, Task

pytestmark = pytest.mark.django_db

LIST = reverse("projects", args=["acme"])
NEW = reverse("project-new", args=["acme"])


def logged(member, project, hours: str, rate: str | None = None, days_ago: int = 2):
    """A finished entry of ``hours`` some days ago (counts against a total budget)."""
    start = (timezone.now() - timedelta(days=days_ago)).replace(hour=8, minute=0, second=0, microsecond=0)
    seconds = int(Decimal(hours) * 3600)
    return finished_entry(member, project, start, seconds, billable_rate=Decimal(rate) if rate else None)


def shown(response) -> list[str]:
    return [project.name for project, _bar in response.context["rows"]]


def detail(project: Project) -> str:
    return reverse("project-detail", args=["acme", project.pk])


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_budget_bars_coloured_at_the_thresholds(as_manager_browser, workspace, member):
    calm = ProjectFactory(workspace=workspace, name="Calm", budget_hours=Decimal("10"))
    close = ProjectFactory(workspace=workspace, name="Close", budget_hours=Decimal("10"), alert_thresholds=[50, 100])
    over = ProjectFactory(workspace=workspace, name="Over", budget_amount=Decimal("100.00"))
    ProjectFactory(workspace=workspace, name="Unbudgeted")
    logged(member, calm, "4")
    logged(member, close, "6")
    logged(member, over, "1.5", rate="100.00")  # 150 of 100 money

    response = as_manager_browser.get(LIST)

    assert response.status_code == 200
    bars = {project.name: bar for project, bar in response.context["rows"]}
    assert (bars["Calm"].health.percent, bars["Calm"].health.status, bars["Calm"].width) == (Decimal("40.0"), "ok", 40)
    assert (bars["Close"].health.status, bars["Close"].width) == ("warning", 60)
    assert (bars["Over"].health.percent, bars["Over"].health.status, bars["Over"].width) == (
        Decimal("150.0"),
        "over",
        100,
    )
    assert bars["Unbudgeted"] is None
    html = response.content.decode()
    assert 'aria-valuenow="40"' in html
    assert '<div class="progress warning"' in html
    assert '<div class="progress over"' in html
    assert "4.00 of 10.00 h, 6.00 h left" in html
    assert "150.00 of 100.00 EUR, -50.00 left" in html
    assert "No budget" in html


def test_members_see_only_the_projects_they_are_on(as_member_browser, workspace, project):
    ProjectFactory(workspace=workspace, name="Not mine")
    response = as_member_browser.get(LIST)
    assert shown(response) == ["Website"]
    assert b"New project" not in response.content
    assert reverse("project-edit", args=["acme", project.pk]).encode() not in response.content


def test_search_client_filter_and_archived_toggle(as_manager_browser, workspace):
    acme_client = ClientFactory(workspace=workspace, name="Initech")
    ProjectFactory(workspace=workspace, name="Website relaunch", code="WEB", client=acme_client)
    ProjectFactory(workspace=workspace, name="Brochure", code="PRINT")
    ProjectFactory(workspace=workspace, name="Old site", status=ProjectStatus.ARCHIVED, client=acme_client)

    assert shown(as_manager_browser.get(LIST)) == ["Brochure", "Website relaunch"]
    assert shown(as_manager_browser.get(LIST, {"q": "print"})) == ["Brochure"]
    assert shown(as_manager_browser.get(LIST, {"q": "SITE"})) == ["Website relaunch"]
    assert shown(as_manager_browser.get(LIST, {"client": acme_client.pk})) == ["Website relaunch"]
    assert shown(as_manager_browser.get(LIST, {"client": acme_client.pk, "archived": "on"})) == [
        "Old site",
        "Website relaunch",
    ]
    assert b"No project matches" in as_manager_browser.get(LIST, {"q": "nothing like it"}).content


def test_another_workspaces_client_is_not_a_valid_filter(as_manager_browser, workspace, globex):
    ProjectFactory(workspace=workspace, name="Mine")
    response = as_manager_browser.get(LIST, {"client": globex["client"].pk})
    assert response.status_code == 400
    assert shown(response) == []
    assert "client" in response.context["query"].errors


def test_the_list_pages_fifty_at_a_time(as_manager_browser, workspace):
    ProjectFactory.create_batch(55, workspace=workspace, client=None)
    first, second = as_manager_browser.get(LIST), as_manager_browser.get(LIST, {"page": 2})
    assert (len(shown(first)), len(shown(second))) == (50, 5)
    assert not set(shown(first)) & set(shown(second))
    assert b'rel="next"' in first.content


def test_empty_states_say_what_to_do(as_manager_browser, as_member_browser, workspace):
    assert b"Create the first one" in as_manager_browser.get(LIST).content
    assert b"You are not on any project yet" in as_member_browser.get(LIST).content


# --- the detail page and tasks -------------------------------------------------------------------


def test_the_detail_shows_budget_tasks_and_team(as_member_browser, workspace, project, task, member, other_member):
    project.budget_hours = Decimal("8")
    project.save()
    TaskFactory(project=project, name="Archived task", is_archived=True)
    logged(member, project, "2")

    response = as_member_browser.get(detail(project))

    assert response.status_code == 200
    assert response.context["bar"].width == 25
    assert [t.name for t in response.context["tasks"]] == ["Design", "Archived task"]
    assert [m.user.username for m in response.context["team"]] == ["member", "other"]
    assert response.context["task_form"] is None  # members do not add tasks
    assert b"Add a task" not in response.content


def test_a_manager_adds_a_task(as_manager_browser, project):
    response = as_manager_browser.post(
        reverse("task-new", args=["acme", project.pk]), {"name": "Research", "billable": "false"}
    )

    assert response.status_code == 302
    assert response["Location"] == detail(project)
    task = Task.objects.get(project=project, name="Research")
    assert task.billable is False
    assert task.billable_rate is None
    assert AuditEvent.objects.filter(action="task.create", target_id=str(task.pk)).exists()
    assert "Task Research added to Website." in as_manager_browser.get(detail(project)).content.decode()


def test_a_managers_task_rate_is_not_taken_but_an_admins_is(as_manager_browser, as_admin_browser, project):
    as_manager_browser.post(reverse("task-new", args=["acme", project.pk]), {"name": "A", "billable_rate": "90"})
    as_admin_browser.post(reverse("task-new", args=["acme", project.pk]), {"name": "B", "billable_rate": "90"})
    assert Task.objects.get(name="A").billable_rate is None
    assert Task.objects.get(name="B").billable_rate == Decimal("90.00")


def test_a_task_name_already_used_is_shown_on_the_form(as_manager_browser, project, task):
    response = as_manager_browser.post(reverse("task-new", args=["acme", project.pk]), {"name": "Design"})

    assert response.status_code == 400
    errors = response.context["task_form"].errors
    assert "already exists" in " ".join(errors["__all__"])
    assert Task.objects.filter(project=project, name="Design").count() == 1
    assert b'id="task-form-errors"' in response.content


def test_a_blank_task_name_is_refused(as_manager_browser, project):
    response = as_manager_browser.post(reverse("task-new", args=["acme", project.pk]), {"name": ""})
    assert response.status_code == 400
    assert response.context["task_form"].errors["name"] == ["This field is required."]


def test_a_task_is_archived_restored_and_edited(as_manager_browser, project, task):
    archive = reverse("task-archive", args=["acme", task.pk])

    assert as_manager_browser.post(archive, {"archived": "true"}).status_code == 302
    task.refresh_from_db()
    assert task.is_archived
    as_manager_browser.post(archive, {"archived": "false"})
    task.refresh_from_db()
    assert not task.is_archived

    edit = reverse("task-edit", args=["acme", task.pk])
    assert as_manager_browser.post(edit, {"name": "Design & UX", "billable": "unknown"}).status_code == 302
    task.refresh_from_db()
    assert task.name == "Design & UX"
    bad = as_manager_browser.post(edit, {"name": ""})
    assert (bad.status_code, form_errors(bad)) == (400, {"name": ["This field is required."]})


# --- create, edit, archive ------------------------------------------------------------------------


def test_a_manager_creates_a_project_with_client_budget_and_team(as_manager_browser, workspace, member, other_member):
    client = ClientFactory(workspace=workspace, name="Initech")
    response = as_manager_browser.post(
        NEW,
        {
            "name": "Relaunch",
            "code": "INI-1",
            "client": client.pk,
            "color": "#112233",
            "billable_by_default": "true",
            "budget_hours": "120",
            "budget_amount": "",
            "budget_period": "monthly",
            "alert_thresholds": "75, 90, 100",
            "team": [member.pk, other_member.pk],
        },
    )

    project = Project.objects.get(name="Relaunch")
    assert response.status_code == 302
    assert response["Location"] == detail(project)
    assert (project.client, project.code, project.color) == (client, "INI-1", "#112233")
    assert (project.billable_by_default, project.budget_hours, project.budget_period) == (
        True,
        Decimal("120"),
        "monthly",
    )
    assert project.alert_thresholds == [75, 90, 100]
    assert set(project.team.all()) == {member, other_member}
    assert project.billable_rate is None


def test_the_project_form_offers_this_workspaces_clients_and_members_only(as_manager_browser, workspace, globex):
    ClientFactory(workspace=workspace, name="Initech")
    ClientFactory(workspace=workspace, name="Gone", is_archived=True)
    form = as_manager_browser.get(NEW).context["form"]
    assert [c.name for c in form.fields["client"].queryset] == ["Initech"]
    assert "globex-owner" not in [m.user.username for m in form.fields["team"].queryset]
    assert "billable_rate" not in form.fields  # managers do not set rates

    response = as_manager_browser.post(NEW, {"name": "X", "client": globex["client"].pk, "budget_period": "total"})
    assert response.status_code == 400
    assert "client" in form_errors(response)
    assert not Project.objects.filter(name="X").exists()


def test_project_form_errors_are_shown_next_to_the_fields(as_manager_browser, project):
    base = {"name": "Y", "budget_period": "total", "color": "#4f6bed"}
    bad_thresholds = as_manager_browser.post(NEW, {**base, "alert_thresholds": "lots"})
    out_of_range = as_manager_browser.post(NEW, {**base, "alert_thresholds": "2000"})
    duplicate = as_manager_browser.post(NEW, {**base, "name": "Website"})

    assert bad_thresholds.status_code == out_of_range.status_code == duplicate.status_code == 400
    assert form_errors(bad_thresholds)["alert_thresholds"] == ["Whole percentages separated by commas, e.g. 80, 100."]
    assert form_errors(out_of_range)["alert_thresholds"] == ["E.g. [80, 100]."]  # the service's own message
    assert "already exists" in " ".join(form_errors(duplicate)["__all__"])
    assert not Project.objects.filter(name="Y").exists()
    assert b'class="errorlist"' in out_of_range.content


def test_a_manager_edits_a_project_and_an_admin_sets_its_rate(as_manager_browser, as_admin_browser, project, member):
    edit = reverse("project-edit", args=["acme", project.pk])
    form = as_manager_browser.get(edit).context["form"]
    assert form.initial["name"] == "Website"
    assert set(form.initial["team"]) == {m.pk for m in project.team.all()}

    data = {"name": "Website 2", "color": "#4f6bed", "budget_period": "total", "alert_thresholds": "80, 100"}
    assert as_manager_browser.post(edit, {**data, "team": [member.pk]}).status_code == 302
    project.refresh_from_db()
    assert project.name == "Website 2"
    assert list(project.team.all()) == [member]

    assert as_admin_browser.post(edit, {**data, "billable_rate": "140"}).status_code == 302
    project.refresh_from_db()
    assert project.billable_rate == Decimal("140.00")
    assert list(project.team.all()) == []

    bad = as_manager_browser.post(edit, {**data, "color": "red"})
    assert bad.status_code == 400
    assert form_errors(bad)["color"] == ["Use #RRGGBB."]


def test_a_project_is_archived_and_restored(as_manager_browser, project):
    archive = reverse("project-archive", args=["acme", project.pk])

    response = as_manager_browser.post(archive, {"archived": "true", "next": LIST})
    assert response.status_code == 302
    assert response["Location"] == LIST
    project.refresh_from_db()
    assert project.status == ProjectStatus.ARCHIVED
    assert shown(as_manager_browser.get(LIST)) == []
    assert shown(as_manager_browser.get(LIST, {"archived": "on"})) == ["Website"]

    as_manager_browser.post(archive, {"archived": "false"})
    project.refresh_from_db()
    assert project.status == ProjectStatus.ACTIVE
    assert "Project Website restored." in as_manager_browser.get(LIST).content.decode()


def test_archiving_ignores_a_next_address_on_another_site(as_manager_browser, project):
    response = as_manager_browser.post(
        reverse("project-archive", args=["acme", project.pk]), {"next": "https://evil.test/"}
    )
    assert response["Location"] == detail(project)


def test_the_archive_buttons_ask_for_confirmation(as_manager_browser, project, task):
    html = as_manager_browser.get(detail(project)).content.decode()
    assert 'data-confirm="Archive Website?' in html
    assert 'data-confirm="Archive the task Design?' in html


def test_a_member_of_the_team_who_left_is_marked(as_manager_browser, workspace, project):
    gone = MembershipFactory(workspace=workspace, user__username="zed", is_active=False)
    project.team.add(gone)
    assert 'zed <span class="muted">(deactivated)</span>' in as_manager_browser.get(detail(project)).content.decode()


def test_the_edit_forms_keep_a_set_billable_choice(as_manager_browser, project, task):
    project.billable_by_default = False
    project.save()
    task.billable = True
    task.save()

    project_page = as_manager_browser.get(reverse("project-edit", args=["acme", project.pk])).content.decode()
    task_page = as_manager_browser.get(reverse("task-edit", args=["acme", task.pk])).content.decode()

    assert '<option value="false" selected>Not billable</option>' in project_page
    assert '<option value="true" selected>Billable</option>' in task_page
    as_manager_browser.post(reverse("task-edit", args=["acme", task.pk]), {"name": "Design", "billable": "unknown"})
    task.refresh_from_db()
    assert task.billable is None
