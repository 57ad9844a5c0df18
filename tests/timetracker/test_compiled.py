"""Queries compiled once per shape (timetracker.compiled): new values bound on every call, one
compile per key, a key that no longer determines the SQL refused, values converted as Django does;
and the reports built on it keep workspaces, members and time zones apart."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import DateTimeField, Model, QuerySet, Sum, Value
from django.db.models.functions import JSONObject, TruncDate, Upper
from django.db.models.signals import post_save
from django.db.transaction import TransactionManagementError
from django.db.utils import ConnectionHandler

from billing.reports import hours_summary, utilization
from billing.selectors import budget_health
from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, WorkspaceFactory, finished_entry
from tests.timetracker.test_postgresql_backend import fresh_connection, ours
from timesheets.models import TimeEntry
from timetracker import compiled
from timetracker.compiled import ID, Param, StaleTemplate, values_rows
from workspaces import audit
from workspaces.models import AuditEvent, Membership, Project, Role
from workspaces.models.audit import AuditImmutableError

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


# --- compiled inserts (CompiledInsert) --------------------------------------------------------


def entry_columns(entry: TimeEntry) -> dict[str, Any]:
    """Every column of the entry as stored, but those that differ between any two rows."""
    row = TimeEntry.objects.filter(pk=entry.pk).values().get()
    return {name: value for name, value in row.items() if name not in ("id", "created_at", "updated_at")}


def test_a_compiled_insert_stores_and_returns_what_djangos_does(monkeypatch):
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace, billable_rate=Decimal("120.50"))
    saved = []

    def receiver(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
        saved.append((instance.pk, created))

    post_save.connect(receiver, sender=TimeEntry, dispatch_uid="test-compiled-insert")
    try:
        fields = {
            "workspace": member.workspace,
            "member": member,
            "project": project,
            "description": "compiled",
            "started_at": datetime(2026, 3, 2, 23, 30, tzinfo=UTC),  # 3 March in the workspace's week
            "ended_at": datetime(2026, 3, 3, 0, 15, tzinfo=UTC),
            "duration_seconds": 2700,
            "billable": True,
            "billable_rate": Decimal("120.50"),
            "cost_rate": Decimal("40.00"),
            "created_by": member.user,
        }
        compiled_entry = TimeEntry.objects.create(**fields)
        monkeypatch.setattr(TimeEntry, "_do_insert", vars(Model)["_do_insert"])  # Django's own INSERT
        django_entry = TimeEntry.objects.create(**fields)
    finally:
        post_save.disconnect(sender=TimeEntry, dispatch_uid="test-compiled-insert")
    assert saved == [(compiled_entry.pk, True), (django_entry.pk, True)]
    assert compiled_entry.pk is not None
    assert compiled_entry.pk != django_entry.pk
    assert entry_columns(compiled_entry) == entry_columns(django_entry)
    # what the database returns (the id, the generated money column) is set on the instance as Django sets it
    assert compiled_entry.billable_cent_seconds == django_entry.billable_cent_seconds == 12050 * 2700
    assert compiled_entry.week_start == django_entry.week_start
    assert compiled_entry._state.adding is False
    assert compiled_entry._state.db == "default"
    assert compiled_entry.created_at is not None
    assert TimeEntry.objects.get(pk=compiled_entry.pk).created_at == compiled_entry.created_at


def drawn_id() -> int:
    """A time entry's id drawn from its sequence, as a write draws it with its member's lock."""
    (row,) = Membership.objects.order_by().values(next_id=compiled.NextId(TimeEntry))[:1]
    return int(row["next_id"])


def entry_fields(member: Membership, project: Project, **changes: Any) -> dict[str, Any]:
    fields = {
        "workspace": member.workspace,
        "member": member,
        "project": project,
        "started_at": datetime(2026, 3, 2, 9, tzinfo=UTC),
        "ended_at": datetime(2026, 3, 2, 9, 45, tzinfo=UTC),
        "duration_seconds": 2700,
        "billable": True,
        "billable_rate": Decimal("120.50"),
        "created_by": member.user,
    }
    return fields | changes


def committed_elsewhere(entry_id: int) -> bool:
    with fresh_connection() as other:
        return other.execute("SELECT 1 FROM timesheets_timeentry WHERE id = %s", [entry_id]).fetchone() is not None


@pytest.mark.django_db(transaction=True)
def test_an_entry_whose_id_was_drawn_is_inserted_with_the_commit_and_its_generated_column_read_on_use(
    django_assert_num_queries,
):
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    entry_id = drawn_id()
    with transaction.atomic():
        entry = TimeEntry.objects.create(id=entry_id, **entry_fields(member, project))
        waiting = [sql for sql, _ in ours().with_commit]
        assert not committed_elsewhere(entry_id)

    assert [sql[:34] for sql in waiting] == ['INSERT INTO "timesheets_timeentry"']
    assert "RETURNING" not in waiting[0]
    assert entry.pk == entry_id
    assert committed_elsewhere(entry_id)
    assert "billable_cent_seconds" not in entry.__dict__  # not returned: read when first used
    with django_assert_num_queries(1):
        assert entry.billable_cent_seconds == 12050 * 2700
    assert entry._state.adding is False
    django_entry = TimeEntry.objects.create(**entry_fields(member, project))  # Django's, outside atomic()
    assert entry_columns(entry) == entry_columns(django_entry)


@pytest.mark.django_db(transaction=True)
def test_an_entry_whose_id_was_drawn_is_sent_before_a_later_statement_of_its_transaction():
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    with transaction.atomic():
        entry = TimeEntry.objects.create(id=drawn_id(), **entry_fields(member, project))
        assert TimeEntry.objects.filter(pk=entry.pk).exists()  # the transaction sees its own write
        assert entry.billable_cent_seconds == 12050 * 2700
        assert ours().with_commit == []


@pytest.mark.django_db(transaction=True)
def test_an_entry_whose_insert_fails_at_the_commit_fails_its_transaction():
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    entry_id = drawn_id()

    def write_then_commit() -> None:
        with transaction.atomic():
            # A negative duration breaks a CHECK, known only when the INSERT runs: with the COMMIT.
            TimeEntry.objects.create(id=entry_id, **entry_fields(member, project, duration_seconds=-1))
            audit.record(action="test.failed", actor=principal_for(member))

    with pytest.raises(IntegrityError, match="time_entry_duration_1s_to_24h"):
        write_then_commit()
    assert not TimeEntry.objects.filter(pk=entry_id).exists()
    assert not AuditEvent.objects.filter(action="test.failed").exists()
    assert ours().with_commit == []


@pytest.mark.django_db(transaction=True)
def test_an_entry_without_an_id_returns_its_id_and_generated_column_at_once_in_a_transaction_too():
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    with transaction.atomic():
        entry = TimeEntry.objects.create(**entry_fields(member, project))
        assert ours().with_commit == []
        assert entry.pk is not None
        assert entry.__dict__["billable_cent_seconds"] == 12050 * 2700


def test_next_id_is_drawn_on_postgresql_and_left_to_the_insert_elsewhere():
    MembershipFactory()  # a row to draw it with
    queryset = Membership.objects.order_by().values(next_id=compiled.NextId(TimeEntry))
    lite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})["default"]
    on_postgresql = str(queryset.query)
    on_sqlite, _params = queryset.query.get_compiler(connection=lite).as_sql()

    assert "nextval(pg_get_serial_sequence(timesheets_timeentry, id))" in on_postgresql
    assert 'NULL AS "next_id"' in on_sqlite
    first, second = drawn_id(), drawn_id()
    assert second > first


def counted_builds(monkeypatch: Any, template: type[Any]) -> list[str]:
    """The models ``template`` is compiled for from now on, the compiled queries forgotten."""
    builds: list[str] = []
    made = template.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        builds.append(args[0]._meta.label)
        made(self, *args, **kwargs)

    monkeypatch.setattr(template, "__init__", counting)
    monkeypatch.setattr(compiled, "_templates", {})
    return builds


def test_an_insert_compiles_once_per_set_of_columns_and_binds_each_rows_values(settings, monkeypatch):
    settings.COMPILED_QUERIES_CHECK = False
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    builds = counted_builds(monkeypatch, compiled.InsertTemplate)
    entries = [
        finished_entry(member, project, datetime(2026, 3, day, 9, tzinfo=UTC), 600 * day, description=f"day {day}")
        for day in (2, 3, 4)
    ]
    assert builds == ["timesheets.TimeEntry"]
    stored = TimeEntry.objects.filter(pk__in=[e.pk for e in entries]).order_by("started_at")
    assert [(e.description, e.duration_seconds) for e in stored] == [("day 2", 1200), ("day 3", 1800), ("day 4", 2400)]


def test_an_expression_as_a_value_goes_djangos_way():
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    entry = finished_entry(member, project, datetime(2026, 3, 2, 9, tzinfo=UTC), 600, description=Upper(Value("shout")))
    assert TimeEntry.objects.get(pk=entry.pk).description == "SHOUT"


def test_an_audit_event_is_written_by_the_compiled_insert_and_still_never_updated():
    member = MembershipFactory()
    event = audit.record(action="test.compiled", actor=principal_for(member), detail={"n": 1})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.detail, stored.actor_id, stored.created_at) == (
        "test.compiled",
        {"n": 1},
        member.user_id,
        event.created_at,
    )
    event.action = "changed"
    with pytest.raises(AuditImmutableError, match="append-only"):
        event.save()


# --- the UPDATE of a locked row (LockedUpdate) ---------------------------------------------------


def locked(entry: TimeEntry) -> TimeEntry:
    """The entry's row, locked by this transaction, as a write locks it."""
    return TimeEntry.objects.select_for_update(of=("self",)).get(pk=entry.pk)


def stored_entry() -> TimeEntry:
    """A finished entry of 45 minutes at 120.50 an hour, stored."""
    member = MembershipFactory()
    return TimeEntry.objects.create(**entry_fields(member, ProjectFactory(workspace=member.workspace)))


def stored_elsewhere(entry_id: int) -> tuple[Any, ...]:
    """The entry's description and duration as another connection sees them."""
    with fresh_connection() as other:
        row = other.execute(
            "SELECT description, duration_seconds FROM timesheets_timeentry WHERE id = %s", [entry_id]
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.django_db(transaction=True)
def test_a_locked_rows_update_goes_with_the_commit_and_stores_what_djangos_does(django_assert_num_queries):
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    ours_entry = TimeEntry.objects.create(**entry_fields(member, project))
    djangos = TimeEntry.objects.create(**entry_fields(member, project))
    saved = []

    def receiver(sender: Any, instance: Any, created: bool, update_fields: Any, **kwargs: Any) -> None:
        saved.append((instance.pk, created, sorted(update_fields)))

    post_save.connect(receiver, sender=TimeEntry, dispatch_uid="test-locked-update")
    try:
        with transaction.atomic():
            entry = locked(ours_entry)
            entry.description, entry.duration_seconds = "changed", 900
            entry.ended_at = entry.started_at.replace(minute=15)
            entry.save_locked(update_fields=["description", "duration_seconds", "ended_at"])
            waiting = [sql for sql, _ in ours().with_commit]
            assert stored_elsewhere(entry.pk) == ("", 2700)  # not sent yet
        with transaction.atomic():
            twin = locked(djangos)
            twin.description, twin.duration_seconds = "changed", 900
            twin.ended_at = twin.started_at.replace(minute=15)
            twin.save(update_fields=["description", "duration_seconds", "ended_at"])
    finally:
        post_save.disconnect(sender=TimeEntry, dispatch_uid="test-locked-update")

    assert [sql[:29] for sql in waiting] == ['UPDATE "timesheets_timeentry"']
    assert stored_elsewhere(entry.pk) == ("changed", 900)
    assert entry_columns(entry) == entry_columns(twin)
    columns = ["description", "duration_seconds", "ended_at"]
    assert saved == [(entry.pk, False, columns), (twin.pk, False, columns)]
    # the generated money column follows the new duration, read when first used (Django's own
    # UPDATE leaves the old value on the instance)
    assert "billable_cent_seconds" not in entry.__dict__
    with django_assert_num_queries(1):
        assert entry.billable_cent_seconds == 12050 * 900
    assert twin.billable_cent_seconds == 12050 * 2700


@pytest.mark.django_db(transaction=True)
def test_a_locked_rows_update_is_sent_before_a_later_statement_of_its_transaction():
    entry = stored_entry()
    with transaction.atomic():
        row = locked(entry)
        row.description = "seen"
        row.save_locked(update_fields=["description"])
        assert TimeEntry.objects.get(pk=entry.pk).description == "seen"  # the transaction sees its own write
        assert ours().with_commit == []


@pytest.mark.django_db(transaction=True)
def test_a_locked_rows_update_failing_at_the_commit_fails_its_transaction():
    entry = stored_entry()

    def write_then_commit() -> None:
        with transaction.atomic():
            row = locked(entry)
            row.duration_seconds = -1  # breaks a CHECK, known only when the UPDATE runs: with the COMMIT
            row.save_locked(update_fields=["duration_seconds"])
            audit.record(action="test.failed", actor=principal_for(entry.member))

    with pytest.raises(IntegrityError, match="time_entry_duration_1s_to_24h"):
        write_then_commit()
    assert TimeEntry.objects.get(pk=entry.pk).duration_seconds == 2700
    assert not AuditEvent.objects.filter(action="test.failed").exists()
    assert ours().with_commit == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_locked_save_is_djangos_and_refuses_a_row_that_is_gone():
    entry = stored_entry()
    entry.description = "at once"
    entry.save_locked(update_fields=["description"])
    assert stored_elsewhere(entry.pk) == ("at once", 2700)

    TimeEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        entry.save_locked(update_fields=["description"])


@pytest.mark.django_db(transaction=True)
def test_a_locked_rows_update_with_an_expression_goes_djangos_way_at_once():
    entry = stored_entry()
    with transaction.atomic():
        row = locked(entry)
        row.description = Upper(Value("shout"))
        row.save_locked(update_fields=["description"])
        assert ours().with_commit == []
    assert TimeEntry.objects.get(pk=entry.pk).description == "SHOUT"


def test_a_locked_update_compiles_once_per_set_of_columns_and_binds_each_rows_values(settings, monkeypatch):
    settings.COMPILED_QUERIES_CHECK = False
    member = MembershipFactory()
    project = ProjectFactory(workspace=member.workspace)
    entries = [
        finished_entry(member, project, datetime(2026, 3, day, 9, tzinfo=UTC), 600, description="") for day in (2, 3, 4)
    ]
    builds = counted_builds(monkeypatch, compiled.UpdateTemplate)
    for day, entry in zip((2, 3, 4), entries, strict=True):
        with transaction.atomic(durable=True):  # the outermost block, as a service's, commits
            row = locked(entry)
            # a NULL is bound as a value: the SQL is the same for every row
            row.description, row.cost_rate = f"day {day}", None if day == 3 else Decimal(day)
            row.save_locked(update_fields=["description", "cost_rate"])
    assert builds == ["timesheets.TimeEntry"]
    stored = TimeEntry.objects.filter(pk__in=[e.pk for e in entries]).order_by("started_at")
    assert [(e.description, e.cost_rate) for e in stored] == [
        ("day 2", Decimal("2.00")),
        ("day 3", None),
        ("day 4", Decimal("4.00")),
    ]


def test_a_stale_update_template_is_refused(settings, monkeypatch):
    entry = stored_entry()
    key = ("update", "timesheets.TimeEntry", ("description",))
    connection_key = ("default", "postgresql", compiled.UpdateTemplate, key)
    stale = compiled.UpdateTemplate(TimeEntry, [TimeEntry._meta.get_field("description")], "default")
    stale.sql = stale.sql.replace('"description"', '"draft_reason"')
    monkeypatch.setattr(compiled, "_templates", {connection_key: stale})
    with transaction.atomic(durable=True):
        row = locked(entry)
        row.description = "never"
        with pytest.raises(StaleTemplate):
            row.save_locked(update_fields=["description"])
    assert TimeEntry.objects.get(pk=entry.pk).description == ""
