"""Who may open which workspace page: exact statuses per role, another workspace's ids, sign-in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ClientFactory
from workspaces.models import Client, Membership, Project, ProjectStatus, Task

pytestmark = pytest.mark.django_db

# (method, url name, the object the url names, if any)
CATALOG_MANAGE = [
    ("GET", "project-new", None),
    ("POST", "project-new", None),
    ("GET", "project-edit", "project"),
    ("POST", "project-edit", "project"),
    ("POST", "project-archive", "project"),
    ("POST", "task-new", "project"),
    ("GET", "task-edit", "task"),
    ("POST", "task-edit", "task"),
    ("POST", "task-archive", "task"),
    ("GET", "client-new", None),
    ("POST", "client-new", None),
    ("GET", "client-edit", "client"),
    ("POST", "client-edit", "client"),
    ("POST", "client-archive", "client"),
]
CATALOG_VIEW = [
    ("GET", "projects", None),
    ("GET", "project-detail", "project"),
    ("GET", "clients", None),
]
SETTINGS = [
    ("GET", "settings", None),
    ("POST", "settings", None),
    ("POST", "settings-lock-date", None),
    ("GET", "settings-members", None),
    ("POST", "member-invite", None),
    ("GET", "member-edit", "member"),
    ("POST", "member-edit", "member"),
    ("POST", "member-deactivate", "member"),
    ("GET", "settings-rates", None),
    ("POST", "settings-rates", None),
    ("POST", "member-rates", "member"),
    ("POST", "project-rate", "project"),
]
WITH_OBJECT = [e for e in CATALOG_MANAGE + CATALOG_VIEW + SETTINGS if e[2] is not None]


@pytest.fixture
def acme(workspace, project, task, other_member) -> dict[str, object]:
    client = project.client
    assert client is not None
    client.contact_email = "ap@client.test"
    client.save()
    return {"workspace": workspace, "project": project, "task": task, "client": client, "member": other_member}


def url(name: str, objects: dict[str, object], what: str | None) -> str:
    slug = objects["workspace"].slug  # type: ignore[attr-defined]
    args = [slug] if what is None else [slug, objects[what].pk]  # type: ignore[attr-defined]
    return reverse(name, args=args)


def call(browser, method: str, address: str):
    return browser.get(address) if method == "GET" else browser.post(address, {"name": "Changed", "archived": "true"})


@pytest.mark.parametrize(("method", "name", "what"), CATALOG_MANAGE)
def test_a_member_is_refused_every_project_and_client_form(as_member_browser, acme, method, name, what):
    response = call(as_member_browser, method, url(name, acme, what))

    assert response.status_code == 403
    project, client = Project.objects.get(pk=acme["project"].pk), Client.objects.get(pk=acme["client"].pk)
    assert (project.name, project.status) == ("Website", ProjectStatus.ACTIVE)
    assert not client.is_archived
    assert not Task.objects.get(pk=acme["task"].pk).is_archived
    assert Project.objects.count() == 1
    assert Client.objects.count() == 1


@pytest.mark.parametrize(("method", "name", "what"), CATALOG_VIEW)
@pytest.mark.parametrize("role", ["member", "manager", "admin"])
def test_every_role_sees_the_lists_and_its_projects(request, browser_for, acme, role, method, name, what):
    browser = browser_for(request.getfixturevalue(role))
    assert call(browser, method, url(name, acme, what)).status_code == 200


@pytest.mark.parametrize(("method", "name", "what"), [e for e in CATALOG_MANAGE if e[0] == "GET"])
def test_a_manager_opens_the_project_and_client_forms(as_manager_browser, acme, method, name, what):
    assert call(as_manager_browser, method, url(name, acme, what)).status_code == 200


@pytest.mark.parametrize(("method", "name", "what"), SETTINGS)
@pytest.mark.parametrize("role", ["member", "manager"])
def test_below_admin_every_settings_page_is_refused(request, browser_for, acme, role, method, name, what):
    browser = browser_for(request.getfixturevalue(role))

    response = call(browser, method, url(name, acme, what))

    assert response.status_code == 403
    assert Membership.objects.get(pk=acme["member"].pk).is_active
    assert acme["workspace"].__class__.objects.get(pk=acme["workspace"].pk).name == "Acme Studio"


@pytest.mark.parametrize(("method", "name", "what"), [e for e in SETTINGS if e[0] == "GET"])
@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_open_every_settings_page(request, browser_for, acme, role, method, name, what):
    browser = browser_for(request.getfixturevalue(role))
    assert call(browser, method, url(name, acme, what)).status_code == 200


def test_a_member_cannot_open_a_project_they_are_not_on(as_member_browser, workspace, project):
    elsewhere = Project.objects.create(workspace=workspace, name="Secret", client=None)
    assert as_member_browser.get(reverse("project-detail", args=["acme", elsewhere.pk])).status_code == 404
    assert as_member_browser.get(reverse("project-detail", args=["acme", project.pk])).status_code == 200


@pytest.mark.parametrize(("method", "name", "what"), WITH_OBJECT)
def test_another_workspaces_ids_are_not_found(as_owner_browser, acme, globex, method, name, what):
    # The acme owner may do everything in acme; globex's objects are not there.
    objects = {**globex, "workspace": acme["workspace"]}

    response = call(as_owner_browser, method, url(name, objects, what))

    assert response.status_code == 404
    assert Project.objects.get(pk=globex["project"].pk).name == "Globex project"
    assert Membership.objects.get(pk=globex["member"].pk).is_active


@pytest.mark.parametrize(("method", "name", "what"), CATALOG_VIEW + SETTINGS)
def test_a_workspace_one_is_not_in_is_not_found(browser_for, acme, globex, method, name, what):
    browser = browser_for(globex["member"])
    assert call(browser, method, url(name, acme, what)).status_code == 404


@pytest.mark.parametrize(("method", "name", "what"), CATALOG_VIEW + CATALOG_MANAGE + SETTINGS)
def test_anonymous_visitors_are_sent_to_sign_in(client, acme, method, name, what):
    response = call(client, method, url(name, acme, what))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_archive_and_other_writes_refuse_get(as_owner_browser, acme):
    for name, what in [("project-archive", "project"), ("client-archive", "client"), ("member-deactivate", "member")]:
        assert as_owner_browser.get(url(name, acme, what)).status_code == 405


def test_the_navigation_links_to_projects_clients_and_settings_by_role(browser_for, member, admin, workspace):
    ClientFactory(workspace=workspace)
    member_page = browser_for(member).get(reverse("projects", args=["acme"])).content.decode()
    admin_page = browser_for(admin).get(reverse("projects", args=["acme"])).content.decode()

    assert reverse("clients", args=["acme"]) in member_page
    assert reverse("settings", args=["acme"]) not in member_page
    assert reverse("settings", args=["acme"]) in admin_page
