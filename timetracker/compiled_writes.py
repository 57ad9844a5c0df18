"""Writes compiled once per shape, as ``compiled`` compiles reads: a new row's INSERT
(:class:`CompiledInsert`) and a locked row's UPDATE (:class:`LockedUpdate`), each compiled by
Django's own compiler the first time it sees a model and set of columns, and run again with new
values. Either can go with its transaction's ``COMMIT`` when nothing need be read back from it
(``timetracker.postgresql``: ``execute_with_commit``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from django.db import connections
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery, UpdateQuery

from timetracker.compiled import Param, cached, converters_of


class InsertTemplate:
    """The INSERT of one row of a model, for one set of columns and returned columns, compiled by
    Django's own compiler; and the converters of what it returns."""

    def __init__(self, obj: Model, fields: Sequence[Field[Any, Any]], returning: Sequence[Field[Any, Any]], using: str):
        query = InsertQuery(type(obj))
        query.insert_values(fields, [obj], raw=True)  # values as they are: pre_save() already ran
        compiler: Any = query.get_compiler(using=using)
        compiler.returning_fields = returning or None
        ((self.sql, _params),) = compiler.as_sql()
        self.returning_params = tuple(getattr(compiler, "returning_params", ()))
        table = obj._meta.db_table
        self.converters = converters_of([field.get_col(table) for field in returning], connections[using])

    def same_as(self, other: InsertTemplate) -> bool:
        return self.sql == other.sql


class CompiledInsert:
    """A model mixin: ``save()`` of a new row runs its INSERT compiled once per set of columns.

    Everything else of ``save()`` stays Django's: the model's own ``save()``, the signals,
    ``pre_save()`` (``auto_now_add``), the returned id and generated columns set on the instance.
    Only ``_do_insert``, the hook ``save()`` calls for the INSERT itself, reuses the SQL Django's
    compiler made the first time, where Django compiles it again on every save: a third of the
    insert's Python (``bench/README``, twelfth round). A value that is an expression (a database
    default, ``F()``) compiles to SQL of its own and goes Django's way, as does a backend that
    cannot return the inserted columns. ``COMPILED_QUERIES_CHECK`` compares the SQL every time.

    ``insert_with_commit``: in a transaction, a row of which nothing need be read back is sent
    with the ``COMMIT`` on PostgreSQL (``DatabaseWrapper.execute_with_commit``): a row that
    returns nothing, or only its id given with it or generated columns (``_known_or_generated``).
    """

    insert_with_commit: ClassVar[bool] = False

    def _do_insert(
        self,
        manager: Any,
        using: str,
        fields: Sequence[Field[Any, Any]],
        returning_fields: Sequence[Field[Any, Any]],
        raw: bool,
    ) -> list[Any]:
        obj: Any = self
        connection = connections[using]
        values = [getattr(obj, field.attname) if raw else field.pre_save(obj, True) for field in fields]
        plain = not any(hasattr(value, "resolve_expression") for value in values)
        custom = any(hasattr(field, "get_placeholder") for field in fields)
        if not (plain and not custom and connection.features.can_return_columns_from_insert):
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        with_commit = getattr(connection, "execute_with_commit", None)
        by_commit = (
            self.insert_with_commit
            and with_commit is not None
            and connection.in_atomic_block
            and all(_known_or_generated(field, fields) for field in returning_fields)
        )
        if by_commit:
            returning_fields = []
        key = (
            "insert",
            obj._meta.label,
            tuple(field.attname for field in fields),
            tuple(field.attname for field in returning_fields),
        )
        template = cached(
            (connection.alias, connection.vendor, InsertTemplate, key),
            lambda: InsertTemplate(obj, fields, returning_fields, using),
        )
        params = [
            field.get_db_prep_save(value, connection=connection) for field, value in zip(fields, values, strict=True)
        ]
        if by_commit:
            assert with_commit is not None
            with_commit(template.sql, params)
            return []
        with connection.cursor() as cursor:
            cursor.execute(template.sql, params)
            if not returning_fields:
                return []
            row = list(connection.ops.fetch_returned_insert_columns(cursor, template.returning_params))
        for index, convs, column in template.converters:
            for convert in convs:
                row[index] = convert(row[index], column, connection)
        return [tuple(row)]


ROW_ID = "__row_id"  # the id's placeholder in an UpdateTemplate: no field's attname


class UpdateTemplate:
    """The UPDATE of one row of a model by its id, for one set of columns, compiled by Django's
    own compiler with :class:`Param` placeholders for the values and the id."""

    def __init__(self, model: type[Model], fields: Sequence[Field[Any, Any]], using: str):
        query: Any = model._base_manager.using(using).filter(pk=Param(ROW_ID, model._meta.pk)).query.chain(UpdateQuery)
        query.add_update_fields([(field, None, Param(field.attname, field)) for field in fields])
        self.sql, params = query.get_compiler(using=using).as_sql()
        self.params = list(params)

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        """The parameters of the SQL, ``values`` (prepared already) in place of the placeholders."""
        return [values[p.name] if isinstance(p, Param) else p for p in self.params]

    def same_as(self, other: UpdateTemplate) -> bool:
        return self.sql == other.sql and [str(p) for p in self.params] == [str(p) for p in other.params]


class LockedUpdate:
    """A model mixin: :meth:`save_locked` saves changed columns of a row this transaction holds
    locked (``select_for_update``), and on PostgreSQL sends its UPDATE with the ``COMMIT``.

    Django's ``save(update_fields=...)`` reads the UPDATE's row count, to refuse a row that is
    gone: a round trip of its own in the middle of a write (a timer's stop, a change of an entry).
    A row locked by this transaction cannot be gone, so nothing need be read back, and the UPDATE
    goes with the ``COMMIT`` as an audit event does (``DatabaseWrapper.execute_with_commit``): it
    is still part of the transaction, a later statement sends it first, and it fails the commit if
    it fails. Everything else of ``save()`` stays Django's: the model's own ``save()``, signals,
    ``pre_save()``. Generated columns are then read from the database when first used, as a
    deferred field is (Django's own UPDATE leaves their old value on the instance). Outside a
    transaction, on another database, or with a value that is an expression, it is Django's
    ``save(update_fields=...)``.
    """

    _update_locked = False

    def save_locked(self, *, update_fields: Sequence[str]) -> None:
        obj: Any = self
        self._update_locked = True
        try:
            obj.save(update_fields=update_fields)
        finally:
            self._update_locked = False

    def _do_update(
        self,
        base_qs: Any,
        using: str | None,
        pk_val: Any,
        values: Collection[tuple[Field[Any, Any], type[Model] | None, Any]],
        update_fields: Iterable[str] | None,
        forced_update: bool,
    ) -> bool:
        obj: Any = self
        connection = connections[using or "default"]
        with_commit = getattr(connection, "execute_with_commit", None)
        if not (
            self._update_locked
            and values
            and with_commit is not None
            and connection.in_atomic_block
            and not any(hasattr(value, "resolve_expression") for _, _, value in values)
            and not any(hasattr(field, "get_placeholder") for field, _, _ in values)
        ):
            return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)  # type: ignore[misc]
        model = type(obj)
        fields = [field for field, _, _ in values]
        key = ("update", model._meta.label, tuple(field.attname for field in fields))
        template = cached(
            (connection.alias, connection.vendor, UpdateTemplate, key),
            lambda: UpdateTemplate(model, fields, connection.alias),
        )
        prepared = {field.attname: field.get_db_prep_save(value, connection=connection) for field, _, value in values}
        prepared[ROW_ID] = model._meta.pk.get_db_prep_value(pk_val, connection, prepared=False)
        with_commit(template.sql, template.bind(prepared))
        for field in model._meta.concrete_fields:
            if field.generated:
                obj.__dict__.pop(field.attname, None)
        return True


def _known_or_generated(field: Field[Any, Any], inserted: Sequence[Field[Any, Any]]) -> bool:
    """Whether a column an INSERT would return can go unread: the id, when the INSERT gives it
    (drawn beforehand, ``compiled.NextId``), or a generated column, which Django then reads from the
    database when it is first used, as it reads a deferred field (by then the row is sent)."""
    return field.generated or (field.primary_key and field in inserted)
