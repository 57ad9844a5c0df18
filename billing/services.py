"""Writes of the money side: repricing time at today's rates (never silently), budget alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.db import transaction

from billing.models import BudgetAlert, Notification
from billing.money import amount_for
from billing.selectors import budget_health, rates_resolve
from billing.tasks import send_notification_email
from timesheets.models import TimeEntry, Timesheet
from timesheets.selectors import LOCKING_STATUSES, day_start_utc, local_date, week_start_for
from workspaces import audit, policies
from workspaces.models import Channel, Membership, Project, Role, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal


@dataclass
class RepriceResult:
    """What a reprice changed (or, in a dry run, would change)."""

    dry_run: bool
    considered: int = 0
    changed: int = 0
    skipped_locked: int = 0
    billable_amount_before: Decimal = Decimal("0.00")
    billable_amount_after: Decimal = Decimal("0.00")
    changed_entry_ids: list[int] = field(default_factory=list)

    @property
    def billable_amount_delta(self) -> Decimal:
        return self.billable_amount_after - self.billable_amount_before


@transaction.atomic
def entries_reprice(
    *,
    actor: Principal,
    dry_run: bool = True,
    project: Project | None = None,
    member: Membership | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> RepriceResult:
    """Re-apply today's rates (task → project → member → workspace; cost from the member) to the
    chosen finished entries. Locked entries are skipped and counted. ``dry_run`` (the default)
    reports how many entries and how much billable money would change, and writes nothing.

    Runs a fixed number of queries whatever the number of entries.
    """
    policies.ensure(actor, Perm.RATE_MANAGE)
    workspace = actor.workspace
    qs = (
        TimeEntry.objects.filter(workspace=workspace, ended_at__isnull=False)
        .select_related("member__workspace", "project__workspace", "task")
        .order_by("started_at", "id")
    )
    if project is not None:
        qs = qs.filter(project=project)
    if member is not None:
        qs = qs.filter(member=member)
    if date_from is not None:
        qs = qs.filter(started_at__gte=day_start_utc(workspace, date_from))
    if date_to is not None:
        qs = qs.filter(started_at__lt=day_start_utc(workspace, date_to + timedelta(days=1)))
    if not dry_run:
        qs = qs.select_for_update(of=("self",))
    entries = list(qs)
    locked_weeks = set(
        Timesheet.objects.filter(
            workspace=workspace, member_id__in={e.member_id for e in entries}, status__in=LOCKING_STATUSES
        ).values_list("member_id", "week_start")
    )
    result = RepriceResult(dry_run=dry_run)
    to_update = []
    for entry in entries:
        day = local_date(workspace, entry.started_at)
        if (workspace.lock_date is not None and day <= workspace.lock_date) or (
            entry.member_id,
            week_start_for(workspace, day),
        ) in locked_weeks:
            result.skipped_locked += 1
            continue
        result.considered += 1
        rates = rates_resolve(member=entry.member, project=entry.project, task=entry.task)
        seconds = entry.duration_seconds or 0
        if entry.billable:
            result.billable_amount_before += amount_for(seconds, entry.billable_rate)
            result.billable_amount_after += amount_for(seconds, rates.billable_rate)
        if (rates.billable_rate, rates.cost_rate) != (entry.billable_rate, entry.cost_rate):
            result.changed += 1
            result.changed_entry_ids.append(entry.pk)
            entry.billable_rate, entry.cost_rate = rates.billable_rate, rates.cost_rate
            to_update.append(entry)
    if not dry_run and to_update:
        TimeEntry.objects.bulk_update(to_update, ["billable_rate", "cost_rate"], batch_size=500)
    audit.record(
        action="time_entry.reprice" + (".dry_run" if dry_run else ""),
        actor=actor,
        detail={
            "dry_run": dry_run,
            "considered": result.considered,
            "changed": result.changed,
            "skipped_locked": result.skipped_locked,
            "billable_amount_delta": str(result.billable_amount_delta),
            "filters": {
                "project_id": project.pk if project else None,
                "member_id": member.pk if member else None,
                "date_from": date_from.isoformat() if date_from else None,
                "date_to": date_to.isoformat() if date_to else None,
            },
        },
    )
    return result


@transaction.atomic
def budget_alerts_check(*, workspace: Workspace, as_of: date | None = None) -> list[BudgetAlert]:
    """Record each budget threshold crossed for the first time in its period; notify the project's
    managers and the workspace's admins in-app and by email. Running it again sends nothing twice.
    """
    owner = (
        Membership.objects.filter(workspace=workspace, is_active=True, role=Role.OWNER).select_related("user").first()
    )
    if owner is None:
        return []
    system = Principal(user=owner.user, membership=owner, channel=Channel.SYSTEM)
    admins = list(
        Membership.objects.filter(workspace=workspace, is_active=True, role__in=[Role.ADMIN, Role.OWNER]).values_list(
            "user_id", flat=True
        )
    )
    created = []
    for health in budget_health(actor=system, as_of=as_of):
        period_start = health.period_start or date(1970, 1, 1)
        for threshold in health.thresholds:
            if health.percent < threshold:
                continue
            alert, new = BudgetAlert.objects.get_or_create(
                project_id=health.project_id,
                period_start=period_start,
                threshold=threshold,
                defaults={"percent": health.percent},
            )
            if not new:
                continue
            created.append(alert)
            managers = Membership.objects.filter(
                assigned_projects=health.project_id, is_active=True, role=Role.MANAGER
            ).values_list("user_id", flat=True)
            message = (
                f"{health.project_name} has used {health.percent}% of its "
                f"{'monthly ' if health.period == 'monthly' else ''}budget (alert at {threshold}%)."
            )
            recipients = sorted(set(admins) | set(managers))
            Notification.objects.bulk_create(
                Notification(workspace=workspace, user_id=user_id, kind="budget_alert", message=message)
                for user_id in recipients
            )
            audit.record(
                action="budget.alert",
                actor=system,
                target=alert,
                detail={"threshold": threshold, "percent": str(health.percent), "recipients": len(recipients)},
            )
            transaction.on_commit(
                partial(send_notification_email.delay, user_ids=recipients, subject=message, body=message)
            )
    return created


def budget_alerts_check_all() -> int:
    """Check every active workspace (each in its own transaction); return how many alerts fired."""
    return sum(len(budget_alerts_check(workspace=ws)) for ws in Workspace.objects.filter(is_active=True))
