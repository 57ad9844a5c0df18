"""Access matrix of the workspaces app's REST endpoints (harness: tests/api_matrix.py).

Every caller here is an API key with every scope its role can use (admins' and owners' keys
allow sensitive data). API keys are made by a person signed in, never by another connection,
so ``POST api-keys`` answers 403 to every key; ``api-keys/{api_key}`` is the owner's own key.
"""

import pytest

from tests.api_matrix import Case, case_id, cases_by_caller, check
from tests.conftest import principal_for
from tests.factories import ClientFactory, ConnectionFactory, MembershipFactory, ProjectFactory, TagFactory, TaskFactory
from workspaces import connection_services

pytestmark = pytest.mark.django_db

TABLE = [
    # tags
    Case("GET", "tags", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "tags", "write", member=403, manager=201, admin=201, owner=201, body={"name": "new"}),
    Case("GET", "tags/{tag}", "read", member=200, manager=200, admin=200, owner=200),
    Case("PATCH", "tags/{tag}", "write", member=403, manager=200, admin=200, owner=200, body={"name": "renamed"}),
    Case("POST", "tags/{tag}/archive", "write", member=403, manager=200, admin=200, owner=200),
    # members
    Case("GET", "members", "read", member=200, manager=200, admin=200, owner=200),
    Case(
        "POST",
        "members/invite",
        "admin",
        member=403,
        manager=403,
        admin=201,
        owner=201,
        body={"email": "new@example.test", "role": "member"},
    ),
    Case("GET", "members/{target}", "read", member=200, manager=200, admin=200, owner=200),
    Case(
        "PATCH",
        "members/{target}",
        "admin",
        member=403,
        manager=403,
        admin=200,
        owner=200,
        body={"weekly_capacity_hours": "30"},
    ),
    Case("POST", "members/{target}/deactivate", "admin", member=403, manager=403, admin=200, owner=200),
    # clients
    Case("GET", "clients", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "clients", "write", member=403, manager=201, admin=201, owner=201, body={"name": "Initech"}),
    Case("GET", "clients/{client}", "read", member=200, manager=200, admin=200, owner=200),
    Case("PATCH", "clients/{client}", "write", member=403, manager=200, admin=200, owner=200, body={"name": "Hooli"}),
    Case("POST", "clients/{client}/archive", "write", member=403, manager=200, admin=200, owner=200),
    # projects (the member is on {project}'s team, not on {other_project}'s)
    Case("GET", "projects", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "projects", "write", member=403, manager=201, admin=201, owner=201, body={"name": "Relaunch"}),
    Case("GET", "projects/{project}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "projects/{other_project}", "read", member=404, manager=200, admin=200, owner=200),
    Case("PATCH", "projects/{project}", "write", member=403, manager=200, admin=200, owner=200, body={"code": "WEB"}),
    Case("POST", "projects/{project}/archive", "write", member=403, manager=200, admin=200, owner=200),
    # tasks
    Case("GET", "tasks", "read", member=200, manager=200, admin=200, owner=200),
    Case(
        "POST",
        "tasks",
        "write",
        member=403,
        manager=201,
        admin=201,
        owner=201,
        body={"project": "{project}", "name": "Review"},
    ),
    Case("GET", "tasks/{task}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "tasks/{other_task}", "read", member=404, manager=200, admin=200, owner=200),
    Case("PATCH", "tasks/{task}", "write", member=403, manager=200, admin=200, owner=200, body={"name": "QA"}),
    Case("POST", "tasks/{task}/archive", "write", member=403, manager=200, admin=200, owner=200),
    # connections, API keys, audit
    Case("GET", "connections", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "connections/{connection}/revoke", "write", member=404, manager=404, admin=200, owner=200),
    Case("GET", "api-keys", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "api-keys", "write", member=403, manager=403, admin=403, owner=403, body={"label": "ci"}),
    Case("POST", "api-keys/{api_key}/revoke", "write", member=404, manager=404, admin=404, owner=200),
    Case("GET", "audit-events", "admin", member=403, manager=403, admin=200, owner=200),
]


@pytest.fixture
def roles(member, manager, admin, owner):
    return {"member": member, "manager": manager, "admin": admin, "owner": owner}


@pytest.fixture
def world(workspace, member, owner):
    client = ClientFactory(workspace=workspace)
    project = ProjectFactory(workspace=workspace, client=client, team=[member])
    other_project = ProjectFactory(workspace=workspace, client=client)
    target = MembershipFactory(workspace=workspace, user__username="target")
    owners_key = connection_services.api_key_create(actor=principal_for(owner), label="owner's own", scopes=["read"])
    return {
        "tag": TagFactory(workspace=workspace).pk,
        "target": target.pk,
        "client": client.pk,
        "project": project.pk,
        "other_project": other_project.pk,
        "task": TaskFactory(project=project).pk,
        "other_task": TaskFactory(project=other_project).pk,
        "connection": ConnectionFactory(membership=target).pk,
        "api_key": owners_key.connection.pk,
    }


@pytest.mark.parametrize("pair", cases_by_caller(TABLE), ids=case_id)
def test_access(pair, roles, world):
    case, caller = pair
    check(case, caller, roles, world)
