"""Output models for the MCP tools, derived from the REST output serializers.

An entry, a project or a report has one presentation: the REST serializer (with its redaction).
The MCP face reuses it, so the two faces give the same numbers, and this module turns the
serializer into a pydantic model: the tool's ``outputSchema`` is then generated from the very
fields the data comes from and cannot drift from it. Money stays a decimal string, as in REST.
"""

from __future__ import annotations

import typing
from typing import Any, cast

from drf_spectacular.drainage import get_override
from drf_spectacular.types import OpenApiTypes
from pydantic import BaseModel, ConfigDict, Field, create_model
from rest_framework import serializers

_MODELS: dict[tuple[type[serializers.BaseSerializer[Any]], str], type[BaseModel]] = {}


class Out(BaseModel):
    """Base of every tool output: extra keys are dropped, never invented."""

    model_config = ConfigDict(extra="ignore")


def _scalar(field: serializers.Field) -> tuple[Any, dict[str, Any]]:
    """The python type and JSON-schema hints of one DRF field."""
    if isinstance(field, serializers.BooleanField):
        return bool, {}
    if isinstance(field, serializers.IntegerField):
        return int, {}
    if isinstance(field, serializers.FloatField):
        return float, {}
    if isinstance(field, serializers.DecimalField):
        return str, {"pattern": r"^-?\d+(\.\d+)?$", "examples": ["120.00"]}
    if isinstance(field, serializers.DateTimeField):
        return str, {"json_schema_extra": {"format": "date-time"}}
    if isinstance(field, serializers.DateField):
        return str, {"json_schema_extra": {"format": "date"}}
    if isinstance(field, serializers.ChoiceField):
        return str, {"json_schema_extra": {"enum": [str(c) for c in field.choices]}}
    if isinstance(field, serializers.ManyRelatedField):
        return list[int], {}
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        return int, {}
    if isinstance(field, serializers.CharField | serializers.UUIDField | serializers.RelatedField):
        return str, {}
    if isinstance(field, serializers.DictField):
        return dict[str, Any], {}
    if isinstance(field, serializers.ListField):
        child, _ = _annotation(field.child) if field.child is not None else (Any, {})
        return list[child], {}  # type: ignore[valid-type]
    if isinstance(field, serializers.SerializerMethodField):
        return _method_type(field)
    return Any, {}


def _method_type(field: serializers.SerializerMethodField) -> tuple[Any, dict[str, Any]]:
    """A method field's type: its ``@extend_schema_field`` (a DRF field or a plain OpenAPI type), as
    the REST schema reads it, or else the method's return annotation (``bool``, ``int``, ``str``)."""
    method = getattr(field.parent, field.method_name or f"get_{field.field_name}", None)
    if method is None:
        return Any, {}
    declared = get_override(method, "field")
    if isinstance(declared, serializers.Field):
        return _scalar(declared)
    simple = {OpenApiTypes.BOOL: bool, OpenApiTypes.INT: int, OpenApiTypes.STR: str}
    if isinstance(declared, OpenApiTypes):
        return simple.get(declared, Any), {}
    returned = typing.get_type_hints(method).get("return")
    plain = [t for t in typing.get_args(returned) if t is not type(None)] if typing.get_args(returned) else [returned]
    return (plain[0], {}) if len(plain) == 1 and plain[0] in (bool, int, str) else (Any, {})


def _annotation(field: serializers.Field) -> tuple[Any, dict[str, Any]]:
    if isinstance(field, serializers.ListSerializer):
        return list[model_for(type(field.child))], {}  # type: ignore[arg-type,misc]
    if isinstance(field, serializers.BaseSerializer):
        return model_for(type(field)), {}
    return _scalar(field)


def model_for(serializer: type[serializers.BaseSerializer[Any]], name: str = "") -> type[BaseModel]:
    """A pydantic model with the serializer's output fields (cached per serializer)."""
    key = (serializer, name)
    if key in _MODELS:
        return _MODELS[key]
    fields: dict[str, Any] = {}
    instance = cast(serializers.Serializer[Any], serializer())
    for field_name, field in instance.fields.items():
        if field.write_only:
            continue
        annotation, hints = _annotation(field)
        nullable = bool(getattr(field, "allow_null", False)) or isinstance(field, serializers.SerializerMethodField)
        if nullable:
            annotation = annotation | None
        description = str(field.help_text) if field.help_text else None
        fields[field_name] = (annotation, Field(default=None if nullable else ..., description=description, **hints))
    model = create_model(name or serializer.__name__.removesuffix("Output") or "Object", __base__=Out, **fields)
    model.__doc__ = (serializer.__doc__ or "").strip() or None
    _MODELS[key] = model
    return model


def page_of(item: type[BaseModel], name: str) -> type[BaseModel]:
    """``{"items": [...], "next_cursor": ...}``: one page of a list tool."""
    return create_model(
        name,
        __base__=Out,
        items=(list[item], Field(description="This page, in the tool's order")),  # type: ignore[valid-type]
        next_cursor=(
            str | None,
            Field(default=None, description="Pass as `cursor` for the next page; null on the last page"),
        ),
    )


def plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The same JSON Schema in a shape that is cheaper to validate.

    Clients validate every structured result against the tool's ``outputSchema`` (the SDK's client
    with ``jsonschema``), where resolving ``$ref`` and trying ``anyOf`` branches cost most: local
    references are inlined (a recursive one is kept) and ``anyOf: [X, {"type": "null"}]`` becomes X
    with ``"type": [X's type, "null"]``. For a page of 54 entries: 15 → 9 ms per result (bench/).
    """
    defs: dict[str, Any] = schema.get("$defs", {})
    kept: set[str] = set()

    def walk(node: Any, inside: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, inside) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in inside or name not in defs:
                kept.add(name)
                return node
            siblings = {k: walk(v, inside) for k, v in node.items() if k != "$ref"}
            return {**walk(defs[name], inside | {name}), **siblings}
        out = {k: walk(v, inside) for k, v in node.items() if k != "$defs"}
        nullable = _or_null(out.get("anyOf"))
        if nullable is not None:
            del out["anyOf"]
            out = {**nullable, **out}
        return out

    plain: dict[str, Any] = walk(schema, frozenset())
    if kept:
        plain["$defs"] = {name: defs[name] for name in kept}
    return plain


def _or_null(any_of: Any) -> dict[str, Any] | None:
    """``anyOf: [X, {"type": "null"}]`` with X of one plain type, as X accepting null; else None."""
    if not isinstance(any_of, list) or len(any_of) != 2 or {"type": "null"} not in any_of:
        return None
    other = next(branch for branch in any_of if branch != {"type": "null"})
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or "const" in other:
        return None
    merged = {**other, "type": [other["type"], "null"]}
    if "enum" in other:
        merged["enum"] = [*other["enum"], None]
    return merged
