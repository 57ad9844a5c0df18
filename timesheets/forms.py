"""Web forms of time: they parse what the browser sends; the services decide."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet

from timesheets.durations import duration_seconds
from timesheets.models import EntryState
from workspaces.errors import Invalid
from workspaces.models import Client, Membership, Project, Task
from workspaces.principals import Principal
from workspaces.selectors import client_list, member_list, project_list, task_list

BILLABLE_CHOICES = [("", "Project default"), ("yes", "Billable"), ("no", "Not billable")]


class TaskChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.project.name} · {obj.name}"


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.user.get_full_name() or obj.user.get_username()


def billable_value(choice: str) -> bool | None:
    return {"yes": True, "no": False}.get(choice)


class PrincipalForm(forms.Form):
    """A form whose choices are what the principal may pick, scoped to its workspace."""

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal

    def limit(self, name: str, queryset: QuerySet[Any]) -> None:
        """Offer (and accept) only ``queryset`` in the choice field ``name``."""
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset


class TimerStartForm(PrincipalForm):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label="Choose a project…")
    task = TaskChoiceField(queryset=Task.objects.none(), required=False, empty_label="No task")
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.TextInput(attrs={"placeholder": "What are you working on?"})
    )
    billable = forms.ChoiceField(choices=BILLABLE_CHOICES, required=False)
    stop_running = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.limit("project", project_list(actor=principal).order_by("name"))
        active_tasks = task_list(actor=principal).filter(project__status="active")
        self.limit("task", active_tasks.order_by("project__name", "name"))


class EntryForm(PrincipalForm):
    """One finished entry: day, start and end (or a duration), project, task, description, billable."""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label="Choose a project…")
    task = TaskChoiceField(queryset=Task.objects.none(), required=False, empty_label="No task")
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    description = forms.CharField(required=False, max_length=2000)
    billable = forms.BooleanField(required=False)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        self.limit("project", project_list(actor=principal, include_archived=True).order_by("name"))
        self.limit("task", task_list(actor=principal, include_archived=True).order_by("project__name", "name"))


class EntryFilterForm(PrincipalForm):
    """The entries list's filters; every choice is limited to what the caller may see."""

    member = MemberChoiceField(queryset=Membership.objects.none(), required=False, empty_label="Everyone")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, empty_label="All projects")
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False, empty_label="All clients")
    billable = forms.ChoiceField(
        choices=[("", "Billable or not"), ("yes", "Billable"), ("no", "Not billable")], required=False
    )
    state = forms.ChoiceField(choices=[("", "Any state"), *EntryState.choices], required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, principal: Principal, sees_everyone: bool, **kwargs: Any) -> None:
        super().__init__(*args, principal=principal, **kwargs)
        # Members get the field too (hidden on the page): asking for someone else is then refused
        # by the selector with 403, as the API refuses ?member=, rather than silently ignored.
        self.limit("member", member_list(actor=principal, include_inactive=True))
        self.sees_everyone = sees_everyone
        self.limit("project", project_list(actor=principal, include_archived=True).order_by("name"))
        self.limit("client", client_list(actor=principal, include_archived=True).order_by("name"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", "Must be on or after the first day.")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as :func:`time_entry_list` takes them."""
        data = self.cleaned_data
        filters: dict[str, Any] = {
            name: data[name] for name in ("member", "project", "client", "date_from", "date_to") if data.get(name)
        }
        if data.get("billable"):
            filters["billable"] = data["billable"] == "yes"
        if data.get("state"):
            filters["state"] = data["state"]
        return filters


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What needs to change?"}),
        error_messages={"required": "A rejection needs a reason: say what needs to change."},
    )


def parse_duration_field(value: str, *, name: str) -> int:
    """A duration typed into a form field; an Invalid carries the field's name."""
    return duration_seconds(value, name=name)


def week_param(value: str | None, *, default: date) -> date:
    """``?week=YYYY-MM-DD``; anything unreadable means the default week."""
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        raise Invalid(f"Cannot read {value!r} as a date.", fields={"week": ["Use YYYY-MM-DD."]}) from None
