"""Billable defaults (task → project → workspace) and rate snapshots (task → project → member → workspace)."""

from decimal import Decimal

import pytest

from tests.factories import TaskFactory
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import services
from workspaces.models import Membership, Project, Task, Workspace


def log(actor, project, task=None, hour=9, **kwargs):
    return services.time_entry_create(
        actor=actor,
        project=project,
        task=task,
        started_at=berlin(MONDAY, hour),
        ended_at=berlin(MONDAY, hour + 1),
        **kwargs,
    )


def set_rates(workspace: Workspace, member: Membership, project: Project, task: Task, *, w, m, p, t) -> None:
    workspace.default_billable_rate, member.billable_rate, project.billable_rate, task.billable_rate = w, m, p, t
    for obj in (workspace, member, project, task):
        obj.save()


@pytest.mark.parametrize(
    ("w", "m", "p", "t", "expected"),
    [
        (Decimal("50"), Decimal("60"), Decimal("70"), Decimal("80"), Decimal("80")),
        (Decimal("50"), Decimal("60"), Decimal("70"), None, Decimal("70")),
        (Decimal("50"), Decimal("60"), None, None, Decimal("60")),
        (Decimal("50"), None, None, None, Decimal("50")),
        (None, None, None, None, None),
    ],
)
def test_billable_rate_resolves_task_project_member_workspace(
    as_member, workspace, member, project, task, w, m, p, t, expected
):
    set_rates(workspace, member, project, task, w=w, m=m, p=p, t=t)
    member.cost_rate = Decimal("35.50")
    member.save()
    entry = log(as_member, project, task)
    entry.refresh_from_db()
    assert entry.billable_rate == expected
    assert entry.cost_rate == Decimal("35.50")


def test_rates_are_snapshotted_and_a_later_change_does_not_reprice(as_member, member, project):
    project.billable_rate = Decimal("100.00")
    project.save()
    entry = log(as_member, project)
    project.billable_rate = Decimal("150.00")
    project.save()
    member.cost_rate = Decimal("99.00")
    member.save()

    services.time_entry_update(actor=as_member, entry=entry, data={"description": "edited"})
    entry.refresh_from_db()
    assert (entry.billable_rate, entry.cost_rate) == (Decimal("100.00"), None)


def test_moving_an_entry_to_another_task_resolves_its_rate_again(as_member, project):
    cheap = TaskFactory(project=project, billable_rate=Decimal("40.00"))
    dear = TaskFactory(project=project, billable_rate=Decimal("140.00"))
    entry = log(as_member, project, cheap)
    services.time_entry_update(actor=as_member, entry=entry, data={"task": dear})
    entry.refresh_from_db()
    assert entry.billable_rate == Decimal("140.00")


@pytest.mark.parametrize(
    ("workspace_default", "project_default", "task_override", "expected"),
    [
        (True, None, None, True),
        (False, None, None, False),
        (True, False, None, False),
        (False, True, None, True),
        (True, True, False, False),
        (False, False, True, True),
    ],
)
def test_billable_default_resolves_task_project_workspace(
    as_member, workspace, project, workspace_default, project_default, task_override, expected
):
    workspace.default_billable = workspace_default
    workspace.save()
    project.billable_by_default = project_default
    project.save()
    task = TaskFactory(project=project, billable=task_override)
    assert log(as_member, project, task).billable is expected


def test_an_explicit_billable_flag_wins(as_member, project):
    project.billable_by_default = True
    project.save()
    assert log(as_member, project, billable=False).billable is False
