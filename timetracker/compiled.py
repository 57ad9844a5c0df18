"""Queries compiled once per shape and run again with new values.

Building a queryset and compiling it to SQL costs Django 1–3 ms of Python for a report: more than
half of what the database takes to answer it at one million entries (``bench/``). A report's SQL
depends only on its *shape* (which filters are set, the grouping, the workspace's time zone),
never on the values it filters by. So a selector builds its queryset with :class:`Param`
placeholders where the values go, :func:`values_rows` compiles it the first time it sees the
shape, and every later call only binds the values and runs the SQL. :func:`instances` does the
same for model rows: the reads inside a time write (the member lock, the day's last entry, the
week's lock, the project id of the input) cost 0.6–1.5 ms of Python each when built afresh and
0.2–0.4 ms compiled, about a third of a REST POST's CPU (``bench/README.md``, eighth round).
:func:`together` sends several compiled reads in one round trip where the database can (a
member's lock and what a write reads under it).

The one way to get this wrong is a key that leaves out something the SQL depends on: another
shape's SQL would then run with this call's values. The selectors compute their key and values
from one object (e.g. :class:`timesheets.selectors.EntryScope`, whose SQL branches only on which
of its fields are set). And with ``COMPILED_QUERIES_CHECK`` (on with ``DEBUG``, hence in every
test and in ``make run``) every call also builds and compiles the queryset afresh and refuses to
run if its SQL or any fixed parameter differs from the cached one.

No maintained library does this for Django 5: ``django-prepared-queries`` (the only one) supports
Django below 2.2.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, Expression, Field, Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # ModelIterable's own
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

MAX_ID = 2**63  # ids are bigints: a lookup by one out of range finds nothing, as Django's does
MAX_TEMPLATES = 512  # shapes are few (flags × groupings × time zones); a bound keeps a leak impossible
ID: BigIntegerField[int, int] = BigIntegerField()  # the output field of an id parameter


def in_id_range(pk: int) -> bool:
    """Whether ``pk`` can be an id at all; bind only those (the database refuses the rest)."""
    return -MAX_ID <= pk < MAX_ID


class Param(Expression):
    """A value bound when a compiled query runs: ``name`` is looked up in the call's values and
    prepared for the database by ``output_field``, as Django prepares a filter's value."""

    def __init__(self, name: str, output_field: Field[Any, Any]) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        return "%s", [self]

    def bind(self, values: Mapping[str, Any], connection: BaseDatabaseWrapper) -> Any:
        return self.output_field.get_db_prep_value(values[self.name], connection, prepared=False)

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


class NextId(Expression):
    """The next id of ``model``'s id sequence, drawn where the query runs, on PostgreSQL; NULL
    elsewhere, where the row's INSERT draws it. A row whose id is known before its INSERT needs
    nothing back from it (``compiled_writes.CompiledInsert``)."""

    def __init__(self, model: type[Model]) -> None:
        super().__init__(output_field=BigIntegerField())
        self.table, self.column = model._meta.db_table, model._meta.pk.column

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        return "NULL", []

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        return "nextval(pg_get_serial_sequence(%s, %s))", [self.table, self.column]


def converters_of(expressions: Sequence[Any], connection: BaseDatabaseWrapper) -> list[tuple[int, list[Any], Any]]:
    """(column index, converters, expression) for each column Django converts after reading it, as
    its compiler finds them (``SQLCompiler.get_converters``)."""
    found = []
    for index, expression in enumerate(expressions):
        convs = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if convs:
            found.append((index, convs, expression))
    return found


class Template:
    """A ``values()`` queryset compiled to SQL, its parameters (fixed ones and :class:`Param`), the
    names of its columns and the expressions whose converters read them."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        # As ValuesIterable names a values() row.
        self.names = list(query.selected or [*query.extra_select, *query.values_select, *query.annotation_select])
        self.expressions = [expression for expression, _sql, _alias in compiler.select[: compiler.col_count]]
        self._converters: list[tuple[int, list[Any], Any]] | None = None

    def same_as(self, other: Template) -> bool:
        def fixed(params: list[Any]) -> list[Any]:
            return [p.name if isinstance(p, Param) else p for p in params]

        return self.sql == other.sql and fixed(self.params) == fixed(other.params)

    def bind(self, values: Mapping[str, Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """The parameters of the SQL, ``values`` in place of the :class:`Param` placeholders."""
        return [p.bind(values, connection) if isinstance(p, Param) else p for p in self.params]

    def fetch(self, values: Mapping[str, Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """The rows, bound to ``values``, their values converted as Django converts them."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.bind(values, connection))
            found: list[Any] = cursor.fetchall()
        return self.converted(found, connection)

    def converted(self, found: list[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """Rows as the database returned them, their values converted as Django converts them."""
        converters = self.converters(connection)
        if not converters:
            return found
        rows = []
        for row in found:
            row = list(row)
            for index, convs, expression in converters:
                value = row[index]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[index] = value
            rows.append(row)
        return rows

    def converters(self, connection: BaseDatabaseWrapper) -> list[tuple[int, list[Any], Any]]:
        """Which columns Django converts after reading, and with what: found on the first call.

        They depend on the expressions and the database's vendor, both fixed for a template (its
        key holds the connection's alias and vendor); Django's compiler looks them up on every
        query, ninety times in a REST POST (about 5 % of its CPU, ``bench/README``, twelfth round).
        """
        if self._converters is None:
            self._converters = converters_of(self.expressions, connection)
        return self._converters

    def run(self, values: Mapping[str, Any], connection: BaseDatabaseWrapper) -> list[Any]:
        self.check_can_run(connection)
        return self.result(self.fetch(values, connection), connection)

    def check_can_run(self, connection: BaseDatabaseWrapper) -> None:
        """Refuse what Django's compiler refuses before it runs a query (nothing, for values)."""

    def result(self, rows: list[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """Converted rows as the caller takes them: dicts of the ``values()`` names."""
        names = self.names
        return [dict(zip(names, row, strict=False)) for row in rows]


class ModelTemplate(Template):
    """A queryset of model instances (``select_related`` and ``select_for_update`` included)
    compiled to SQL; each row becomes an instance as Django's ``ModelIterable`` makes it."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.names = []
        self.expressions = [expression for expression, _sql, _alias in compiler.select[: compiler.col_count]]
        self._converters = None
        self.for_update = query.select_for_update
        klass_info = compiler.klass_info
        if klass_info is None or compiler.annotation_col_map:
            raise TypeError("instances() takes a queryset of plain model rows: no values(), no annotations")
        self.model: type[Model] = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in compiler.select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, compiler.select, queryset.db)

    def check_can_run(self, connection: BaseDatabaseWrapper) -> None:
        if self.for_update and connection.get_autocommit():  # as Django's compiler refuses it
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")

    def result(self, rows: list[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """Converted rows as the caller takes them: model instances, as ``ModelIterable`` makes them."""
        found = []
        for row in rows:
            obj = self.model.from_db(connection.alias, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            found.append(obj)
        return found


class Compiled(Protocol):
    """What :func:`cached` keeps: SQL compiled once, and whether another compile of it is the same."""

    sql: str

    def same_as(self, other: Any) -> bool: ...


C = TypeVar("C", bound=Compiled)

_templates: dict[Hashable, Compiled] = {}


class StaleTemplate(RuntimeError):
    """A compiled query's key no longer determines its SQL (raised in ``COMPILED_QUERIES_CHECK``)."""


def values_rows(
    key: Hashable, build: Callable[[], QuerySet[Any]], values: Mapping[str, Any], *, using: str = "default"
) -> list[dict[str, Any]]:
    """The rows of the ``values()`` queryset ``build()`` returns, as dicts, bound to ``values``.

    ``key`` must determine the SQL ``build()`` compiles to (everything but the :class:`Param`
    values); ``build()`` runs once per key and database, or on every call under
    ``COMPILED_QUERIES_CHECK``.
    """
    connection = connections[using]
    rows: list[dict[str, Any]] = _template(Template, key, build, connection).run(values, connection)
    return rows


def instances(
    key: Hashable, build: Callable[[], QuerySet[Any]], values: Mapping[str, Any], *, using: str = "default"
) -> list[Any]:
    """The model instances of the queryset ``build()`` returns, bound to ``values``: as
    :func:`values_rows`, for a queryset of models (with ``select_related`` or ``select_for_update``)."""
    connection = connections[using]
    return _template(ModelTemplate, key, build, connection).run(values, connection)


@dataclass(frozen=True)
class Read:
    """One compiled read for :func:`together`: ``kind`` is :class:`Template` (rows as dicts, as
    :func:`values_rows`) or :class:`ModelTemplate` (model instances, as :func:`instances`)."""

    kind: type[Template]
    key: Hashable
    build: Callable[[], QuerySet[Any]]
    values: Mapping[str, Any]


def together(*reads: Read, using: str = "default") -> list[list[Any]]:
    """Each read's result, the reads sent in one round trip where the database can
    (``fetch_together`` of ``timetracker.postgresql``) and one after another where not.

    They run in order, each a statement of its own: under READ COMMITTED each takes its snapshot
    when it starts, so a read after a row lock (``select_for_update``) sees what the lock's
    previous holder committed, as it would in a round trip of its own.
    """
    connection = connections[using]
    templates = [_template(read.kind, read.key, read.build, connection) for read in reads]
    for template in templates:
        template.check_can_run(connection)
    fetch_together = getattr(connection, "fetch_together", None)
    if fetch_together is None:
        found = [template.fetch(read.values, connection) for template, read in zip(templates, reads, strict=True)]
    else:
        raw = fetch_together(
            [
                (template.sql, template.bind(read.values, connection))
                for template, read in zip(templates, reads, strict=True)
            ]
        )
        found = [template.converted(rows, connection) for template, rows in zip(templates, raw, strict=True)]
    return [template.result(rows, connection) for template, rows in zip(templates, found, strict=True)]


def _template(
    kind: type[Template], key: Hashable, build: Callable[[], QuerySet[Any]], connection: BaseDatabaseWrapper
) -> Template:
    return cached((connection.alias, connection.vendor, kind, key), lambda: kind(build()))


def cached(full_key: Hashable, make: Callable[[], C]) -> C:
    """The template under ``full_key`` (its first part: the connection's alias and vendor, and the
    template's class), made the first time; under ``COMPILED_QUERIES_CHECK`` made again on every
    call and refused if its SQL changed. Reads here, writes in ``compiled_writes``."""
    template = _templates.get(full_key)
    if template is None:
        template = make()
        if len(_templates) >= MAX_TEMPLATES:
            _templates.clear()
        _templates[full_key] = template
    elif settings.COMPILED_QUERIES_CHECK:
        fresh = make()
        if not fresh.same_as(template):
            raise StaleTemplate(f"The compiled query {full_key!r} changed:\n{template.sql}\n{fresh.sql}")
    return template  # type: ignore[return-value]  # made by make() under this key: a C
