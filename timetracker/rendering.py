"""DRF output serializers rendered with their own fields, without DRF's per-call machinery.

``Serializer(instance).data`` deep-copies the declared fields for every call (and for every
nested serializer), then walks them through ``get_attribute`` and ``SkipField`` handling for every
row: 0.55–1.2 ms for a report of 33–69 rows at one million entries, a tenth of an MCP report
call's Python (``bench/README.md``, seventeenth round). :func:`render` answers exactly what
``.data`` answers, but binds a serializer's fields once per class and, for dict rows that hold
the field's key, reads the value straight from the row. Each value is still rendered by **the
same DRF field** (its ``to_representation``), so formats, rounding and choices cannot drift.

Only serializers made of fields whose rendering needs nothing but the value are compiled: the
field types in :data:`PLAIN_FIELDS` (exactly those types, not subclasses), lists of them, and
nested serializers of the same kind that do not override ``to_representation``. Anything else
(a ``SerializerMethodField``, a related field, a serializer that redacts in its own
``to_representation``, a source of ``*``) is rendered by DRF itself, with the context given.
A row (a dict or an object) that lacks the key, or holds a callable there, is read the DRF
way too.

No maintained library renders DRF serializers faster with DRF's own fields: ``serpy`` and
``drf-serpy`` need serializers of their own, a second definition of every output shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, getcontext
from typing import Any

from django.db.models.manager import BaseManager
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

Renderer = Callable[[Any], Any]

PLAIN_FIELDS: frozenset[type[serializers.Field]] = frozenset(
    {
        serializers.BooleanField,
        serializers.CharField,
        serializers.ChoiceField,
        serializers.DateField,
        serializers.DateTimeField,  # reads the current time zone when it renders, as DRF does
        serializers.DecimalField,
        serializers.EmailField,
        serializers.FloatField,
        serializers.IntegerField,
        serializers.JSONField,
        serializers.URLField,
        serializers.UUIDField,
    }
)


def render(
    serializer: type[serializers.BaseSerializer[Any]],
    instance: Any,
    *,
    many: bool = False,
    context: Mapping[str, Any] | None = None,
) -> Any:
    """``serializer(instance, many=many, context=context).data``, as plain lists and dicts."""
    compiled = _compiled(serializer)
    if compiled is None or instance is None:  # DRF answers None with the fields' initial values
        return serializer(instance, many=many, context=dict(context or {})).data
    return _many(compiled)(instance) if many else compiled(instance)


def compiles(serializer: type[serializers.BaseSerializer[Any]]) -> bool:
    """Whether :func:`render` renders ``serializer`` itself (the hot outputs' tests keep it so)."""
    return _compiled(serializer) is not None


_COMPILED: dict[type, Renderer | None] = {}


def _compiled(serializer: type[serializers.BaseSerializer[Any]]) -> Renderer | None:
    """The class's renderer, built on first use (two threads may both build it: same result)."""
    try:
        return _COMPILED[serializer]
    except KeyError:
        compiled = _of(serializer()) if issubclass(serializer, serializers.Serializer) else None
        return _COMPILED.setdefault(serializer, compiled)


def _of(serializer: serializers.Serializer[Any]) -> Renderer | None:
    """The renderer of a bound serializer instance's rows, or None when one of its parts needs DRF."""
    if type(serializer).to_representation is not serializers.Serializer.to_representation:
        return None
    parts: list[tuple[str, serializers.Field, str | None, Renderer]] = []
    for field in serializer._readable_fields:
        value_renderer = _field(field)
        if value_renderer is None or field.source == "*":
            return None
        attrs = field.source_attrs
        parts.append((str(field.field_name), field, attrs[0] if len(attrs) == 1 else None, value_renderer))

    def row(instance: Any) -> dict[str, Any]:
        read = _reader(instance)
        out: dict[str, Any] = {}
        for name, field, key, value_renderer in parts:
            value = _MISSING
            if read is not None and key is not None:
                try:
                    value = read(key)
                except Exception:  # e.g. ObjectDoesNotExist from a relation: DRF's own rules below
                    value = _MISSING
            if value is _MISSING or callable(value):
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
            out[name] = None if value is None else value_renderer(value)
        return out

    return row


_MISSING: Any = object()


def _reader(instance: Any) -> Renderer | None:
    """How DRF's ``get_attribute`` reads one key of ``instance``: ``_MISSING`` when it is absent
    (DRF then decides: a default, None, skipped or an error). None: leave it all to DRF."""
    if type(instance) is dict:
        return lambda key: instance.get(key, _MISSING)
    if isinstance(instance, Mapping):
        return None  # a dict-like type of its own: DRF indexes it
    return lambda key: getattr(instance, key, _MISSING)


def _field(field: serializers.Field) -> Renderer | None:
    kind = type(field)  # exactly these types: a subclass may render otherwise
    if kind is serializers.DecimalField and isinstance(field, serializers.DecimalField):
        return _decimal(field)
    if kind in PLAIN_FIELDS:
        return field.to_representation
    if kind is serializers.ListField and isinstance(field, serializers.ListField):
        return field.to_representation if type(field.child) in PLAIN_FIELDS else None
    if kind is serializers.ListSerializer and isinstance(field, serializers.ListSerializer):
        child = field.child
        child_renderer = _of(child) if isinstance(child, serializers.Serializer) else None
        return None if child_renderer is None else _many(child_renderer)
    if isinstance(field, serializers.Serializer):
        return _of(field)
    return None


def _decimal(field: serializers.DecimalField) -> Renderer:
    """``DecimalField.to_representation`` as a string with fixed places (how money and hours are
    shown), the step of its places computed once instead of for every value."""
    coerce_to_string = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if field.decimal_places is None or field.normalize_output or not coerce_to_string or field.localize:
        return field.to_representation
    step = Decimal(".1") ** field.decimal_places
    max_digits, rounding = field.max_digits, field.rounding

    def as_text(value: Any) -> Any:
        if type(value) is not Decimal:
            return field.to_representation(value)
        context = getcontext().copy()
        if max_digits is not None:
            context.prec = max_digits
        return f"{value.quantize(step, rounding=rounding, context=context):f}"

    return as_text


def _many(row: Renderer) -> Renderer:
    def rows(data: Any) -> list[Any]:
        items = data.all() if isinstance(data, BaseManager) else data
        return [row(item) for item in items]

    return rows
