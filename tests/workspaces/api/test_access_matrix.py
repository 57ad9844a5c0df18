"""Access matrix of the workspaces app's REST endpoints (harness: tests/api_matrix.py)."""

import pytest

from tests.api_matrix import Case, case_id, cases_by_caller, check
from tests.factories import TagFactory

pytestmark = pytest.mark.django_db

TABLE = [
    Case("GET", "tags", "read", member=200, manager=200, admin=200, owner=200),
    Case("POST", "tags", "write", member=403, manager=201, admin=201, owner=201, body={"name": "new"}),
    Case("GET", "tags/{tag}", "read", member=200, manager=200, admin=200, owner=200),
    Case("PATCH", "tags/{tag}", "write", member=403, manager=200, admin=200, owner=200, body={"name": "renamed"}),
    Case("POST", "tags/{tag}/archive", "write", member=403, manager=200, admin=200, owner=200),
]


@pytest.fixture
def roles(member, manager, admin, owner):
    return {"member": member, "manager": manager, "admin": admin, "owner": owner}


@pytest.fixture
def world(workspace):
    return {"tag": TagFactory(workspace=workspace).pk}


@pytest.mark.parametrize("pair", cases_by_caller(TABLE), ids=case_id)
def test_access(pair, roles, world):
    case, caller = pair
    check(case, caller, roles, world)
