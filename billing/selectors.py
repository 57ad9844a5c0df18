"""Reads of the money side. For now: which rates apply to a piece of work."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from workspaces.models import Membership, Project, Task


@dataclass(frozen=True)
class ResolvedRates:
    billable_rate: Decimal | None
    cost_rate: Decimal | None


def rates_resolve(*, member: Membership, project: Project, task: Task | None) -> ResolvedRates:
    """Billable rate: task → project → member → workspace, the first that is set. Cost rate: the member's."""
    for candidate in (
        task.billable_rate if task is not None else None,
        project.billable_rate,
        member.billable_rate,
        project.workspace.default_billable_rate,
    ):
        if candidate is not None:
            billable_rate: Decimal | None = candidate
            break
    else:
        billable_rate = None
    return ResolvedRates(billable_rate=billable_rate, cost_rate=member.cost_rate)


def billable_default(*, project: Project, task: Task | None) -> bool:
    """Whether new time is billable: task → project → workspace, the first that is set."""
    if task is not None and task.billable is not None:
        return task.billable
    if project.billable_by_default is not None:
        return project.billable_by_default
    return project.workspace.default_billable
