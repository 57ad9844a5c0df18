"""Who may do what: role × scope, in one declared table. Pure functions, no I/O.

A call needs the scope *and* the role. The same table answers for the web, REST and MCP faces.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from workspaces.errors import Forbidden, InsufficientScope
from workspaces.models import Membership, Role
from workspaces.principals import Principal

ROLE_RANK: dict[str, int] = {Role.MEMBER: 0, Role.MANAGER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Rule(NamedTuple):
    role: Role
    scope: Scope


class Perm(StrEnum):
    WORKSPACE_VIEW = "workspace.view"
    WORKSPACE_MANAGE = "workspace.manage"
    MEMBER_VIEW = "member.view"
    MEMBER_MANAGE = "member.manage"
    RATE_MANAGE = "rate.manage"
    CLIENT_VIEW = "client.view"
    CLIENT_MANAGE = "client.manage"
    PROJECT_VIEW = "project.view"
    PROJECT_MANAGE = "project.manage"
    TAG_VIEW = "tag.view"
    TAG_MANAGE = "tag.manage"
    TIME_VIEW_OWN = "time.view_own"
    TIME_VIEW_ALL = "time.view_all"
    TIME_LOG_OWN = "time.log_own"
    TIME_LOG_ANY = "time.log_any"
    TIMESHEET_SUBMIT_OWN = "timesheet.submit_own"
    TIMESHEET_DECIDE = "timesheet.decide"
    TIMESHEET_REOPEN = "timesheet.reopen"
    SENSITIVE_VIEW = "sensitive.view"
    AUDIT_VIEW = "audit.view"
    CONNECTION_MANAGE = "connection.manage"
    INVOICE_VIEW = "invoice.view"
    INVOICE_MANAGE = "invoice.manage"


RULES: dict[Perm, Rule] = {
    Perm.WORKSPACE_VIEW: Rule(Role.MEMBER, Scope.READ),
    Perm.WORKSPACE_MANAGE: Rule(Role.ADMIN, Scope.ADMIN),
    Perm.MEMBER_VIEW: Rule(Role.MEMBER, Scope.READ),
    Perm.MEMBER_MANAGE: Rule(Role.ADMIN, Scope.ADMIN),
    Perm.RATE_MANAGE: Rule(Role.ADMIN, Scope.ADMIN),
    Perm.CLIENT_VIEW: Rule(Role.MEMBER, Scope.READ),
    Perm.CLIENT_MANAGE: Rule(Role.MANAGER, Scope.WRITE),
    Perm.PROJECT_VIEW: Rule(Role.MEMBER, Scope.READ),
    Perm.PROJECT_MANAGE: Rule(Role.MANAGER, Scope.WRITE),
    Perm.TAG_VIEW: Rule(Role.MEMBER, Scope.READ),
    Perm.TAG_MANAGE: Rule(Role.MANAGER, Scope.WRITE),
    Perm.TIME_VIEW_OWN: Rule(Role.MEMBER, Scope.READ),
    Perm.TIME_VIEW_ALL: Rule(Role.MANAGER, Scope.READ),
    Perm.TIME_LOG_OWN: Rule(Role.MEMBER, Scope.WRITE),
    Perm.TIME_LOG_ANY: Rule(Role.MANAGER, Scope.WRITE),
    Perm.TIMESHEET_SUBMIT_OWN: Rule(Role.MEMBER, Scope.WRITE),
    Perm.TIMESHEET_DECIDE: Rule(Role.MANAGER, Scope.WRITE),
    Perm.TIMESHEET_REOPEN: Rule(Role.ADMIN, Scope.ADMIN),
    Perm.SENSITIVE_VIEW: Rule(Role.ADMIN, Scope.READ),
    Perm.AUDIT_VIEW: Rule(Role.ADMIN, Scope.ADMIN),
    # Create API keys and revoke connections: everyone for their own (the services check whose).
    Perm.CONNECTION_MANAGE: Rule(Role.MEMBER, Scope.WRITE),
    Perm.INVOICE_VIEW: Rule(Role.MANAGER, Scope.READ),
    Perm.INVOICE_MANAGE: Rule(Role.ADMIN, Scope.WRITE),
}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[role] >= ROLE_RANK[minimum]


def has_role(principal: Principal, perm: Perm) -> bool:
    return role_at_least(principal.membership.role, RULES[perm].role)


def has_scope(principal: Principal, perm: Perm) -> bool:
    return RULES[perm].scope in principal.scopes


def can(principal: Principal, perm: Perm) -> bool:
    return has_scope(principal, perm) and has_role(principal, perm)


def ensure(principal: Principal, perm: Perm) -> None:
    """Raise InsufficientScope (scope missing) or Forbidden (role too low)."""
    rule = RULES[perm]
    if rule.scope not in principal.scopes:
        raise InsufficientScope(rule.scope)
    if not role_at_least(principal.membership.role, rule.role):
        raise Forbidden(f"Your role ({principal.membership.role}) may not do this; it needs {rule.role} or above.")


def can_view_sensitive(principal: Principal) -> bool:
    """Cost rates, margins and contact data: admin+ role, and a connection that allows them."""
    if not can(principal, Perm.SENSITIVE_VIEW):
        return False
    return principal.connection is None or bool(getattr(principal.connection, "allow_sensitive", False))


def is_self(principal: Principal, member: Membership) -> bool:
    return principal.membership.pk == member.pk


def ensure_time_write(principal: Principal, member: Membership) -> None:
    """Members write their own time; managers and up anyone's in the workspace."""
    ensure(principal, Perm.TIME_LOG_OWN if is_self(principal, member) else Perm.TIME_LOG_ANY)


def can_view_time_of(principal: Principal, member: Membership) -> bool:
    return can(principal, Perm.TIME_VIEW_OWN if is_self(principal, member) else Perm.TIME_VIEW_ALL)


def ensure_role_change(principal: Principal, member: Membership, new_role: str) -> None:
    """Only owners grant, take away or touch the owner role."""
    ensure(principal, Perm.MEMBER_MANAGE)
    touches_owner = Role.OWNER in (member.role, new_role)
    if touches_owner and principal.membership.role != Role.OWNER:
        raise Forbidden("Only an owner can grant or change the owner role.")


def ensure_decide_timesheet(principal: Principal, member: Membership) -> None:
    """Managers decide others' weeks; deciding one's own needs admin or owner."""
    ensure(principal, Perm.TIMESHEET_DECIDE)
    if is_self(principal, member) and not role_at_least(principal.membership.role, Role.ADMIN):
        raise Forbidden("Managers cannot approve or reject their own week; ask an admin.")


def scopes_for_role(role: str) -> frozenset[str]:
    """The scopes a member of this role can use: admin only for admins and owners."""
    if role_at_least(role, Role.ADMIN):
        return frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN})
    return frozenset({Scope.READ, Scope.WRITE})


def can_allow_sensitive(role: str) -> bool:
    """Only roles that may see sensitive data can hand that right to a connection."""
    return role_at_least(role, RULES[Perm.SENSITIVE_VIEW].role)
