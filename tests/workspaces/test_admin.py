"""Django admin: every model is browsable; audit events and time are read-only even for superusers."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.models import BudgetAlert, Notification
from tests.factories import (
    AuditEventFactory,
    ClientFactory,
    ConnectionFactory,
    MembershipFactory,
    OAuthGrantFactory,
    OAuthIDTokenFactory,
    OAuthRefreshTokenFactory,
    ProjectFactory,
    TagFactory,
    TaskFactory,
    TimeEntryFactory,
    TimesheetFactory,
    UserFactory,
)
from timesheets.models import TimeEntry, Timesheet
from workspaces.models import AuditEvent, Channel, Client

pytestmark = pytest.mark.django_db
APPS = {"workspaces", "timesheets", "billing"}


@pytest.fixture
def superuser_client(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def one_of_each():
    membership = MembershipFactory()
    project = ProjectFactory(workspace=membership.workspace, team=[membership])
    refresh = OAuthRefreshTokenFactory()
    return {
        "membership": membership,
        "client": project.client,
        "project": project,
        "task": TaskFactory(project=project),
        "tag": TagFactory(workspace=membership.workspace),
        "timeentry": TimeEntryFactory(member=membership, project=project),
        "timesheet": TimesheetFactory(member=membership),
        "auditevent": AuditEventFactory(workspace=membership.workspace),
        "workspace": membership.workspace,
        "user": membership.user,
        "connection": ConnectionFactory(membership=membership),
        "oauthapplication": refresh.application,
        "oauthaccesstoken": refresh.access_token,
        "oauthrefreshtoken": refresh,
        "oauthgrant": OAuthGrantFactory(),
        "oauthidtoken": OAuthIDTokenFactory(),
        "budgetalert": BudgetAlert.objects.create(
            project=project, period_start=date(2026, 6, 1), threshold=80, percent=Decimal("81.0")
        ),
        "notification": Notification.objects.create(
            workspace=membership.workspace, user=membership.user, kind="budget_alert", message="x"
        ),
    }


REGISTERED = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry if model._meta.app_label in APPS
)


def test_every_model_of_the_apps_is_registered():
    names = {name for _, name in REGISTERED}
    assert names == {
        "user",
        "workspace",
        "membership",
        "client",
        "project",
        "task",
        "tag",
        "auditevent",
        "timeentry",
        "timesheet",
        "connection",
        "oauthapplication",
        "oauthaccesstoken",
        "oauthrefreshtoken",
        "oauthgrant",
        "oauthidtoken",
        "budgetalert",
        "notification",
    }


@pytest.mark.parametrize(("app_label", "model_name"), REGISTERED)
def test_changelist_search_and_detail_render(superuser_client, one_of_each, app_label, model_name):
    obj = one_of_each[model_name]
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")
    response = superuser_client.get(changelist)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert superuser_client.get(changelist, {"q": "x"}).status_code == 200
    detail = superuser_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]))
    assert detail.status_code == 200


@pytest.mark.parametrize(
    ("model", "key"), [(AuditEvent, "auditevent"), (TimeEntry, "timeentry"), (Timesheet, "timesheet")]
)
def test_read_only_models_cannot_be_added_changed_or_deleted_even_by_a_superuser(
    superuser_client, one_of_each, model, key
):
    obj = one_of_each[key]
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    assert superuser_client.get(reverse(f"{name}_add")).status_code == 403
    assert superuser_client.get(reverse(f"{name}_delete", args=[obj.pk])).status_code == 403
    assert superuser_client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    change = superuser_client.get(reverse(f"{name}_change", args=[obj.pk]))
    assert 'name="_save"' not in change.content.decode()
    assert superuser_client.post(reverse(f"{name}_change", args=[obj.pk]), {}).status_code == 403
    changelist = superuser_client.get(reverse(f"{name}_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    assert model.objects.filter(pk=obj.pk).exists()


def test_an_admin_edit_is_audited(superuser_client):
    client_obj = ClientFactory(name="Initech")
    url = reverse("admin:workspaces_client_change", args=[client_obj.pk])
    response = superuser_client.post(
        url,
        {
            "workspace": client_obj.workspace.pk,
            "name": "Initech Ltd",
            "contact_email": client_obj.contact_email,
            "contact_phone": "",
            "vat_id": "",
            "address": "",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Client.objects.get(pk=client_obj.pk).name == "Initech Ltd"
    event = AuditEvent.objects.get(action="client.admin_change")
    assert (event.channel, event.actor, event.workspace) == (Channel.ADMIN, superuser_client.user, client_obj.workspace)
    assert "name" in event.detail["fields"]
