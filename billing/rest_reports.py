"""REST face of the reports: hours summary, utilization, budget health, unbilled, profitability.

Each is a GET with validated query parameters, answered as JSON or, with ``?format=csv|xlsx``,
as a streamed download of the same table the web offers. Dates are days in the workspace's
time zone (both ends included); money is a decimal string in the workspace's currency; hours
are decimal strings (seconds are given exactly alongside).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing import exports
from billing.reports import GROUPS, TIME_GROUPS, hours_summary, profitability, utilization
from billing.selectors import budget_health
from billing.unbilled import unbilled
from timetracker.rendering import render
from workspaces.api_base import WorkspaceAPIView
from workspaces.policies import Perm
from workspaces.selectors import project_get

FORMAT_PARAM = OpenApiParameter("format", str, enum=["json", "csv", "xlsx"], description="json (default), csv or xlsx")


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class PeriodQuery(serializers.Serializer[Any]):
    date_from = serializers.DateField(help_text="First day, in the workspace's time zone (YYYY-MM-DD)")
    date_to = serializers.DateField(help_text="Last day, included")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs


class HoursQuery(PeriodQuery):
    group_by = serializers.ChoiceField(choices=[*GROUPS, *TIME_GROUPS], default="project")


class ProfitQuery(PeriodQuery):
    group_by = serializers.ChoiceField(choices=["project", "client"], default="project")


class AsOfQuery(serializers.Serializer[Any]):
    as_of = serializers.DateField(required=False, help_text="Count up to this day (default: today)")


def _query(serializer: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    allowed = set(serializer().fields) | {"format"}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise serializers.ValidationError({name: ["Unknown query parameter."] for name in unknown})
    data = serializer(data=request.query_params.dict())
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


# --- hours summary --------------------------------------------------------------------------------


class HoursRowOutput(serializers.Serializer[Any]):
    key = serializers.CharField(allow_null=True, help_text="An id or a date, depending on group_by")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    seconds = serializers.IntegerField()
    billable_seconds = serializers.IntegerField()
    non_billable_seconds = serializers.IntegerField()
    hours = _money()


class HoursSummaryOutput(serializers.Serializer[Any]):
    group_by = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = HoursRowOutput(many=True)
    total_seconds = serializers.IntegerField()
    billable_seconds = serializers.IntegerField()
    non_billable_seconds = serializers.IntegerField()
    pending_review_seconds = serializers.IntegerField(help_text="Agent drafts, not counted above")


class HoursSummaryView(WorkspaceAPIView):
    """Finished time in a period grouped by member, project, client, task, tag, day, week or month."""

    perms = {"GET": Perm.TIME_VIEW_OWN}
    audit_name = "report.hours_summary"

    @extend_schema(parameters=[HoursQuery, FORMAT_PARAM], responses=HoursSummaryOutput)
    def get(self, request: Request, workspace_slug: str) -> Any:
        kind = self.download_format()
        report = hours_summary(actor=self.principal, **_query(HoursQuery, request))
        if kind:
            return self.download(kind, *exports.hours_summary_table(report), name="hours-summary")
        return Response(render(HoursSummaryOutput, report))


# --- utilization ----------------------------------------------------------------------------------


class UtilizationRowOutput(serializers.Serializer[Any]):
    member_id = serializers.IntegerField()
    username = serializers.CharField()
    billable_seconds = serializers.IntegerField()
    non_billable_seconds = serializers.IntegerField()
    capacity_hours = _money()
    utilization_percent = _money(allow_null=True, help_text="billable ÷ capacity; null without capacity")
    pending_review_seconds = serializers.IntegerField()


class UtilizationOutput(serializers.Serializer[Any]):
    rows = UtilizationRowOutput(many=True)


class UtilizationView(WorkspaceAPIView):
    """Per member: billable and non-billable time against capacity (members see themselves)."""

    perms = {"GET": Perm.TIME_VIEW_OWN}
    audit_name = "report.utilization"

    @extend_schema(parameters=[PeriodQuery, FORMAT_PARAM], responses=UtilizationOutput)
    def get(self, request: Request, workspace_slug: str) -> Any:
        kind = self.download_format()
        report = utilization(actor=self.principal, **_query(PeriodQuery, request))
        if kind:
            return self.download(kind, *exports.utilization_table(report), name="utilization")
        return Response(render(UtilizationOutput, {"rows": report}))


# --- budget health ---------------------------------------------------------------------------------


class BudgetHealthOutput(serializers.Serializer[Any]):
    project_id = serializers.IntegerField()
    project_name = serializers.CharField()
    period = serializers.ChoiceField(choices=["total", "monthly"])
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    budget_hours = _money(allow_null=True)
    used_hours = _money()
    remaining_hours = _money(allow_null=True)
    budget_amount = _money(allow_null=True)
    used_amount = _money()
    remaining_amount = _money(allow_null=True)
    percent = _money(help_text="The larger of hours and money burn, in %")
    forecast_hours = _money(allow_null=True)
    forecast_amount = _money(allow_null=True)
    forecast_percent = _money(allow_null=True)
    status = serializers.ChoiceField(choices=["ok", "warning", "over"])
    thresholds = serializers.ListField(child=serializers.IntegerField())
    pending_review_hours = _money()


class BudgetHealthListOutput(serializers.Serializer[Any]):
    rows = BudgetHealthOutput(many=True)


class BudgetHealthView(WorkspaceAPIView):
    """Budget burn of every visible active project with a budget, with forecast and status."""

    perms = {"GET": Perm.PROJECT_VIEW}
    audit_name = "report.budget_health"

    @extend_schema(parameters=[AsOfQuery, FORMAT_PARAM], responses=BudgetHealthListOutput)
    def get(self, request: Request, workspace_slug: str) -> Any:
        kind = self.download_format()
        report = budget_health(actor=self.principal, **_query(AsOfQuery, request))
        if kind:
            return self.download(kind, *exports.budget_health_table(report), name="budget-health")
        return Response(render(BudgetHealthListOutput, {"rows": report}))


class ProjectBudgetView(WorkspaceAPIView):
    """One project's budget burn; ``rows`` is empty for a project without a budget."""

    perms = {"GET": Perm.PROJECT_VIEW}
    audit_name = "project.budget"

    @extend_schema(parameters=[AsOfQuery], responses=BudgetHealthListOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        project = project_get(actor=self.principal, project_id=pk)
        report = budget_health(actor=self.principal, project=project, **_query(AsOfQuery, request))
        return Response(render(BudgetHealthListOutput, {"rows": report}))


# --- unbilled --------------------------------------------------------------------------------------


class UnbilledProjectOutput(serializers.Serializer[Any]):
    project_id = serializers.IntegerField()
    project_name = serializers.CharField()
    seconds = serializers.IntegerField()
    time_amount = _money()
    expense_amount = _money()
    amount = _money()


class UnbilledClientOutput(serializers.Serializer[Any]):
    client_id = serializers.IntegerField()
    client_name = serializers.CharField()
    projects = UnbilledProjectOutput(many=True)
    amount = _money()


class UnbilledOutput(serializers.Serializer[Any]):
    as_of = serializers.DateField()
    clients = UnbilledClientOutput(many=True)
    amount = _money()
    pending_review_seconds = serializers.IntegerField()


class UnbilledView(WorkspaceAPIView):
    """Approved, billable, not-yet-invoiced time and expenses per client and project, with amounts."""

    perms = {"GET": Perm.INVOICE_VIEW}
    audit_name = "report.unbilled"

    @extend_schema(parameters=[AsOfQuery, FORMAT_PARAM], responses=UnbilledOutput)
    def get(self, request: Request, workspace_slug: str) -> Any:
        kind = self.download_format()
        report = unbilled(actor=self.principal, **_query(AsOfQuery, request))
        if kind:
            return self.download(kind, *exports.unbilled_table(report), name="unbilled")
        return Response(render(UnbilledOutput, report))


# --- profitability ---------------------------------------------------------------------------------


class ProfitRowOutput(serializers.Serializer[Any]):
    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    seconds = serializers.IntegerField()
    revenue = _money()
    cost = _money(allow_null=True)
    margin = _money(allow_null=True)
    margin_percent = _money(allow_null=True)


class ProfitabilityOutput(serializers.Serializer[Any]):
    group_by = serializers.CharField()
    rows = ProfitRowOutput(many=True)
    revenue = _money()
    cost = _money(allow_null=True)
    margin = _money(allow_null=True)
    margin_percent = _money(allow_null=True)
    redacted = serializers.ListField(child=serializers.CharField(), help_text="Fields withheld (sensitive)")


class ProfitabilityView(WorkspaceAPIView):
    """Revenue, cost and margin per project or client; cost and margins need sensitive access."""

    perms = {"GET": Perm.TIME_VIEW_ALL}
    audit_name = "report.profitability"

    @extend_schema(parameters=[ProfitQuery, FORMAT_PARAM], responses=ProfitabilityOutput)
    def get(self, request: Request, workspace_slug: str) -> Any:
        kind = self.download_format()
        report = profitability(actor=self.principal, **_query(ProfitQuery, request))
        if kind:
            return self.download(kind, *exports.profitability_table(report), name="profitability")
        return Response(render(ProfitabilityOutput, report))
