"""timetracker.rendering: output serializers rendered exactly as DRF's ``.data`` renders them, for
every way DRF reads a value (keys, attributes, callables, missing ones) and every field it knows;
anything it cannot render itself goes to DRF, with the context; the reports' outputs stay on the
fast path and give the same JSON as before on real report data."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from rest_framework import serializers

from billing.reports import hours_summary, profitability, utilization
from billing.rest_reports import (
    BudgetHealthListOutput,
    HoursSummaryOutput,
    ProfitabilityOutput,
    UnbilledOutput,
    UtilizationOutput,
)
from billing.selectors import budget_health
from billing.unbilled import unbilled
from tests.factories import ProjectFactory, TagFactory, finished_entry
from timesheets.models import EntryState
from timetracker.rendering import compiles, render
from workspaces.api_catalog import TagOutput

BERLIN = ZoneInfo("Europe/Berlin")


class Line(serializers.Serializer[Any]):
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    hours = serializers.DecimalField(max_digits=8, decimal_places=2)
    down = serializers.DecimalField(max_digits=8, decimal_places=1, rounding=ROUND_DOWN)
    share = serializers.FloatField(allow_null=True)


class Report(serializers.Serializer[Any]):
    title = serializers.CharField(source="name")
    day = serializers.DateField()
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=[("a", "A"), ("b", "B")])
    open = serializers.BooleanField()
    count = serializers.IntegerField()
    marks = serializers.ListField(child=serializers.IntegerField())
    extra = serializers.JSONField()
    lines = Line(many=True)
    best = Line(allow_null=True)


@dataclass
class LineRow:
    label: str
    hours: Any
    down: Any
    share: float | None


def report_row(**changes: Any) -> dict[str, Any]:
    row = {
        "name": "March",
        "day": date(2026, 3, 29),
        "at": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        "kind": "b",
        "open": True,
        "count": 7,
        "marks": [3, 1, 2],
        "extra": {"k": [1, "é"]},
        "lines": [
            {"label": "x", "hours": Decimal("1.005"), "down": Decimal("2.99"), "share": 0.5},
            LineRow("y", Decimal("-0.5"), Decimal("7"), None),
            {"label": "z", "hours": 3, "down": 1.25, "share": 1},  # not Decimals: DRF converts them
        ],
        "best": None,
    }
    return row | changes


def test_a_plain_report_renders_exactly_as_drf():
    row = report_row()
    assert compiles(Report)
    assert render(Report, row) == Report(row).data
    rendered = render(Report, row)
    assert rendered["lines"][0] == {"label": "x", "hours": "1.00", "down": "2.9", "share": 0.5}  # half-even, down
    assert rendered["lines"][1] == {"label": "y", "hours": "-0.50", "down": "7.0", "share": None}
    assert rendered["lines"][2]["hours"] == "3.00"
    assert (rendered["at"], rendered["day"], rendered["marks"]) == ("2026-03-29T01:30:00Z", "2026-03-29", [3, 1, 2])
    with_best = report_row(best=LineRow("b", Decimal("1"), Decimal("1"), 0.1), lines=[])
    assert render(Report, with_best) == Report(with_best).data
    rows = [report_row(), with_best]
    assert render(Report, rows, many=True) == Report(rows, many=True).data


def test_no_instance_renders_drfs_initial_values():
    assert render(Report, None) == Report(None).data
    assert render(Report, None)["lines"] == []
    assert render(Report, None, many=True) == Report(None, many=True).data == []


def test_date_times_follow_the_zone_active_when_rendering():
    row = report_row()
    with timezone.override(BERLIN):
        assert render(Report, row)["at"] == "2026-03-29T03:30:00+02:00" == Report(row).data["at"]


def test_objects_are_read_by_attribute_and_callables_are_called():
    class Named:
        day, at, kind, open, count, marks, extra, lines, best = (
            report_row()[k] for k in ("day", "at", "kind", "open", "count", "marks", "extra", "lines", "best")
        )

        def name(self) -> str:
            return "from a method"

    assert render(Report, Named())["title"] == "from a method" == Report(Named()).data["title"]
    called = report_row(name=lambda: "called")
    assert render(Report, called)["title"] == "called" == Report(called).data["title"]


def test_missing_values_follow_drf_rules():
    class Optional(serializers.Serializer[Any]):
        with_default = serializers.IntegerField(default=5)
        nullable = serializers.IntegerField(allow_null=True)
        optional = serializers.IntegerField(required=False)
        needed = serializers.IntegerField()

    assert render(Optional, {"needed": 1}) == {"with_default": 5, "nullable": None, "needed": 1}
    assert render(Optional, {"needed": 1}) == Optional({"needed": 1}).data
    with pytest.raises(KeyError):
        render(Optional, {})

    class Gone:
        needed = 2

        @property
        def nullable(self) -> int:
            raise ObjectDoesNotExist  # a missing related row: DRF shows None

    assert render(Optional, Gone()) == {"with_default": 5, "nullable": None, "needed": 2} == Optional(Gone()).data


def test_a_mapping_of_its_own_kind_is_indexed_as_drf_does():
    class Row(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            return "not what DRF reads"  # DRF indexes a mapping; it never calls get()

    row = Row(report_row())
    assert render(Report, row) == Report(row).data
    assert render(Report, row)["title"] == "March"


class Shown(serializers.Serializer[Any]):
    name = serializers.CharField()
    who = serializers.SerializerMethodField()

    def get_who(self, row: Any) -> str:
        return str(self.context["principal"])


class Redacting(serializers.Serializer[Any]):
    name = serializers.CharField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**super().to_representation(instance), "redacted": ["name"], "name": None}


class Upper(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value).upper()


class WithSubclass(serializers.Serializer[Any]):
    name = Upper()


class Whole(serializers.Serializer[Any]):
    name = serializers.CharField()
    copy = serializers.DictField(source="*")


class Nesting(serializers.Serializer[Any]):
    inner = Redacting()


@pytest.mark.parametrize(
    ("serializer", "expected"),
    [
        (Shown, {"name": "n", "who": "the caller"}),
        (Redacting, {"name": None, "redacted": ["name"]}),
        (WithSubclass, {"name": "N"}),
        (Whole, {"name": "n", "copy": {"name": "n", "inner": {"name": "n"}}}),
        (Nesting, {"inner": {"name": None, "redacted": ["name"]}}),
    ],
)
def test_what_it_cannot_render_itself_goes_to_drf_with_the_context(serializer, expected):
    row = {"name": "n", "inner": {"name": "n"}}
    assert not compiles(serializer)
    assert render(serializer, row, context={"principal": "the caller"}) == expected
    assert render(serializer, [row], many=True, context={"principal": "the caller"}) == [expected]


@pytest.mark.django_db
def test_a_manager_is_listed_as_drf_lists_it(workspace):
    TagFactory(workspace=workspace, name="b")
    TagFactory(workspace=workspace, name="a")
    assert compiles(TagOutput)
    assert render(TagOutput, workspace.tags, many=True) == TagOutput(workspace.tags, many=True).data
    assert [tag["name"] for tag in render(TagOutput, workspace.tags, many=True)] == ["a", "b"]


def test_the_reports_outputs_are_rendered_on_the_fast_path():
    for output in (HoursSummaryOutput, UtilizationOutput, BudgetHealthListOutput, UnbilledOutput, ProfitabilityOutput):
        assert compiles(output), output.__name__


@pytest.mark.django_db
def test_every_report_renders_as_drf_on_real_data(as_admin, as_manager, member, other_member, workspace):
    total = ProjectFactory(workspace=workspace, budget_hours=Decimal("10"), budget_amount=Decimal("2000.00"))
    monthly = ProjectFactory(workspace=workspace, budget_hours=Decimal("20"), budget_period="monthly", team=[member])
    for project, day, seconds, rate, state in [
        (total, date(2026, 5, 4), 14400, "100.00", EntryState.ACTIVE),
        (total, date(2026, 6, 1), 5400, "87.50", EntryState.ACTIVE),
        (monthly, date(2026, 6, 2), 10800, "120.00", EntryState.DRAFT),
        (monthly, date(2026, 6, 3), 3333, "99.99", EntryState.ACTIVE),
    ]:
        start = datetime(day.year, day.month, day.day, 9, tzinfo=BERLIN)
        finished_entry(member, project, start, seconds, billable=True, billable_rate=Decimal(rate), state=state)
    finished_entry(other_member, total, datetime(2026, 6, 1, 9, tzinfo=BERLIN), 1800, billable=False)
    june = {"date_from": date(2026, 5, 1), "date_to": date(2026, 6, 30)}
    outputs: list[tuple[type[serializers.Serializer[Any]], Any]] = [
        (UtilizationOutput, {"rows": utilization(actor=as_admin, **june)}),
        (BudgetHealthListOutput, {"rows": budget_health(actor=as_manager, as_of=date(2026, 6, 10))}),
        (UnbilledOutput, unbilled(actor=as_admin, as_of=date(2026, 6, 30))),
    ]
    outputs += [(HoursSummaryOutput, hours_summary(actor=as_admin, group_by=by, **june)) for by in ("project", "day")]
    outputs += [
        (ProfitabilityOutput, profitability(actor=who, group_by="project", **june)) for who in (as_admin, as_manager)
    ]
    for output, report in outputs:
        assert render(output, report) == output(report).data, output.__name__
    hours = render(HoursSummaryOutput, outputs[3][1])
    assert hours["total_seconds"] == 14400 + 5400 + 3333 + 1800
    assert len(render(BudgetHealthListOutput, outputs[1][1])["rows"]) == 2
