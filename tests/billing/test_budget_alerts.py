"""Budget alerts: a threshold crossing notifies managers and admins once per period, in-app and by email."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from billing.models import BudgetAlert, Notification
from billing.services import budget_alerts_check
from billing.tasks import check_budgets
from tests.billing.test_budget_health import AS_OF, work
from tests.factories import MembershipFactory, ProjectFactory
from workspaces.models import AuditEvent, Role


@pytest.fixture
def burning(workspace, owner, admin, manager, member):
    project = ProjectFactory(workspace=workspace, name="Relaunch", budget_hours=Decimal("10"), team=[manager, member])
    MembershipFactory(workspace=workspace, role=Role.MANAGER)  # a manager not on the team
    return project


@pytest.mark.usefixtures("celery_eager")
def test_a_crossing_notifies_once(
    workspace, burning, member, owner, admin, manager, django_capture_on_commit_callbacks
):
    work(member, burning, date(2026, 6, 1), 8.5)
    with django_capture_on_commit_callbacks(execute=True):
        alerts = budget_alerts_check(workspace=workspace, as_of=AS_OF)
    assert [a.threshold for a in alerts] == [80]
    notified = set(Notification.objects.values_list("user_id", flat=True))
    assert notified == {owner.user_id, admin.user_id, manager.user_id}
    assert {n.message for n in Notification.objects.all()} == {"Relaunch has used 85.0% of its budget (alert at 80%)."}
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {owner.user.email, admin.user.email, manager.user.email}

    with django_capture_on_commit_callbacks(execute=True):
        assert budget_alerts_check(workspace=workspace, as_of=AS_OF) == []
    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 1

    work(member, burning, date(2026, 6, 2), 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert [a.threshold for a in budget_alerts_check(workspace=workspace, as_of=AS_OF)] == [100]
    assert BudgetAlert.objects.count() == 2
    assert AuditEvent.objects.filter(action="budget.alert").count() == 2


def test_a_monthly_budget_alerts_again_next_month(workspace, burning, member):
    burning.budget_period = "monthly"
    burning.save()
    work(member, burning, date(2026, 6, 1), 9)
    work(member, burning, date(2026, 7, 1), 9)
    assert len(budget_alerts_check(workspace=workspace, as_of=AS_OF)) == 1
    assert len(budget_alerts_check(workspace=workspace, as_of=date(2026, 7, 2))) == 1
    assert set(BudgetAlert.objects.values_list("period_start", flat=True)) == {date(2026, 6, 1), date(2026, 7, 1)}


def test_the_beat_task_checks_every_active_workspace(workspace, burning, member):
    work(member, burning, date.today().replace(day=1), 9)
    assert check_budgets() == 1
    assert check_budgets() == 0
