"""plain_schema: the published output schemas accept and refuse exactly what pydantic's do."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from jsonschema.validators import validator_for
from pydantic import BaseModel

from mcp_gateway.schemas import plain_schema


class Tag(BaseModel):
    id: int
    name: str


class Node(BaseModel):
    label: str
    children: list[Node] = []


class Row(BaseModel):
    id: int
    task: int | None = None
    note: str | None = None
    state: Literal["active", "draft"] | None = None
    tags: list[Tag]
    tree: Node | None = None


class Page(BaseModel):
    items: list[Row]
    next_cursor: str | None = None


def valid(schema: dict, instance: Any) -> bool:
    return validator_for(schema)(schema).is_valid(instance)


ROW = {"id": 1, "tags": [{"id": 2, "name": "x"}]}
INSTANCES = [
    {"items": [ROW]},
    {"items": [{**ROW, "task": None, "note": None, "state": None}], "next_cursor": None},
    {
        "items": [
            {**ROW, "task": 3, "note": "n", "state": "draft", "tree": {"label": "a", "children": [{"label": "b"}]}}
        ]
    },
    {"items": [{**ROW, "task": "3"}]},
    {"items": [{**ROW, "state": "gone"}]},
    {"items": [{**ROW, "tags": [{"id": "2", "name": "x"}]}]},
    {"items": [{**ROW, "tree": {"label": 1}}]},
    {"items": [{"tags": []}]},
    {"items": [ROW], "next_cursor": 5},
]


@pytest.mark.parametrize("instance", INSTANCES)
def test_the_plain_schema_decides_as_the_original(instance):
    original = Page.model_json_schema()
    assert valid(plain_schema(original), instance) == valid(original, instance)


def test_references_are_inlined_and_nullables_are_type_lists():
    plain = plain_schema(Page.model_json_schema())
    row = plain["properties"]["items"]["items"]
    assert row["properties"]["tags"]["items"]["properties"]["id"] == {"title": "Id", "type": "integer"}
    assert row["properties"]["task"]["type"] == ["integer", "null"]
    assert row["properties"]["state"]["enum"] == ["active", "draft", None]
    assert "anyOf" not in row["properties"]["note"]
    # the recursive model keeps its reference, and its definition
    assert set(plain["$defs"]) == {"Node"}
    assert valid(plain, INSTANCES[2])
