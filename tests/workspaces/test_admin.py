"""Django admin: every model is browsable; audit events and time are read-only even for superusers;
admin edits leave an audit event."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.models import BudgetAlert, Expense, Invoice, InvoiceLine, Notification, WorkspaceExport
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
from workspaces.models import AuditDeadLetter, AuditEvent, Channel, Client, Membership, Role

pytestmark = pytest.mark.django_db
# billing rides along with workspaces and timesheets so its admin stays covered too.
APPS = {"workspaces", "timesheets", "billing"}
REGISTERED = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry if model._meta.app_label in APPS
)


class _FormFields(HTMLParser):
    """What a browser would submit for the form with ``form_id``: inputs, selects, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._multiple = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type") not in {"submit", "button", "image", "file"}:
            checkable = a.get("type") in {"checkbox", "radio"}
            if checkable and "checked" not in a:
                return
            self.data.setdefault(a["name"], []).append(a.get("value", "on" if checkable else ""))
        elif tag == "select":
            self._select, self._select_first, self._select_chosen = a["name"], None, False
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            if self._select_first is None:
                self._select_first = a.get("value", "")
            if "selected" in a:
                self._select_chosen = True
                self.data.setdefault(self._select, []).append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[self._textarea] = [""]

    def handle_data(self, data):
        if self._textarea is not None:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            if not self._select_chosen and not self._multiple and self._select_first is not None:
                self.data[self._select] = [self._select_first]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # browsers drop the one newline Django puts right after <textarea>
            self.data[self._textarea][0] = self.data[self._textarea][0].removeprefix("\n")
            self._textarea = None


def form_data(response, form_id: str) -> dict[str, list[str]]:
    parser = _FormFields(form_id)
    parser.feed(response.content.decode())
    assert parser.data, f"no form #{form_id} on the page"
    return parser.data


def form_errors(response) -> object:
    """The admin's form and inline errors, for an assertion message."""
    if response.context is None or "adminform" not in response.context:
        return response.status_code
    inlines = [formset.formset.errors for formset in response.context["inline_admin_formsets"]]
    return response.context["adminform"].form.errors, inlines


def row(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def one_of_each():
    membership = MembershipFactory()
    project = ProjectFactory(workspace=membership.workspace, team=[membership])
    refresh = OAuthRefreshTokenFactory()
    invoice = Invoice.objects.create(
        workspace=membership.workspace, client=project.client, period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 30), currency="EUR", created_by=membership.user,
    )  # fmt: skip
    InvoiceLine.objects.create(
        invoice=invoice, kind="manual", description="Setup", quantity=1, unit_price=Decimal("5"), amount=Decimal("5")
    )
    return {
        "membership": membership,
        "client": project.client,
        "project": project,
        "task": TaskFactory(project=project),
        "tag": TagFactory(workspace=membership.workspace),
        "timeentry": TimeEntryFactory(member=membership, project=project),
        "timesheet": TimesheetFactory(member=membership),
        "auditevent": AuditEventFactory(workspace=membership.workspace),
        "auditdeadletter": AuditDeadLetter.objects.create(
            event_id=uuid.uuid4(), payload={"action": "x.read"}, error="IntegrityError: test"
        ),
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
        "invoice": invoice,
        "workspaceexport": WorkspaceExport.objects.create(workspace=membership.workspace, requested_by=membership.user),
        "expense": Expense.objects.create(
            workspace=membership.workspace,
            member=membership,
            project=project,
            date=date(2026, 6, 1),
            amount=Decimal("9.90"),
            currency="EUR",
            category="Travel",
            created_by=membership.user,
        ),
    }


def test_every_model_of_the_apps_is_registered():
    assert {name for _, name in REGISTERED} == {
        "user",
        "workspace",
        "membership",
        "client",
        "project",
        "task",
        "tag",
        "auditevent",
        "auditdeadletter",
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
        "invoice",
        "expense",
        "workspaceexport",
    }


@pytest.mark.parametrize(("app_label", "model_name"), REGISTERED)
def test_changelist_search_and_detail_render(superuser_client, one_of_each, app_label, model_name):
    obj = one_of_each[model_name]
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")

    response = superuser_client.get(changelist)
    assert response.status_code == 200
    assert obj.pk in {o.pk for o in response.context["cl"].result_list}

    searched = superuser_client.get(changelist, {"q": "x"})
    assert searched.status_code == 200

    detail = superuser_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]))
    assert detail.status_code == 200
    assert detail.context["original"].pk == obj.pk


def test_an_editable_model_offers_save_and_bulk_delete(superuser_client):
    # the control for the read-only test below: these markers do show where editing is allowed
    client_obj = ClientFactory()

    change = superuser_client.get(reverse("admin:workspaces_client_change", args=[client_obj.pk]))
    changelist = superuser_client.get(reverse("admin:workspaces_client_changelist"))

    assert 'name="_save"' in change.content.decode()
    assert "delete_selected" in changelist.content.decode()


@pytest.mark.parametrize(
    ("model", "key", "tampered"),
    [
        (AuditEvent, "auditevent", {"action": "tampered", "outcome": "denied"}),
        (AuditDeadLetter, "auditdeadletter", {"error": "tampered"}),
        (TimeEntry, "timeentry", {"description": "tampered", "duration_seconds": "60"}),
        (Timesheet, "timesheet", {"status": "approved"}),
        (BudgetAlert, "budgetalert", {"threshold": "100"}),
    ],
)
def test_read_only_models_cannot_be_added_changed_or_deleted_even_by_a_superuser(
    superuser_client, one_of_each, model, key, tampered
):
    obj = one_of_each[key]
    before = row(obj)
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    change_url = reverse(f"{name}_change", args=[obj.pk])
    delete_url = reverse(f"{name}_delete", args=[obj.pk])

    assert superuser_client.get(reverse(f"{name}_add")).status_code == 403
    assert superuser_client.post(reverse(f"{name}_add"), tampered).status_code == 403

    change = superuser_client.get(change_url)
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert superuser_client.post(change_url, tampered).status_code == 403

    assert superuser_client.get(delete_url).status_code == 403
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 403

    changelist = superuser_client.get(reverse(f"{name}_changelist"))
    assert changelist.status_code == 200
    # only read-only actions: the audit trail downloads as CSV, dead letters are replayed (stored)
    action_form = changelist.context["action_form"]
    offered = {name for name, _ in action_form.fields["action"].choices if name} if action_form else set()
    assert offered <= {"download_csv", "replay_selected"}
    assert "delete_selected" not in changelist.content.decode()
    bulk_delete = superuser_client.post(
        reverse(f"{name}_changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    # no action ran: the changelist again, or (where other actions exist) back to it with a message
    assert bulk_delete.status_code == (302 if action_form else 200)

    assert row(model.objects.get(pk=obj.pk)) == before


def test_an_admin_edit_of_a_client_is_audited(superuser_client, superuser):
    client_obj = ClientFactory(name="Initech", created_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    url = reverse("admin:workspaces_client_change", args=[client_obj.pk])
    data = form_data(superuser_client.get(url), "client_form")
    data["name"] = ["Initech Ltd"]

    response = superuser_client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == reverse("admin:workspaces_client_changelist")
    assert Client.objects.get(pk=client_obj.pk).name == "Initech Ltd"
    event = AuditEvent.objects.get(action="client.admin_change")
    assert event.channel == Channel.ADMIN
    assert event.actor == superuser
    assert event.workspace == client_obj.workspace
    assert (event.target_type, event.target_id) == ("workspaces.client", str(client_obj.pk))
    assert event.detail == {"fields": ["name"]}


def test_an_admin_edit_through_an_inline_is_audited(superuser_client, superuser):
    # given: a member, changed to manager through the workspace page's membership inline
    membership = MembershipFactory(role=Role.MEMBER)
    workspace = membership.workspace
    url = reverse("admin:workspaces_workspace_change", args=[workspace.pk])
    data = form_data(superuser_client.get(url), "workspace_form")
    assert data["memberships-0-id"] == [str(membership.pk)]
    data["memberships-0-role"] = [Role.MANAGER]

    response = superuser_client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER
    # a role change is exactly what the audit trail is for
    event = AuditEvent.objects.get(action="membership.admin_change")
    assert (event.channel, event.actor, event.workspace) == (Channel.ADMIN, superuser, workspace)
    assert event.target_id == str(membership.pk)
    assert event.detail == {"inline": True, "fields": ["role"]}


def test_an_admin_delete_through_an_inline_is_audited_with_its_target(superuser_client, superuser):
    # given: a project with one task, deleted through the project page's task inline
    task = TaskFactory(name="Discovery")
    project = task.project
    url = reverse("admin:workspaces_project_change", args=[project.pk])
    data = form_data(superuser_client.get(url), "project_form")
    assert data["tasks-0-id"] == [str(task.pk)]
    data["tasks-0-DELETE"] = ["on"]

    response = superuser_client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert not project.tasks.exists()
    event = AuditEvent.objects.get(action="task.admin_delete")
    assert (event.channel, event.actor, event.workspace) == (Channel.ADMIN, superuser, project.workspace)
    # the audit row must say which task went, even though the row itself is gone
    assert (event.target_type, event.target_id, event.target_repr) == ("workspaces.task", str(task.pk), "Discovery")
