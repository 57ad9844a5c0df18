"""What a tool call's audit event says of it: its arguments as a digest (no free text, no
secrets) and the fields redacted from its answer."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from pydantic import BaseModel

FREE_TEXT = frozenset({"description", "name", "reason", "contact_email", "contact_phone", "address", "vat_id"})


def redacted_fields(data: Any, model: type[BaseModel]) -> set[str]:
    """Every field named in the ``redacted`` lists of an answer of ``model``: those the model
    declares, wherever they sit, not keys that merely read "redacted" inside free-form data (an
    audit event's detail names the fields redacted from *its* answer)."""
    paths = _redaction_paths(model)
    found: set[str] = set()
    for path in paths:
        _collect(data, path, found)
    return found


@functools.cache
def _redaction_paths(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    """Where ``model``'s answers hold a ``redacted`` list: keys from the top, ``*`` for each item of
    a list. Read from its JSON schema once; a model nested in itself could hold one at any depth,
    so none of them is allowed."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    paths: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...], inside: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/$defs/")
            if name in inside:
                raise TypeError(f"{model.__name__} nests {name} in itself")
            walk(defs.get(name), path, inside | {name})
        for name, field_schema in (node.get("properties") or {}).items():
            if name == "redacted":
                paths.append((*path, name))
            else:
                walk(field_schema, (*path, name), inside)
        walk(node.get("items"), (*path, "*"), inside)
        for branch in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
            walk(branch, path, inside)

    walk(schema, (), frozenset())
    return tuple(dict.fromkeys(paths))


def _collect(value: Any, path: tuple[str, ...], found: set[str]) -> None:
    if not path:
        if isinstance(value, list):
            found.update(str(name) for name in value)
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(value, list):
            for item in value:
                _collect(item, rest, found)
    elif isinstance(value, dict):
        _collect(value.get(head), rest, found)


def argument_digest(arguments: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of the arguments: ids, flags, dates and short values as given; free text
    and anything long only as its length and a hash (no full free text, no secrets)."""
    digest: dict[str, Any] = {}
    for name, value in sorted(arguments.items()):
        short_text = isinstance(value, str) and len(value) <= 40 and name not in FREE_TEXT | {"idempotency_key"}
        if value is None or isinstance(value, bool | int | float) or short_text:
            digest[name] = value
        else:
            blob = json.dumps(value, sort_keys=True, default=str)
            digest[name] = {"len": len(blob), "sha256": hashlib.sha256(blob.encode()).hexdigest()[:16]}
    return digest
