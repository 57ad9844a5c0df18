"""Web forms of the workspace pages: projects, tasks, clients and settings.

They parse what the browser sends into what a service takes; the services and policies decide.
Choices come from selectors, so a form never offers another workspace's rows.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from workspaces import policies
from workspaces.errors import DomainError
from workspaces.models import (
    AgentBillablePolicy,
    AgentNonBillablePolicy,
    BudgetPeriod,
    Client,
    Membership,
    OverlapPolicy,
    Project,
    Role,
    Task,
    Workspace,
)
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import client_list, member_list, project_list

DATE = forms.DateInput(attrs={"type": "date"})
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def rate_field(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label, max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, help_text=help_text
    )


class BillableSelect(forms.NullBooleanSelect):
    """Billable, not billable, or inherit (empty), labelled for what is inherited."""

    def __init__(self, default_label: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", default_label), ("true", "Billable"), ("false", "Not billable")]


def billable_field(default_label: str, label: str = "Billable") -> forms.NullBooleanField:
    """Yes, no, or empty for "inherit" (the project's or the workspace's default)."""
    return forms.NullBooleanField(label=label, required=False, widget=BillableSelect(default_label))


class PrincipalForm(forms.Form):
    """A form whose choices are what the principal may pick, scoped to its workspace."""

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal


class MemberMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.user.get_full_name() or obj.user.get_username())


def inline(form: forms.Form, form_id: str) -> forms.Form:
    """Tie a form's inputs to ``<form id=form_id>`` so they can sit in table cells (HTML ``form=``)."""
    for field in form.fields.values():
        field.widget.attrs["form"] = form_id
        field.help_text = ""  # the table's headings say it
    return form


# --- lists ---------------------------------------------------------------------------------------


class ListQueryForm(forms.Form):
    """A list's search box and "show archived" toggle (both optional)."""

    q = forms.CharField(
        label="Search", required=False, max_length=200, widget=forms.TextInput(attrs={"type": "search"})
    )
    archived = forms.BooleanField(label="Show archived", required=False)


class ClientListQuery(ListQueryForm):
    def clients(self, principal: Principal) -> QuerySet[Client]:
        if not self.is_valid():
            return client_list(actor=principal).none()
        return client_list(
            actor=principal, include_archived=self.cleaned_data["archived"], search=self.cleaned_data["q"]
        ).order_by("name", "pk")


class ProjectListQuery(ListQueryForm, PrincipalForm):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False, empty_label="All clients")

    field_order = ("q", "client", "archived")

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.fields["client"].queryset = client_list(actor=principal, include_archived=True).order_by("name")  # type: ignore[attr-defined]
        self.fields["q"].widget.attrs["placeholder"] = "Name or code"

    def projects(self) -> QuerySet[Project]:
        """The projects the caller may see, narrowed by the query (name or code, client, archived)."""
        if not self.is_valid():
            return project_list(actor=self.principal).none()
        data = self.cleaned_data
        projects = project_list(actor=self.principal, include_archived=data["archived"], client=data["client"])
        if data["q"].strip():
            text = data["q"].strip()
            projects = projects.filter(Q(name__icontains=text) | Q(code__icontains=text))
        return projects.order_by("name", "pk")


# --- clients -------------------------------------------------------------------------------------


class ClientForm(forms.Form):
    """A client; its contact fields only for those who may see (and so set) contact data."""

    name = forms.CharField(max_length=200)
    contact_email = forms.EmailField(label="Contact email", required=False)
    contact_phone = forms.CharField(label="Contact phone", max_length=50, required=False)
    vat_id = forms.CharField(label="VAT id", max_length=50, required=False)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    CONTACT = ("contact_email", "contact_phone", "vat_id", "address")

    def __init__(self, *args: Any, sensitive: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not sensitive:
            for name in self.CONTACT:
                del self.fields[name]

    @classmethod
    def initial_for(cls, client: Client) -> dict[str, Any]:
        return {name: getattr(client, name) for name in ("name", *cls.CONTACT)}

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for ``client_create`` and the ``data`` of ``client_update``."""
        return dict(self.cleaned_data)


# --- projects and tasks --------------------------------------------------------------------------


class ThresholdsField(forms.CharField):
    """Alert thresholds typed as "80, 100"; the service checks their range."""

    def to_python(self, value: Any) -> list[int] | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        parts = [p for p in re.split(r"[,\s;]+", text) if p]
        try:
            return [int(p.rstrip("%")) for p in parts]
        except ValueError:
            raise forms.ValidationError("Whole percentages separated by commas, e.g. 80, 100.") from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value


class ProjectForm(PrincipalForm):
    """A project: name, client, code, colour, billable default and rate (admins), budget, team."""

    name = forms.CharField(max_length=200)
    code = forms.CharField(max_length=30, required=False, help_text="A short reference, e.g. ACME-WEB.")
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="No client (internal project)"
    )
    color = forms.CharField(
        label="Colour", max_length=7, initial="#4f6bed", widget=forms.TextInput(attrs={"type": "color"})
    )
    billable_by_default = billable_field("Workspace default", label="New time is")
    billable_rate = rate_field("Billable rate per hour", "Empty: the member's rate, then the workspace default.")
    budget_hours = forms.DecimalField(
        label="Budget (hours)", max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False
    )
    budget_amount = forms.DecimalField(
        label="Budget (money)", max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )
    budget_period = forms.ChoiceField(label="Budget period", choices=BudgetPeriod.choices, initial=BudgetPeriod.TOTAL)
    alert_thresholds = ThresholdsField(
        label="Alert at (% of budget)", required=False, initial="80, 100", help_text="E.g. 80, 100. Empty: 80, 100."
    )
    team = MemberMultipleChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members see and log time on the projects they are on.",
    )

    FIELDS = (
        "name",
        "code",
        "client",
        "color",
        "billable_by_default",
        "billable_rate",
        "budget_hours",
        "budget_amount",
        "budget_period",
        "alert_thresholds",
    )

    def __init__(self, *args: Any, principal: Principal, project: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        # Active clients, and the project's own one even if it was archived since.
        clients = client_list(actor=principal, include_archived=True).filter(
            Q(is_archived=False) | Q(pk=project.client_id if project else None)
        )
        self.fields["client"].queryset = clients.order_by("name")  # type: ignore[attr-defined]
        self.fields["team"].queryset = member_list(actor=principal).order_by("user__username")  # type: ignore[attr-defined]
        if not policies.can(principal, Perm.RATE_MANAGE):
            del self.fields["billable_rate"]  # as the REST input: only admins set rates

    @classmethod
    def initial_for(cls, project: Project) -> dict[str, Any]:
        initial = {name: getattr(project, name) for name in cls.FIELDS}
        initial["client"] = project.client_id
        initial["team"] = [m.pk for m in project.team.all()]
        return initial

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for ``project_create`` and the ``data`` of ``project_update``."""
        data = dict(self.cleaned_data)
        if data.get("alert_thresholds") is None:
            data["alert_thresholds"] = [80, 100]
        return data


class TaskForm(PrincipalForm):
    """A task of a project: name, billable override, rate override (admins)."""

    name = forms.CharField(max_length=200)
    billable = billable_field("Project default")
    billable_rate = rate_field("Rate override per hour", "Empty: the project's rate.")

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        if not policies.can(principal, Perm.RATE_MANAGE):
            del self.fields["billable_rate"]

    @classmethod
    def initial_for(cls, task: Task) -> dict[str, Any]:
        return {"name": task.name, "billable": task.billable, "billable_rate": task.billable_rate}

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# --- settings ------------------------------------------------------------------------------------


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class WorkspaceForm(forms.Form):
    """The settings ``workspace_update`` allows, rates aside (they have their own page)."""

    name = forms.CharField(max_length=200)
    timezone = forms.ChoiceField(label="Time zone", help_text="Days, weeks and months are cut in this zone.")
    currency = forms.CharField(
        max_length=3,
        min_length=3,
        help_text="Three-letter ISO 4217 code, e.g. EUR.",
        widget=forms.TextInput(attrs={"size": 3}),
    )
    week_start = forms.TypedChoiceField(label="Weeks start on", choices=WEEKDAYS, coerce=int)
    default_billable = forms.BooleanField(
        label="New time is billable unless the project says otherwise", required=False
    )
    overlap_policy = forms.ChoiceField(label="Overlapping entries", choices=OverlapPolicy.choices)
    agent_nonbillable_policy = forms.ChoiceField(
        label="Non-billable time logged by AI agents",
        choices=AgentNonBillablePolicy.choices,
        help_text="A connection may be stricter, never looser.",
    )
    agent_billable_policy = forms.ChoiceField(
        label="Billable time logged by AI agents",
        choices=AgentBillablePolicy.choices,
        help_text="Never saved directly: a person confirms every billable entry an agent proposes.",
    )
    api_enabled = forms.BooleanField(label="Connections may use the REST API", required=False)
    mcp_enabled = forms.BooleanField(label="AI agents may use the MCP endpoint", required=False)
    audit_retention_days = forms.IntegerField(
        label="Keep audit events (days)", min_value=30, max_value=3650, help_text="30 to 3650 days."
    )

    FIELDS = (
        "name",
        "timezone",
        "currency",
        "week_start",
        "default_billable",
        "overlap_policy",
        "agent_nonbillable_policy",
        "agent_billable_policy",
        "api_enabled",
        "mcp_enabled",
        "audit_retention_days",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, workspace: Workspace) -> dict[str, Any]:
        return {name: getattr(workspace, name) for name in cls.FIELDS}

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class LockDateForm(forms.Form):
    lock_date = forms.DateField(
        label="Lock entries on or before",
        required=False,
        widget=DATE,
        help_text="Nobody can log, change or delete time on or before this day. Empty lifts the lock.",
    )


class DefaultRateForm(forms.Form):
    default_billable_rate = rate_field(
        "Default billable rate per hour", "Used when neither task, project nor member has a rate."
    )


def grantable_roles(principal: Principal) -> list[tuple[str, str]]:
    """The roles this principal may give a member, as the policy answers (only owners grant owner)."""
    choices = []
    for value, label in Role.choices:
        try:
            policies.ensure_role_change(principal, Membership(role=Role.MEMBER), value)
        except DomainError:
            continue
        choices.append((value, label))
    return choices


def role_field(principal: Principal) -> forms.ChoiceField:
    """Every role is accepted, so the service's policy answers a refused one with its own message;
    the menu offers only the roles the principal may grant."""
    field = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    field.widget.choices = grantable_roles(principal)
    return field


class MemberInviteForm(PrincipalForm):
    email = forms.EmailField(help_text="A new address gets a login and an email with a link to set a password.")
    role = forms.ChoiceField()

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.fields["role"] = role_field(principal)


class MemberRatesForm(PrincipalForm):
    """A member's billable rate, and cost rate for those who may see cost."""

    billable_rate = rate_field("Billable rate", "Used where neither the task nor the project has a rate.")
    cost_rate = rate_field("Cost rate", "Sensitive: what this person costs per hour.")

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        if not policies.can_view_sensitive(principal):
            del self.fields["cost_rate"]

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields if not self.fields[name].disabled}


class MemberForm(MemberRatesForm):
    """Role, weekly capacity and rates of one member (the REST PATCH of a member)."""

    role = forms.ChoiceField()
    weekly_capacity_hours = forms.DecimalField(
        label="Weekly capacity (hours)",
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="The hours utilization is measured against.",
    )

    field_order = ("role", "weekly_capacity_hours", "billable_rate", "cost_rate")

    def __init__(self, *args: Any, principal: Principal, member: Membership, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        role = role_field(principal)
        try:
            policies.ensure_role_change(principal, member, member.role)
        except DomainError:
            role.disabled = True  # e.g. an admin looking at an owner: only owners touch the owner role
            role.widget.choices = Role.choices
            role.help_text = "Only an owner can change an owner's role."
        self.fields["role"] = role
        self.order_fields(self.field_order)

    @classmethod
    def initial_for(cls, member: Membership) -> dict[str, Any]:
        return {
            "role": member.role,
            "weekly_capacity_hours": member.weekly_capacity_hours,
            "billable_rate": member.billable_rate,
            "cost_rate": member.cost_rate,
        }


class ProjectRateForm(forms.Form):
    billable_rate = rate_field("Billable rate", "Empty: the member's rate, then the workspace default.")
