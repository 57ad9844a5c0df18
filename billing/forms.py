"""Web forms of billing: reports' periods, invoices, expenses. They parse what the browser sends;
the reports, selectors and services decide."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from billing.models import InvoiceStatus
from billing.reports import GROUPS, TIME_GROUPS
from timesheets.forms import MemberChoiceField
from timesheets.selectors import week_start_for
from workspaces.models import Client, Membership, Project, Workspace
from workspaces.principals import Principal
from workspaces.selectors import client_list, member_list, project_list

DATE = forms.DateInput(attrs={"type": "date"})
HOURS_GROUPS = [(name, name.capitalize()) for name in (*GROUPS, *TIME_GROUPS)]
PROFIT_GROUPS = [("project", "Project"), ("client", "Client")]


def workspace_today(workspace: Workspace) -> date:
    return timezone.localdate(timezone=workspace.tzinfo)


def month_of(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class QuickPeriod:
    label: str
    date_from: date
    date_to: date


def quick_periods(workspace: Workspace) -> list[QuickPeriod]:
    """The period picker's shortcuts, cut in the workspace's time zone and week."""
    today = workspace_today(workspace)
    week = week_start_for(workspace, today)
    last_month = month_of(today.replace(day=1) - timedelta(days=1))
    return [
        QuickPeriod("This week", week, week + timedelta(days=6)),
        QuickPeriod("This month", *month_of(today)),
        QuickPeriod("Last month", *last_month),
    ]


def with_defaults(query: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A GET form's data: what the query gives, the defaults for what it leaves out or blank."""
    data = {name: str(value) for name, value in defaults.items()}
    data.update({name: value for name, value in query.items() if value != ""})
    return data


class PrincipalForm(forms.Form):
    """A form whose choices are what the principal may pick, scoped to its workspace."""

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal


# --- reports -------------------------------------------------------------------------------------


class ReportForm(forms.Form):
    """A report's parameters, read from the query string; what it leaves out has a default."""

    @classmethod
    def defaults(cls, workspace: Workspace) -> dict[str, Any]:
        return {}


class PeriodForm(ReportForm):
    """From and to, both days included, in the workspace's time zone (default: this month)."""

    date_from = forms.DateField(label="From", widget=DATE)
    date_to = forms.DateField(label="To", widget=DATE)

    @classmethod
    def defaults(cls, workspace: Workspace) -> dict[str, Any]:
        first, last = month_of(workspace_today(workspace))
        return {"date_from": first, "date_to": last}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "Must be on or after the first day.")
        return data


class HoursForm(PeriodForm):
    group_by = forms.ChoiceField(label="Group by", choices=HOURS_GROUPS)

    @classmethod
    def defaults(cls, workspace: Workspace) -> dict[str, Any]:
        return {**super().defaults(workspace), "group_by": "project"}


class ProfitForm(PeriodForm):
    group_by = forms.ChoiceField(label="Group by", choices=PROFIT_GROUPS)

    @classmethod
    def defaults(cls, workspace: Workspace) -> dict[str, Any]:
        return {**super().defaults(workspace), "group_by": "project"}


class AsOfForm(ReportForm):
    """Count up to this day (default: today)."""

    as_of = forms.DateField(label="As of", widget=DATE)

    @classmethod
    def defaults(cls, workspace: Workspace) -> dict[str, Any]:
        return {"as_of": workspace_today(workspace)}


# --- invoices ------------------------------------------------------------------------------------

TAX_RATE = {
    "label": "Tax rate (%)",
    "max_digits": 5,
    "decimal_places": 2,
    "widget": forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}),
}


class InvoiceFilterForm(PrincipalForm):
    status = forms.ChoiceField(choices=[("", "Any status"), *InvoiceStatus.choices], required=False)
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False, empty_label="All clients")

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.fields["client"].queryset = client_list(actor=principal, include_archived=True).order_by("name")  # type: ignore[attr-defined]


class InvoiceBuildForm(PrincipalForm):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), empty_label="Choose a client…")
    period_start = forms.DateField(label="From", widget=DATE)
    period_end = forms.DateField(label="To", widget=DATE)
    tax_rate = forms.DecimalField(initial=Decimal("0"), **TAX_RATE)  # type: ignore[arg-type]

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.fields["client"].queryset = client_list(actor=principal, include_archived=True).order_by("name")  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, workspace: Workspace, query: Mapping[str, Any]) -> dict[str, Any]:
        """Last month by default. The unbilled report's link names a client and an end day; the
        period then starts a month before that day's month, so last month's work is on it."""
        initial: dict[str, Any] = {"tax_rate": Decimal("0"), "client": query.get("client") or None}
        try:
            end = date.fromisoformat(str(query.get("period_end", "")))
        except ValueError:
            last_month = workspace_today(workspace).replace(day=1) - timedelta(days=1)
            initial["period_start"], initial["period_end"] = month_of(last_month)
        else:
            initial["period_start"] = (end.replace(day=1) - timedelta(days=1)).replace(day=1)
            initial["period_end"] = end
        return initial


class InvoiceTaxForm(forms.Form):
    tax_rate = forms.DecimalField(**TAX_RATE)  # type: ignore[arg-type]


class InvoiceLineForm(forms.Form):
    """A manual line on a draft; a discount is a negative unit price."""

    description = forms.CharField(max_length=300)
    quantity = forms.DecimalField(max_digits=12, decimal_places=2, initial=Decimal("1"))
    unit_price = forms.DecimalField(label="Unit price", max_digits=12, decimal_places=2)


class InvoiceVoidForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        help_text="Kept in the audit log; the invoice keeps its number and its work can be invoiced again.",
    )


# --- expenses ------------------------------------------------------------------------------------


class ExpenseFilterForm(PrincipalForm):
    """The expenses list's filters; the member filter only for those who see everyone's."""

    date_from = forms.DateField(label="From", required=False, widget=DATE)
    date_to = forms.DateField(label="To", required=False, widget=DATE)
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, empty_label="All projects")
    member = MemberChoiceField(queryset=Membership.objects.none(), required=False, empty_label="Everyone")

    def __init__(self, *args: Any, principal: Principal, sees_everyone: bool, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.fields["project"].queryset = project_list(actor=principal, include_archived=True).order_by("name")  # type: ignore[attr-defined]
        if sees_everyone:
            self.fields["member"].queryset = member_list(actor=principal, include_inactive=True)  # type: ignore[attr-defined]
        else:
            del self.fields["member"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "Must be on or after the first day.")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as :func:`billing.selectors.expense_list` takes them."""
        data = self.cleaned_data
        filters = {name: data[name] for name in ("date_from", "date_to") if data.get(name)}
        for name in ("project", "member"):
            if data.get(name):
                filters[f"{name}_id"] = data[name].pk
        return filters


class ExpenseForm(PrincipalForm):
    """Create (with ``member`` for managers) or edit an expense; the receipt is checked by the service."""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label="Choose a project…")
    date = forms.DateField(widget=DATE)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01"}))
    category = forms.CharField(max_length=60, widget=forms.TextInput(attrs={"placeholder": "Travel, Software…"}))
    billable = forms.BooleanField(required=False, initial=True, label="Billable to the client")
    description = forms.CharField(max_length=300, required=False)
    receipt = forms.FileField(required=False, help_text="PDF, PNG or JPEG, at most 10 MB.")
    member = MemberChoiceField(queryset=Membership.objects.none(), required=False, empty_label="Myself")

    UPDATABLE = ("project", "date", "amount", "category", "billable", "description")

    def __init__(self, *args: Any, principal: Principal, for_others: bool, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        # New costs go on active projects only; an edit may keep an archived one.
        self.fields["project"].queryset = project_list(actor=principal, include_archived=not creating).order_by("name")  # type: ignore[attr-defined]
        if creating and for_others:
            self.fields["member"].queryset = member_list(actor=principal)  # type: ignore[attr-defined]
        else:
            del self.fields["member"]
        if not creating:
            self.fields[
                "receipt"
            ].help_text = "Leave empty to keep the current receipt. PDF, PNG or JPEG, at most 10 MB."

    def create_arguments(self) -> dict[str, Any]:
        """Keyword arguments for :func:`billing.expense_services.expense_create`."""
        data = self.cleaned_data
        arguments = {name: data[name] for name in self.UPDATABLE}
        arguments["receipt"] = data.get("receipt") or None
        if data.get("member"):
            arguments["member"] = data["member"]
        return arguments

    def update_data(self) -> dict[str, Any]:
        """The allow-listed changes for :func:`billing.expense_services.expense_update`."""
        data = {name: self.cleaned_data[name] for name in self.UPDATABLE}
        if self.cleaned_data.get("receipt"):
            data["receipt"] = self.cleaned_data["receipt"]
        return data
