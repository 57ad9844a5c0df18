"""Writes compiled once per shape (timetracker.compiled_writes): a new row's INSERT and a locked
row's UPDATE store what Django's own would, compile once per set of columns, and go with the
transaction's COMMIT when nothing need be read back."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Model, Value
from django.db.models.functions import Upper
from django.db.models.signals import post_save
from django.db.utils import ConnectionHandler

from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, finished_entry
from tests.timetracker.wire import fresh_connection, ours
from timesheets.models import TimeEntry
from timetracker import compiled, compiled_writes
from timetracker.compiled import StaleTemplate
from workspaces import audit
from workspaces.models import AuditEvent, Membership, Project
from workspaces.models.audit import AuditImmutableError

pytestmark = pytest.mark.django_db


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
    builds = counted_builds(monkeypatch, compiled_writes.InsertTemplate)
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
    builds = counted_builds(monkeypatch, compiled_writes.UpdateTemplate)
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
    connection_key = ("default", "postgresql", compiled_writes.UpdateTemplate, key)
    stale = compiled_writes.UpdateTemplate(TimeEntry, [TimeEntry._meta.get_field("description")], "default")
    stale.sql = stale.sql.replace('"description"', '"draft_reason"')
    monkeypatch.setattr(compiled, "_templates", {connection_key: stale})
    with transaction.atomic(durable=True):
        row = locked(entry)
        row.description = "never"
        with pytest.raises(StaleTemplate):
            row.save_locked(update_fields=["description"])
    assert TimeEntry.objects.get(pk=entry.pk).description == ""
