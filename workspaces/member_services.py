"""Writes of memberships: add, invite, change role, update capacity and rates, deactivate.

Only owners touch the owner role, and a workspace always keeps one active owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from workspaces import audit, policies
from workspaces.errors import Conflict, Forbidden, Invalid
from workspaces.model_update import apply_updates, validate_instance
from workspaces.models import Membership, Role, User, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.services import ensure_rates_allowed, lock_row
from workspaces.tasks import send_invitation_email

MEMBER_FIELDS = {"weekly_capacity_hours", "billable_rate", "cost_rate"}


def _active_owner_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER, is_active=True).count()


def _ensure_cost_rate_allowed(actor: Principal) -> None:
    # A cost rate is sensitive: whoever may not see it may not set (or clear) it blind either.
    if not policies.can_view_sensitive(actor):
        raise Forbidden("Cost rates are sensitive: only admins with sensitive access can set them.")


@transaction.atomic
def member_add(
    *,
    actor: Principal,
    user: User,
    role: str = Role.MEMBER,
    weekly_capacity_hours: Decimal | None = None,
    billable_rate: Decimal | None = None,
    cost_rate: Decimal | None = None,
) -> Membership:
    """Add a user to the workspace (or reactivate their old membership) with a role."""
    policies.ensure_role_change(actor, Membership(role=Role.MEMBER), role)
    ensure_rates_allowed(actor, {"billable_rate": billable_rate, "cost_rate": cost_rate})
    if cost_rate is not None:
        _ensure_cost_rate_allowed(actor)
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]})
    membership = Membership.objects.select_for_update().filter(user=user, workspace=actor.workspace).first()
    if membership is not None and membership.is_active:
        raise Conflict(f"{user.get_username()} is already a member of this workspace.")
    if membership is None:
        membership = Membership(user=user, workspace=actor.workspace)
    membership.role = role
    membership.is_active = True
    membership.deactivated_at = None
    if weekly_capacity_hours is not None:
        membership.weekly_capacity_hours = weekly_capacity_hours
    membership.billable_rate = billable_rate
    membership.cost_rate = cost_rate
    validate_instance(membership, exclude=["user", "workspace"])
    membership.save()
    audit.record(action="member.add", actor=actor, target=membership, detail={"role": role, "user_id": user.pk})
    return membership


@transaction.atomic
def member_invite(*, actor: Principal, email: str, role: str = Role.MEMBER) -> Membership:
    """Add the person with this email, creating a login for them if needed, and email them a link."""
    email = email.strip().lower()
    validate_instance(User(username=email, email=email), exclude=["username", "password"])
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    created = user is None
    if user is None:
        user = User(username=email, email=email)
        user.set_unusable_password()
        user.save()
    membership = member_add(actor=actor, user=user, role=role)
    audit.record(action="member.invite", actor=actor, target=membership, detail={"new_login": created})
    user_pk, workspace_pk = user.pk, actor.workspace.pk
    transaction.on_commit(lambda: send_invitation_email.delay(user_id=user_pk, workspace_id=workspace_pk))
    return membership


@transaction.atomic
def member_change_role(*, actor: Principal, member: Membership, role: str) -> Membership:
    """Change a member's role; only owners touch the owner role, and the last owner stays."""
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]})
    member = lock_row(Membership.objects.filter(workspace=actor.workspace), member.pk, "Member")
    policies.ensure_role_change(actor, member, role)
    previous = member.role
    if previous == Role.OWNER and role != Role.OWNER and _active_owner_count(actor.workspace) <= 1:
        raise Conflict("A workspace keeps at least one owner; make someone else owner first.")
    member.role = role
    member.save(update_fields=["role"])
    audit.record(action="member.role_change", actor=actor, target=member, detail={"from": previous, "to": role})
    return member


@transaction.atomic
def member_update(*, actor: Principal, member: Membership, data: Mapping[str, Any]) -> Membership:
    """Capacity and rates of a member."""
    policies.ensure(actor, Perm.MEMBER_MANAGE)
    ensure_rates_allowed(actor, data)
    if "cost_rate" in data:
        _ensure_cost_rate_allowed(actor)
    member = lock_row(Membership.objects.filter(workspace=actor.workspace), member.pk, "Member")
    changed = apply_updates(member, data, allowed=MEMBER_FIELDS)
    validate_instance(member, exclude=["user", "workspace"])
    member.save(update_fields=changed or None)
    audit.record(action="member.update", actor=actor, target=member, detail={"fields": sorted(changed)})
    return member


@transaction.atomic
def member_edit(*, actor: Principal, member: Membership, data: Mapping[str, Any]) -> Membership:
    """Role, capacity and rates in one change, all or nothing (the REST PATCH of a member)."""
    policies.ensure(actor, Perm.MEMBER_MANAGE)
    values = dict(data)
    role = values.pop("role", None)
    if values:
        member = member_update(actor=actor, member=member, data=values)
    if role is not None and role != member.role:
        member = member_change_role(actor=actor, member=member, role=role)
    return member


@transaction.atomic
def member_deactivate(*, actor: Principal, member: Membership) -> Membership:
    """Deactivate a membership: its access stops; a running timer is stopped now, nothing is lost."""
    from timesheets.models import MAX_ENTRY_SECONDS, TimeEntry  # timesheets builds on workspaces

    member = lock_row(Membership.objects.filter(workspace=actor.workspace), member.pk, "Member")
    policies.ensure_role_change(actor, member, member.role)
    if not member.is_active:
        return member
    if member.role == Role.OWNER and _active_owner_count(actor.workspace) <= 1:
        raise Conflict("The last owner cannot be deactivated; make someone else owner first.")
    running = TimeEntry.objects.filter(member=member, ended_at__isnull=True).first()
    if running is not None:
        # Stop at now, within the 1 s .. 24 h an entry may last.
        elapsed = (timezone.now() - running.started_at).total_seconds()
        running.duration_seconds = min(max(int(elapsed), 1), MAX_ENTRY_SECONDS)
        running.ended_at = running.started_at + timedelta(seconds=running.duration_seconds)
        running.save(update_fields=["ended_at", "duration_seconds"])
    member.is_active = False
    member.deactivated_at = timezone.now()
    member.save(update_fields=["is_active", "deactivated_at"])
    audit.record(
        action="member.deactivate",
        actor=actor,
        target=member,
        detail={"stopped_timer_id": running.pk if running else None},
    )
    return member
