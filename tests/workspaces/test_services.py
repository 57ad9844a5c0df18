"""Workspace, member, client, project, task and tag services: rules, allow-lists, audit."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from tests.factories import ClientFactory, MembershipFactory, TimeEntryFactory, UserFactory
from timesheets.models import TimeEntry
from workspaces import member_services, services
from workspaces.errors import Conflict, Forbidden, InsufficientScope, Invalid, NotFound
from workspaces.models import AuditEvent, Client, Membership, ProjectStatus, Role, Tag, User, Workspace

# --- workspaces -------------------------------------------------------------------------------


def test_workspace_create_makes_the_creator_owner(db):
    user = UserFactory()
    ws = services.workspace_create(user=user, name="North & Co", timezone_name="Europe/Paris", currency="chf")
    assert (ws.slug, ws.currency, ws.timezone) == ("north-co", "CHF", "Europe/Paris")
    assert Membership.objects.get(workspace=ws).role == Role.OWNER
    assert AuditEvent.objects.filter(action="workspace.create", workspace=ws, actor=user).count() == 1
    assert services.workspace_create(user=user, name="North & Co").slug == "north-co-2"


@pytest.mark.parametrize(
    ("field", "kwargs"), [("timezone", {"timezone_name": "Mars/Olympus"}), ("currency", {"currency": "euro"})]
)
def test_workspace_create_validates(db, field, kwargs):
    with pytest.raises(Invalid) as exc:
        services.workspace_create(user=UserFactory(), name="X", **kwargs)
    assert field in exc.value.fields
    assert not Workspace.objects.exists()


def test_workspace_update_is_allow_listed_and_admin_only(as_admin, as_manager, workspace):
    with pytest.raises(Forbidden):
        services.workspace_update(actor=as_manager, data={"name": "Renamed"})
    with pytest.raises(Invalid, match="slug"):
        services.workspace_update(actor=as_admin, data={"slug": "taken-over"})
    updated = services.workspace_update(actor=as_admin, data={"overlap_policy": "forbid", "name": "Renamed"})
    assert (updated.name, updated.overlap_policy, updated.slug) == ("Renamed", "forbid", "acme")
    assert AuditEvent.objects.get(action="workspace.update").detail == {"fields": ["name", "overlap_policy"]}


def test_lock_date_is_set_by_admins_and_audited(as_admin, as_member, workspace):
    with pytest.raises(Forbidden):
        services.workspace_set_lock_date(actor=as_member, lock_date=date(2026, 5, 31))
    services.workspace_set_lock_date(actor=as_admin, lock_date=date(2026, 5, 31))
    workspace.refresh_from_db()
    assert workspace.lock_date == date(2026, 5, 31)
    assert AuditEvent.objects.get(action="workspace.lock_date").detail == {"from": None, "to": "2026-05-31"}


def test_admin_scope_is_needed_for_settings(make_principal, admin):
    with pytest.raises(InsufficientScope):
        services.workspace_update(actor=make_principal(admin, scopes=frozenset({"read", "write"})), data={"name": "x"})


# --- members ----------------------------------------------------------------------------------


def test_member_add_and_readd(as_admin, workspace):
    user = UserFactory()
    membership = member_services.member_add(
        actor=as_admin, user=user, role=Role.MANAGER, weekly_capacity_hours=Decimal("32")
    )
    assert (membership.role, membership.weekly_capacity_hours) == (Role.MANAGER, Decimal("32"))
    with pytest.raises(Conflict, match="already a member"):
        member_services.member_add(actor=as_admin, user=user)
    member_services.member_deactivate(actor=as_admin, member=membership)
    again = member_services.member_add(actor=as_admin, user=user)
    assert again.pk == membership.pk
    assert again.is_active


def test_only_owners_make_owners(as_admin, as_owner):
    with pytest.raises(Forbidden, match="owner"):
        member_services.member_add(actor=as_admin, user=UserFactory(), role=Role.OWNER)
    assert member_services.member_add(actor=as_owner, user=UserFactory(), role=Role.OWNER).role == Role.OWNER


def test_managers_cannot_manage_members(as_manager):
    with pytest.raises(Forbidden):
        member_services.member_add(actor=as_manager, user=UserFactory())


@pytest.mark.usefixtures("celery_eager")
def test_invite_creates_a_login_and_emails_a_link(as_admin, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        membership = member_services.member_invite(actor=as_admin, email=" New.Person@Example.test ")
    user = membership.user
    assert (user.username, user.email, user.has_usable_password()) == (
        "new.person@example.test",
        "new.person@example.test",
        False,
    )
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["new.person@example.test"]
    # inviting an existing login reuses it
    existing = UserFactory(email="known@example.test")
    assert member_services.member_invite(actor=as_admin, email="KNOWN@example.test").user == existing


def test_invite_validates_the_email(as_admin):
    with pytest.raises(Invalid):
        member_services.member_invite(actor=as_admin, email="not-an-email")
    assert not User.objects.filter(username="not-an-email").exists()


def test_role_change_rules(as_owner, as_admin, owner, manager, member):
    assert member_services.member_change_role(actor=as_admin, member=member, role=Role.MANAGER).role == Role.MANAGER
    with pytest.raises(Forbidden):
        member_services.member_change_role(actor=as_admin, member=owner, role=Role.ADMIN)
    with pytest.raises(Conflict, match="at least one owner"):
        member_services.member_change_role(actor=as_owner, member=owner, role=Role.ADMIN)
    with pytest.raises(Invalid):
        member_services.member_change_role(actor=as_owner, member=manager, role="boss")
    event = AuditEvent.objects.get(action="member.role_change")
    assert event.detail == {"from": "member", "to": "manager"}


def test_deactivate_stops_a_running_timer_and_keeps_the_last_owner(as_owner, as_admin, owner, member, project):
    running = TimeEntryFactory(member=member, project=project, ended_at=None, duration_seconds=None)
    member_services.member_deactivate(actor=as_admin, member=member)
    member.refresh_from_db()
    running.refresh_from_db()
    assert not member.is_active
    assert member.deactivated_at is not None
    assert running.ended_at is not None
    assert 1 <= running.duration_seconds <= 24 * 3600
    with pytest.raises(Conflict, match="last owner"):
        member_services.member_deactivate(actor=as_owner, member=owner)


def test_member_update_capacity_and_rates(as_admin, member):
    updated = member_services.member_update(
        actor=as_admin, member=member, data={"weekly_capacity_hours": Decimal("20"), "cost_rate": Decimal("30")}
    )
    assert (updated.weekly_capacity_hours, updated.cost_rate) == (Decimal("20"), Decimal("30"))
    with pytest.raises(Invalid, match="role"):
        member_services.member_update(actor=as_admin, member=member, data={"role": "owner"})


def test_another_workspaces_member_is_not_found(as_admin):
    with pytest.raises(NotFound):
        member_services.member_change_role(actor=as_admin, member=MembershipFactory(), role=Role.MANAGER)


# --- clients, projects, tasks, tags -------------------------------------------------------


def test_client_lifecycle(as_manager, as_admin):
    client = services.client_create(actor=as_manager, name="  Globex  ")
    assert client.name == "Globex"
    with pytest.raises(Invalid, match="already exists"):
        services.client_create(actor=as_manager, name="Globex")
    services.client_update(actor=as_manager, client=client, data={"name": "Globex Corp"})
    services.client_archive(actor=as_manager, client=client)
    client.refresh_from_db()
    assert (client.name, client.is_archived) == ("Globex Corp", True)
    actions = list(AuditEvent.objects.filter(target_type="workspaces.client").values_list("action", flat=True))
    assert sorted(actions) == ["client.archive", "client.create", "client.update"]


def test_client_contact_data_is_sensitive(as_manager, as_admin, make_principal, admin):
    with pytest.raises(Forbidden, match="sensitive"):
        services.client_create(actor=as_manager, name="A", contact_email="a@a.test")
    client = services.client_create(actor=as_admin, name="A", contact_email="a@a.test")
    with pytest.raises(Forbidden, match="sensitive"):
        services.client_update(actor=as_manager, client=client, data={"vat_id": "DE1"})

    class NoSensitive:
        allow_sensitive = False

    with pytest.raises(Forbidden):
        services.client_update(
            actor=make_principal(admin, connection=NoSensitive()), client=client, data={"vat_id": "DE1"}
        )
    assert Client.objects.get(pk=client.pk).vat_id == ""


def test_members_cannot_create_clients_or_projects(as_member):
    with pytest.raises(Forbidden):
        services.client_create(actor=as_member, name="X")
    with pytest.raises(Forbidden):
        services.project_create(actor=as_member, name="X")


def test_project_lifecycle_and_team(as_manager, workspace, member):
    client = ClientFactory(workspace=workspace)
    project = services.project_create(
        actor=as_manager, name="Relaunch", client=client, code="REL", budget_hours=Decimal("120"), team=[member]
    )
    assert list(project.team.all()) == [member]
    assert project.alert_thresholds == [80, 100]
    services.project_update(actor=as_manager, project=project, data={"team": [], "alert_thresholds": [100, 50]})
    project.refresh_from_db()
    assert list(project.team.all()) == []
    assert project.alert_thresholds == [50, 100]
    services.project_archive(actor=as_manager, project=project)
    assert type(project).objects.get(pk=project.pk).status == ProjectStatus.ARCHIVED


def test_project_validation(as_manager, workspace):
    foreign_client = ClientFactory()
    with pytest.raises(Invalid, match="Client not found"):
        services.project_create(actor=as_manager, name="X", client=foreign_client)
    with pytest.raises(Invalid, match="thresholds"):
        services.project_create(actor=as_manager, name="X", alert_thresholds=[0])
    with pytest.raises(Invalid, match="color"):
        services.project_create(actor=as_manager, name="X", color="red")
    services.project_create(actor=as_manager, name="X", code="C1")
    with pytest.raises(Invalid):
        services.project_create(actor=as_manager, name="Y", code="C1")


def test_rates_need_an_admin(as_manager, as_admin, project):
    with pytest.raises(Forbidden):
        services.project_create(actor=as_manager, name="Rated", billable_rate=Decimal("120"))
    with pytest.raises(Forbidden):
        services.project_update(actor=as_manager, project=project, data={"billable_rate": Decimal("120")})
    assert services.project_update(
        actor=as_admin, project=project, data={"billable_rate": Decimal("120")}
    ).billable_rate == Decimal("120")


def test_tasks_and_tags(as_manager, project, workspace):
    task = services.task_create(actor=as_manager, project=project, name="QA", billable=False)
    services.task_update(actor=as_manager, task=task, data={"name": "Testing"})
    services.task_archive(actor=as_manager, task=task)
    task.refresh_from_db()
    assert (task.name, task.billable, task.is_archived) == ("Testing", False, True)

    tag = services.tag_create(actor=as_manager, name="urgent")
    with pytest.raises(Invalid):
        services.tag_create(actor=as_manager, name="urgent")
    services.tag_update(actor=as_manager, tag=tag, data={"name": "priority"})
    services.tag_archive(actor=as_manager, tag=tag)
    assert Tag.objects.filter(workspace=workspace, name="priority", is_archived=True).exists()
    with pytest.raises(Invalid, match="workspace"):
        services.tag_update(actor=as_manager, tag=tag, data={"workspace": None})


def test_a_failing_write_leaves_neither_change_nor_audit_event(as_member, project, monkeypatch):
    """The audit row is written in the service's transaction: if the service fails after it, both vanish."""
    from timesheets import services as time_services
    from workspaces import audit

    real_record = audit.record

    def record_then_fail(**kwargs):
        real_record(**kwargs)
        raise RuntimeError("boom after the audit insert")

    monkeypatch.setattr(audit, "record", record_then_fail)
    start = project.created_at.replace(microsecond=0) - timedelta(days=1)
    with pytest.raises(RuntimeError):
        time_services.time_entry_create(
            actor=as_member, project=project, started_at=start, ended_at=start + timedelta(hours=1)
        )
    assert not TimeEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="time_entry.create").exists()
