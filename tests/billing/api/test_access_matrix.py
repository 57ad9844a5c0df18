"""Access matrix of the billing app's REST endpoints (harness: tests/api_matrix.py)."""

import pytest

from tests.api_matrix import Case, case_id, cases_by_caller, check

pytestmark = pytest.mark.django_db

JUNE = "date_from=2026-06-01&date_to=2026-06-30"
TABLE = [
    Case("GET", f"reports/hours-summary?{JUNE}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", f"reports/utilization?{JUNE}", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "reports/budget-health", "read", member=200, manager=200, admin=200, owner=200),
    Case("GET", "reports/unbilled", "read", member=403, manager=200, admin=200, owner=200),
    Case("GET", f"reports/profitability?{JUNE}", "read", member=403, manager=200, admin=200, owner=200),
    Case("GET", "projects/{project}/budget", "read", member=200, manager=200, admin=200, owner=200),
]


@pytest.fixture
def roles(member, manager, admin, owner):
    return {"member": member, "manager": manager, "admin": admin, "owner": owner}


@pytest.fixture
def world(project):
    return {"project": project.pk}


@pytest.mark.parametrize("pair", cases_by_caller(TABLE), ids=case_id)
def test_access(pair, roles, world):
    case, caller = pair
    check(case, caller, roles, world)
