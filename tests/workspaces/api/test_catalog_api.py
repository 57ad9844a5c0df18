"""REST: clients, projects and tasks — lists with filters, create, PATCH with If-Match, archive."""

from decimal import Decimal

import pytest

from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, TaskFactory, WorkspaceFactory
from workspaces.models import Client, Project, ProjectStatus, Task

pytestmark = pytest.mark.django_db

BASE = "/api/v1/workspaces/acme"


@pytest.fixture
def globex():
    """Another workspace with a client, a project and a task of its own."""
    workspace = WorkspaceFactory(slug="globex")
    client = ClientFactory(workspace=workspace, name="Globex Client")
    project = ProjectFactory(workspace=workspace, client=client, name="Globex Project")
    return {"client": client, "project": project, "task": TaskFactory(project=project, name="Globex Task")}


# --- clients ---------------------------------------------------------------------------------------


def test_clients_list_with_contact_data_redacted_for_a_manager(api_as, manager, admin, workspace, globex):
    acme = ClientFactory(
        workspace=workspace, name="Acme Corp", contact_email="ap@acme.test", vat_id="DE123", address="Main St 1"
    )

    row = api_as(manager).get(f"{BASE}/clients").json()["results"]
    assert row == [
        {
            "id": acme.pk,
            "name": "Acme Corp",
            "contact_email": None,
            "contact_phone": None,
            "vat_id": None,
            "address": None,
            "is_archived": False,
            "created_at": row[0]["created_at"],
            "redacted": ["contact_email", "contact_phone", "vat_id", "address"],
        }
    ]
    shown = api_as(admin).get(f"{BASE}/clients/{acme.pk}").json()
    assert (shown["contact_email"], shown["vat_id"], shown["address"], shown["redacted"]) == (
        "ap@acme.test",
        "DE123",
        "Main St 1",
        [],
    )


def test_clients_search_and_include_archived(api_as, member, workspace, globex):
    ClientFactory(workspace=workspace, name="Acme Corp")
    ClientFactory(workspace=workspace, name="ACME Labs", is_archived=True)
    ClientFactory(workspace=workspace, name="Initech")
    api = api_as(member)

    def names(**query):
        return [c["name"] for c in api.get(f"{BASE}/clients", query).json()["results"]]

    assert names() == ["Acme Corp", "Initech"]
    assert names(search="acme") == ["Acme Corp"]
    assert names(search="acme", include_archived="true") == ["ACME Labs", "Acme Corp"]
    assert names(search="Globex", include_archived="true") == []
    bad = api.get(f"{BASE}/clients", {"include_archived": "yes please"})
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"include_archived": ["Use true or false."]}


def test_a_manager_creates_a_client_but_contact_data_needs_sensitive_access(api_as, manager, admin, workspace):
    created = api_as(manager).post(f"{BASE}/clients", {"name": "  Initech "}, format="json")
    assert created.status_code == 201
    assert created.json()["name"] == "Initech"
    assert Client.objects.get(pk=created.json()["id"]).workspace == workspace

    refused = api_as(manager).post(f"{BASE}/clients", {"name": "Hooli", "vat_id": "US1"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    refused = api_as(admin, allow_sensitive=False).post(
        f"{BASE}/clients", {"name": "Hooli", "vat_id": "US1"}, format="json"
    )
    assert refused.status_code == 403
    assert not Client.objects.filter(name="Hooli").exists()

    allowed = api_as(admin).post(
        f"{BASE}/clients", {"name": "Hooli", "vat_id": "US1", "contact_email": "ap@hooli.test"}, format="json"
    )
    assert allowed.status_code == 201
    assert (allowed.json()["vat_id"], allowed.json()["contact_email"]) == ("US1", "ap@hooli.test")


def test_client_input_is_validated_and_a_duplicate_name_is_invalid(api_as, manager, workspace):
    ClientFactory(workspace=workspace, name="Taken")
    api = api_as(manager)
    duplicate = api.post(f"{BASE}/clients", {"name": "Taken"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == "invalid"
    unknown = api.post(f"{BASE}/clients", {"name": "New", "workspace": 9, "is_archived": True}, format="json")
    assert unknown.status_code == 400
    assert set(unknown.json()["error"]["fields"]) == {"workspace", "is_archived"}


def test_client_patch_with_if_match_and_archive_and_restore(api_as, manager, workspace):
    client = ClientFactory(workspace=workspace, name="Old name")
    api = api_as(manager)
    etag = api.get(f"{BASE}/clients/{client.pk}")["ETag"]
    Client.objects.filter(pk=client.pk).update(name="Changed elsewhere")
    stale = api.patch(f"{BASE}/clients/{client.pk}", {"name": "Mine"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412

    fresh = api.get(f"{BASE}/clients/{client.pk}")["ETag"]
    ok = api.patch(f"{BASE}/clients/{client.pk}", {"name": "Mine"}, format="json", HTTP_IF_MATCH=fresh)
    assert (ok.status_code, ok.json()["name"]) == (200, "Mine")
    contact = api.patch(f"{BASE}/clients/{client.pk}", {"address": "Elm St"}, format="json")
    assert contact.status_code == 403

    archived = api.post(f"{BASE}/clients/{client.pk}/archive", {}, format="json")
    assert (archived.status_code, archived.json()["is_archived"]) == (200, True)
    assert api.get(f"{BASE}/clients").json()["results"] == []
    restored = api.post(f"{BASE}/clients/{client.pk}/archive", {"archived": False}, format="json")
    assert restored.json()["is_archived"] is False
    client.refresh_from_db()
    assert (client.name, client.address, client.is_archived) == ("Mine", "", False)


def test_another_workspaces_client_is_not_found_for_every_method(api_as, admin, globex):
    api = api_as(admin)
    pk = globex["client"].pk
    for response in (
        api.get(f"{BASE}/clients/{pk}"),
        api.patch(f"{BASE}/clients/{pk}", {"name": "Mine"}, format="json"),
        api.post(f"{BASE}/clients/{pk}/archive", {}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == {"code": "not_found", "message": "Client not found.", "fields": {}}
    globex["client"].refresh_from_db()
    assert (globex["client"].name, globex["client"].is_archived) == ("Globex Client", False)


@pytest.mark.parametrize("rows", [1, 50])
def test_the_client_list_costs_the_same_queries_for_1_and_50_rows(
    api_as, manager, workspace, rows, django_assert_max_num_queries
):
    ClientFactory.create_batch(rows, workspace=workspace)
    api = api_as(manager)
    with django_assert_max_num_queries(8):
        response = api.get(f"{BASE}/clients", {"limit": 200})
    assert len(response.json()["results"]) == rows


# --- projects --------------------------------------------------------------------------------------


def test_project_list_shows_budget_fields_and_members_see_their_assigned_projects(api_as, member, manager, workspace):
    client = ClientFactory(workspace=workspace, name="Acme Corp")
    mine = ProjectFactory(
        workspace=workspace,
        client=client,
        name="Website",
        code="WEB",
        budget_hours=Decimal("120"),
        budget_amount=Decimal("9000"),
        budget_period="monthly",
        alert_thresholds=[50, 90],
        team=[member],
    )
    ProjectFactory(workspace=workspace, client=None, name="Internal")

    rows = api_as(member).get(f"{BASE}/projects").json()["results"]
    assert rows == [
        {
            "id": mine.pk,
            "name": "Website",
            "code": "WEB",
            "color": "#4f6bed",
            "client": client.pk,
            "client_name": "Acme Corp",
            "billable_by_default": None,
            "billable_rate": None,
            "budget_hours": "120.00",
            "budget_amount": "9000.00",
            "budget_period": "monthly",
            "alert_thresholds": [50, 90],
            "status": "active",
            "team": [member.pk],
            "created_at": rows[0]["created_at"],
        }
    ]
    everything = api_as(manager).get(f"{BASE}/projects").json()["results"]
    assert [(p["name"], p["client"], p["client_name"]) for p in everything] == [
        ("Internal", None, None),
        ("Website", client.pk, "Acme Corp"),
    ]


def test_project_filters_by_client_and_status(api_as, manager, workspace):
    acme, initech = ClientFactory(workspace=workspace), ClientFactory(workspace=workspace)
    ProjectFactory(workspace=workspace, client=acme, name="A1")
    ProjectFactory(workspace=workspace, client=acme, name="A2", status=ProjectStatus.ARCHIVED)
    ProjectFactory(workspace=workspace, client=initech, name="I1")
    api = api_as(manager)

    def names(**query):
        response = api.get(f"{BASE}/projects", query)
        assert response.status_code == 200, response.content
        return [p["name"] for p in response.json()["results"]]

    assert names() == ["A1", "I1"]
    assert names(client=acme.pk) == ["A1"]
    assert names(client=acme.pk, include_archived="true") == ["A1", "A2"]
    assert names(status="archived") == ["A2"]
    assert names(status="active", include_archived="true") == ["A1", "I1"]
    bad = api.get(f"{BASE}/projects", {"status": "paused"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"status"}
    blank = api.get(f"{BASE}/projects", {"client": "", "status": ""})  # as the schema says: not "no filter"
    assert blank.status_code == 400
    assert set(blank.json()["error"]["fields"]) == {"client", "status"}


def test_filtering_by_another_workspaces_client_or_project_is_400_and_shows_nothing(api_as, manager, globex):
    api = api_as(manager)
    for path, name, value in (
        ("projects", "client", globex["client"].pk),
        ("tasks", "project", globex["project"].pk),
        ("projects", "client", 999_999),
        ("tasks", "project", "abc"),
    ):
        response = api.get(f"{BASE}/{path}", {name: value, "include_archived": "true"})
        assert response.status_code == 400, (path, value)
        assert set(response.json()["error"]["fields"]) == {name}
        assert "results" not in response.json()
    assert "Globex" not in str(api.get(f"{BASE}/projects", {"include_archived": "true"}).json())
    assert "Globex" not in str(api.get(f"{BASE}/tasks", {"include_archived": "true"}).json())
    assert "Globex" not in str(api.get(f"{BASE}/clients", {"include_archived": "true", "search": "Glo"}).json())


def test_a_manager_creates_a_project_with_client_team_and_budget(api_as, manager, member, workspace):
    client = ClientFactory(workspace=workspace)
    response = api_as(manager).post(
        f"{BASE}/projects",
        {
            "name": "Relaunch",
            "client": client.pk,
            "code": "REL",
            "budget_hours": "100",
            "budget_period": "monthly",
            "alert_thresholds": [100, 75],
            "team": [member.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    project = Project.objects.get(pk=response.json()["id"])
    assert (project.workspace, project.client, project.code, project.budget_hours) == (
        workspace,
        client,
        "REL",
        Decimal("100"),
    )
    assert list(project.team.all()) == [member]
    assert response.json()["alert_thresholds"] == [75, 100]
    assert response.json()["team"] == [member.pk]


def test_a_project_cannot_point_at_another_workspaces_client_or_member(api_as, manager, globex):
    api = api_as(manager)
    stranger = MembershipFactory(workspace=globex["client"].workspace)
    client = api.post(f"{BASE}/projects", {"name": "X", "client": globex["client"].pk}, format="json")
    team = api.post(f"{BASE}/projects", {"name": "X", "team": [stranger.pk]}, format="json")
    for response, field in ((client, "client"), (team, "team")):
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {field}
    assert not Project.objects.filter(name="X").exists()


def test_a_billable_rate_on_a_project_needs_an_admin(api_as, manager, admin, workspace):
    refused = api_as(manager).post(f"{BASE}/projects", {"name": "Rated", "billable_rate": "150"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"  # the manager's key has no admin scope
    allowed = api_as(admin).post(f"{BASE}/projects", {"name": "Rated", "billable_rate": "150"}, format="json")
    assert (allowed.status_code, allowed.json()["billable_rate"]) == (201, "150.00")


def test_project_patch_with_if_match_and_archive(api_as, manager, member, workspace):
    project = ProjectFactory(workspace=workspace, name="Website")
    api = api_as(manager)
    etag = api.get(f"{BASE}/projects/{project.pk}")["ETag"]

    patched = api.patch(
        f"{BASE}/projects/{project.pk}",
        {"client": None, "team": [member.pk], "budget_amount": "5000"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert patched.status_code == 200
    assert (patched.json()["client"], patched.json()["team"], patched.json()["budget_amount"]) == (
        None,
        [member.pk],
        "5000.00",
    )
    stale = api.patch(f"{BASE}/projects/{project.pk}", {"name": "X"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412

    archived = api.post(f"{BASE}/projects/{project.pk}/archive", {"archived": True}, format="json")
    assert archived.json()["status"] == "archived"
    assert api.get(f"{BASE}/projects").json()["results"] == []
    project.refresh_from_db()
    assert (project.client, project.status, project.name) == (None, ProjectStatus.ARCHIVED, "Website")


@pytest.mark.parametrize("rows", [1, 50])
def test_the_project_list_costs_the_same_queries_for_1_and_50_rows(
    api_as, manager, member, workspace, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        ProjectFactory(workspace=workspace, team=[member, manager])
    api = api_as(manager)
    with django_assert_max_num_queries(9):
        response = api.get(f"{BASE}/projects", {"limit": 200})
    assert len(response.json()["results"]) == rows
    assert all(p["team"] for p in response.json()["results"])


# --- tasks -----------------------------------------------------------------------------------------


def test_tasks_list_by_project_and_members_only_see_their_projects(api_as, member, manager, workspace, globex):
    mine = ProjectFactory(workspace=workspace, name="Mine", team=[member])
    theirs = ProjectFactory(workspace=workspace, name="Theirs")
    design = TaskFactory(project=mine, name="Design", billable=False)
    TaskFactory(project=mine, name="Old", is_archived=True)
    TaskFactory(project=theirs, name="Build")

    rows = api_as(member).get(f"{BASE}/tasks").json()["results"]
    assert rows == [
        {
            "id": design.pk,
            "project": mine.pk,
            "project_name": "Mine",
            "name": "Design",
            "billable": False,
            "billable_rate": None,
            "is_archived": False,
            "created_at": rows[0]["created_at"],
        }
    ]
    refused = api_as(member).get(f"{BASE}/tasks", {"project": theirs.pk})
    assert refused.status_code == 400  # a project the member cannot see does not exist for them
    api = api_as(manager)
    assert [t["name"] for t in api.get(f"{BASE}/tasks").json()["results"]] == ["Build", "Design"]
    assert [
        t["name"] for t in api.get(f"{BASE}/tasks", {"project": mine.pk, "include_archived": 1}).json()["results"]
    ] == [
        "Design",
        "Old",
    ]


def test_task_create_patch_and_archive(api_as, manager, workspace, globex):
    project = ProjectFactory(workspace=workspace)
    api = api_as(manager)

    created = api.post(f"{BASE}/tasks", {"project": project.pk, "name": "Review", "billable": True}, format="json")
    assert created.status_code == 201
    task = Task.objects.get(pk=created.json()["id"])
    assert (task.project, task.name, task.billable) == (project, "Review", True)

    foreign = api.post(f"{BASE}/tasks", {"project": globex["project"].pk, "name": "Sneaky"}, format="json")
    assert foreign.status_code == 400
    assert set(foreign.json()["error"]["fields"]) == {"project"}
    moved = api.patch(f"{BASE}/tasks/{task.pk}", {"project": globex["project"].pk}, format="json")
    assert moved.status_code == 400
    assert moved.json()["error"]["fields"] == {"project": ["Unknown or read-only field."]}
    rate = api.patch(f"{BASE}/tasks/{task.pk}", {"billable_rate": "99"}, format="json")
    assert rate.status_code == 403

    etag = api.get(f"{BASE}/tasks/{task.pk}")["ETag"]
    patched = api.patch(f"{BASE}/tasks/{task.pk}", {"billable": None}, format="json", HTTP_IF_MATCH=etag)
    assert (patched.status_code, patched.json()["billable"]) == (200, None)
    archived = api.post(f"{BASE}/tasks/{task.pk}/archive", {}, format="json")
    assert archived.json()["is_archived"] is True
    assert api.get(f"{BASE}/tasks/{globex['task'].pk}").status_code == 404
    assert not Task.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_task_list_costs_the_same_queries_for_1_and_50_rows(
    api_as, member, workspace, rows, django_assert_max_num_queries
):
    project = ProjectFactory(workspace=workspace, team=[member])
    TaskFactory.create_batch(rows, project=project)
    api = api_as(member)
    with django_assert_max_num_queries(9):  # the project filter is one query of its own
        response = api.get(f"{BASE}/tasks", {"limit": 200, "project": project.pk})
    assert len(response.json()["results"]) == rows
