"""Queries compiled once per shape (timetracker.compiled): new values bound on every call, one
compile per key, a key that no longer determines the SQL refused, values converted as Django does;
and the reports built on it keep workspaces, members and time zones apart."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import DateTimeField, QuerySet, Sum
from django.db.models.functions import JSONObject, TruncDate
from django.db.transaction import TransactionManagementError

from billing.reports import hours_summary, utilization
from billing.selectors import budget_health
from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, WorkspaceFactory, finished_entry
from timesheets.models import TimeEntry
from timetracker import compiled
from timetracker.compiled import ID, Param, StaleTemplate, values_rows
from workspaces.models import Membership, Project, Role

pytestmark = pytest.mark.django_db


def seconds_by_project(workspace_id: Any) -> QuerySet[Any]:
    return (
        TimeEntry.objects.filter(workspace_id=workspace_id)
        .values("project_id")
        .annotate(seconds=Sum("duration_seconds"))
        .order_by("project_id")
    )


def test_one_compile_per_key_and_each_call_binds_its_own_values(settings):
    settings.COMPILED_QUERIES_CHECK = False
    first, second = MembershipFactory(), MembershipFactory()
    p1 = ProjectFactory(workspace=first.workspace)
    p2 = ProjectFactory(workspace=second.workspace)
    finished_entry(first, p1, datetime(2026, 3, 2, 9, tzinfo=UTC), 3600)
    finished_entry(second, p2, datetime(2026, 3, 2, 9, tzinfo=UTC), 1800)
    finished_entry(second, p2, datetime(2026, 3, 3, 9, tzinfo=UTC), 60)
    builds = []

    def build() -> QuerySet[Any]:
        builds.append(1)
        return seconds_by_project(Param("workspace_id", ID))

    key = ("test seconds by project", object())  # a key no other test shares
    assert values_rows(key, build, {"workspace_id": first.workspace_id}) == [{"project_id": p1.pk, "seconds": 3600}]
    assert values_rows(key, build, {"workspace_id": second.workspace_id}) == [{"project_id": p2.pk, "seconds": 1860}]
    assert values_rows(key, build, {"workspace_id": -1}) == []
    assert len(builds) == 1


@pytest.mark.parametrize("check", [True, False])
def test_a_key_that_no_longer_determines_the_sql_is_refused_under_the_check(settings, check):
    settings.COMPILED_QUERIES_CHECK = check
    member = MembershipFactory()
    finished_entry(member, ProjectFactory(workspace=member.workspace), datetime(2026, 3, 2, 9, tzinfo=UTC), 3600)
    values = {"workspace_id": member.workspace_id}
    key = ("test a key missing a filter", object())
    assert values_rows(key, lambda: seconds_by_project(Param("workspace_id", ID)), values)[0]["seconds"] == 3600

    def with_a_filter_the_key_does_not_name() -> QuerySet[Any]:
        return seconds_by_project(Param("workspace_id", ID)).filter(duration_seconds__gt=7200)

    if check:
        with pytest.raises(StaleTemplate, match="test a key missing a filter"):
            values_rows(key, with_a_filter_the_key_does_not_name, values)
    else:  # what the check is there for: the cached SQL runs, without the filter
        assert values_rows(key, with_a_filter_the_key_does_not_name, values)[0]["seconds"] == 3600


def test_a_fixed_parameter_left_out_of_the_key_is_refused_too(settings):
    settings.COMPILED_QUERIES_CHECK = True
    member = MembershipFactory()
    key = ("test a fixed parameter", object())

    def longer_than(seconds: int) -> Any:
        return lambda: seconds_by_project(Param("workspace_id", ID)).filter(duration_seconds__gt=seconds)

    values_rows(key, longer_than(60), {"workspace_id": member.workspace_id})
    with pytest.raises(StaleTemplate):
        values_rows(key, longer_than(120), {"workspace_id": member.workspace_id})


def test_values_come_back_converted_as_django_reads_them():
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    finished_entry(member, project, datetime(2026, 3, 2, 23, 30, tzinfo=UTC), 600)  # 3 March in Berlin

    def build() -> QuerySet[Any]:
        return (
            TimeEntry.objects.filter(
                workspace_id=Param("workspace_id", ID), started_at__gte=Param("since", DateTimeField())
            )
            .annotate(day=TruncDate("started_at", tzinfo=member.workspace.tzinfo))
            .values("day")
            .annotate(sums=JSONObject(seconds=Sum("duration_seconds")))
        )

    found = values_rows(
        ("test converters", object()),
        build,
        {"workspace_id": member.workspace_id, "since": datetime(2026, 3, 1, tzinfo=UTC)},
    )
    assert found == [{"day": date(2026, 3, 3), "sums": {"seconds": 600}}]


def test_converters_are_looked_up_once_per_template_and_still_convert_every_call(settings, monkeypatch):
    settings.COMPILED_QUERIES_CHECK = False
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    finished_entry(member, project, datetime(2026, 3, 2, 9, tzinfo=UTC), 600)
    finished_entry(member, project, datetime(2026, 3, 3, 9, tzinfo=UTC), 60)
    lookups = []
    looked_up = JSONObject.get_db_converters

    def counting(self: Any, connection: Any) -> Any:
        lookups.append(1)
        return looked_up(self, connection)

    monkeypatch.setattr(JSONObject, "get_db_converters", counting)

    def build() -> QuerySet[Any]:
        return (
            TimeEntry.objects.filter(
                workspace_id=Param("workspace_id", ID), started_at__lt=Param("before", DateTimeField())
            )
            .values("workspace_id")
            .annotate(sums=JSONObject(seconds=Sum("duration_seconds")))
        )

    key = ("test converters once", object())
    first = values_rows(key, build, {"workspace_id": member.workspace_id, "before": datetime(2026, 3, 3, tzinfo=UTC)})
    second = values_rows(key, build, {"workspace_id": member.workspace_id, "before": datetime(2026, 4, 1, tzinfo=UTC)})
    assert first == [{"workspace_id": member.workspace_id, "sums": {"seconds": 600}}]  # JSON read into a dict
    assert second == [{"workspace_id": member.workspace_id, "sums": {"seconds": 660}}]
    assert len(lookups) == 1


def test_reports_keep_workspaces_time_zones_and_members_apart(settings):
    settings.COMPILED_QUERIES_CHECK = False  # the keys alone must keep them apart
    compiled._templates.clear()
    berlin = WorkspaceFactory(timezone="Europe/Berlin")
    tokyo = WorkspaceFactory(timezone="Asia/Tokyo")
    results: dict[str, dict[str, Any]] = {}
    for workspace in (berlin, tokyo):
        manager = MembershipFactory(workspace=workspace, role=Role.MANAGER)
        member = MembershipFactory(workspace=workspace)
        project = ProjectFactory(workspace=workspace, team=[member], budget_hours=Decimal("10"))
        # 20:00 UTC on 2 March: still the 2nd in Berlin, already the 3rd in Tokyo.
        finished_entry(member, project, datetime(2026, 3, 2, 20, tzinfo=UTC), 3600)
        finished_entry(manager, project, datetime(2026, 3, 4, 9, tzinfo=UTC), 7200)
        period: dict[str, Any] = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}
        as_member, as_manager = principal_for(member), principal_for(manager)
        results[workspace.timezone] = {
            "days": [(r.key, r.seconds) for r in hours_summary(actor=as_manager, group_by="day", **period).rows],
            "member sees": [r.seconds for r in hours_summary(actor=as_member, **period).rows],
            "manager sees": [r.seconds for r in hours_summary(actor=as_manager, **period).rows],
            "member utilization": [r.member_id for r in utilization(actor=as_member, **period)],
            "manager utilization": sorted(r.member_id for r in utilization(actor=as_manager, **period)),
            "budget": [(b.project_id, b.used_hours) for b in budget_health(actor=as_member, as_of=date(2026, 3, 31))],
            "ids": (member.pk, manager.pk, project.pk),
        }
    for zone, first_day in (("Europe/Berlin", date(2026, 3, 2)), ("Asia/Tokyo", date(2026, 3, 3))):
        found = results[zone]
        member_id, manager_id, project_id = found["ids"]
        assert found["days"] == [(first_day, 3600), (date(2026, 3, 4), 7200)]
        assert found["member sees"] == [3600]
        assert found["manager sees"] == [10800]
        assert found["member utilization"] == [member_id]
        assert found["manager utilization"] == sorted([member_id, manager_id])
        assert found["budget"] == [(project_id, Decimal("3.00"))]


def members_with_workspace_and_user() -> QuerySet[Any]:
    return Membership.objects.select_related("workspace", "user").filter(workspace_id=Param("workspace_id", ID))


def test_instances_are_built_as_django_builds_them(django_assert_num_queries):
    first, second = MembershipFactory(role=Role.MANAGER), MembershipFactory()
    key = ("test instances", object())
    for member in (first, second):
        with django_assert_num_queries(1):
            (found,) = compiled.instances(key, members_with_workspace_and_user, {"workspace_id": member.workspace_id})
            # select_related: the workspace and user came with the row
            assert (found.workspace.slug, found.user.username) == (member.workspace.slug, member.user.username)
        expected = Membership.objects.get(pk=member.pk)
        assert type(found) is Membership
        assert {f.attname: getattr(found, f.attname) for f in Membership._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in Membership._meta.concrete_fields
        }
        assert (found._state.adding, found._state.db) == (False, "default")
        found.save(update_fields=["role"])  # a saved instance, as Django's own


def test_a_null_related_row_comes_back_none():
    project = ProjectFactory(client=None)

    def build() -> QuerySet[Any]:
        return Project.objects.select_related("client").filter(pk=Param("project_id", ID))

    (found,) = compiled.instances(("test null client", object()), build, {"project_id": project.pk})
    assert (found.pk, found.client) == (project.pk, None)


def test_instances_takes_model_rows_only():
    with pytest.raises(TypeError, match="plain model rows"):
        compiled.instances(("test values", object()), lambda: seconds_by_project(Param("workspace_id", ID)), {})


@pytest.mark.django_db(transaction=True)
def test_a_compiled_select_for_update_is_refused_outside_a_transaction(settings):
    settings.COMPILED_QUERIES_CHECK = False
    member = MembershipFactory()
    key = ("test for update", object())

    def build() -> QuerySet[Any]:
        return Membership.objects.select_for_update().filter(pk=Param("member_id", ID))

    with transaction.atomic():
        assert [m.pk for m in compiled.instances(key, build, {"member_id": member.pk})] == [member.pk]
    with pytest.raises(TransactionManagementError):  # compiled already: the check is the template's own
        compiled.instances(key, build, {"member_id": member.pk})
