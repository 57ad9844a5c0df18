"""Role × scope: one table of expectations, written from DESIGN §5, checked for every pair."""

import pytest

from tests.conftest import principal_for
from tests.factories import MembershipFactory
from workspaces import policies
from workspaces.errors import Forbidden, InsufficientScope
from workspaces.models import Role
from workspaces.policies import Perm

ROLES = [Role.MEMBER, Role.MANAGER, Role.ADMIN, Role.OWNER]

# permission: (lowest role allowed, scope needed)
EXPECTED = {
    Perm.WORKSPACE_VIEW: (Role.MEMBER, "read"),
    Perm.WORKSPACE_MANAGE: (Role.ADMIN, "admin"),
    Perm.MEMBER_VIEW: (Role.MEMBER, "read"),
    Perm.MEMBER_MANAGE: (Role.ADMIN, "admin"),
    Perm.RATE_MANAGE: (Role.ADMIN, "admin"),
    Perm.CLIENT_VIEW: (Role.MEMBER, "read"),
    Perm.CLIENT_MANAGE: (Role.MANAGER, "write"),
    Perm.PROJECT_VIEW: (Role.MEMBER, "read"),
    Perm.PROJECT_MANAGE: (Role.MANAGER, "write"),
    Perm.TAG_VIEW: (Role.MEMBER, "read"),
    Perm.TAG_MANAGE: (Role.MANAGER, "write"),
    Perm.TIME_VIEW_OWN: (Role.MEMBER, "read"),
    Perm.TIME_VIEW_ALL: (Role.MANAGER, "read"),
    Perm.TIME_LOG_OWN: (Role.MEMBER, "write"),
    Perm.TIME_LOG_ANY: (Role.MANAGER, "write"),
    Perm.TIMESHEET_SUBMIT_OWN: (Role.MEMBER, "write"),
    Perm.TIMESHEET_DECIDE: (Role.MANAGER, "write"),
    Perm.TIMESHEET_REOPEN: (Role.ADMIN, "admin"),
    Perm.SENSITIVE_VIEW: (Role.ADMIN, "read"),
    Perm.AUDIT_VIEW: (Role.ADMIN, "admin"),
    Perm.CONNECTION_MANAGE: (Role.MEMBER, "write"),
    Perm.INVOICE_VIEW: (Role.MANAGER, "read"),
    Perm.INVOICE_MANAGE: (Role.ADMIN, "write"),
}


def test_every_permission_has_an_expectation():
    assert set(EXPECTED) == set(Perm)


@pytest.mark.parametrize("perm", list(Perm))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("scopes", [{"read"}, {"read", "write"}, {"read", "write", "admin"}, set()])
def test_role_and_scope_matrix(db, perm, role, scopes):
    minimum, scope = EXPECTED[perm]
    principal = principal_for(MembershipFactory.build(role=role), scopes=frozenset(scopes))
    role_ok = ROLES.index(role) >= ROLES.index(minimum)
    scope_ok = scope in scopes

    assert policies.can(principal, perm) is (role_ok and scope_ok)
    if not scope_ok:
        with pytest.raises(InsufficientScope) as exc:
            policies.ensure(principal, perm)
        assert exc.value.scope == scope
    elif not role_ok:
        with pytest.raises(Forbidden):
            policies.ensure(principal, perm)
    else:
        policies.ensure(principal, perm)


class _Connection:
    def __init__(self, allow_sensitive: bool) -> None:
        self.allow_sensitive = allow_sensitive


@pytest.mark.parametrize(
    ("role", "connection", "expected"),
    [
        (Role.OWNER, None, True),
        (Role.ADMIN, None, True),
        (Role.MANAGER, None, False),
        (Role.ADMIN, _Connection(allow_sensitive=False), False),
        (Role.ADMIN, _Connection(allow_sensitive=True), True),
        (Role.MANAGER, _Connection(allow_sensitive=True), False),
    ],
)
def test_sensitive_data_needs_admin_role_and_a_connection_that_allows_it(db, role, connection, expected):
    principal = principal_for(MembershipFactory.build(role=role), connection=connection)
    assert policies.can_view_sensitive(principal) is expected
