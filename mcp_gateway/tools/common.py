"""What the tools share: argument types (with the descriptions the model reads) and shaping."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field
from rest_framework import serializers

from mcp_gateway.schemas import Out
from timetracker.rendering import render
from workspaces.principals import Principal

Limit = Annotated[int, Field(ge=1, le=200, description="Page size, 1 to 200")]
CursorArg = Annotated[
    str | None, Field(description="next_cursor from the previous page; omit for the first page", max_length=500)
]
DayArg = Annotated[
    str | None,
    Field(
        description="YYYY-MM-DD, 'today', 'yesterday' or a weekday name (the latest such day up to today), "
        "in the workspace time zone",
        examples=["2026-11-23", "yesterday", "monday"],
        max_length=20,
    ),
]
RequiredDay = Annotated[
    str,
    Field(
        description="YYYY-MM-DD, 'today', 'yesterday' or a weekday name, in the workspace time zone",
        examples=["today", "2026-11-20"],
        max_length=20,
    ),
]
Id = Annotated[int, Field(ge=1, description="An id from a list tool of this workspace")]
OptionalId = Annotated[int | None, Field(ge=1, description="An id from a list tool of this workspace")]
DurationArg = Annotated[
    str,
    Field(description="How long: '90m', '1h30m', '1.5h' or '1:30'", examples=["1h30m", "45m"], max_length=20),
]


def shaped(
    serializer: type[serializers.BaseSerializer[Any]], instance: Any, principal: Principal, *, many: bool = False
) -> Any:
    """The REST presentation of ``instance`` (with its redaction), as plain data."""
    return render(serializer, instance, many=many, context={"principal": principal})


class WriteResult(Out):
    """Fields every write tool returns besides its object."""

    dry_run: bool = Field(default=False, description="true: nothing was written; this is what would have been")
    warnings: list[str] = Field(default_factory=list, description="Things a person may want to know")
    summary: str = Field(description="One sentence on what happened (or would happen)")


def model_list(model: type[BaseModel], rows: list[Any]) -> list[Any]:
    return [model.model_validate(row) for row in rows]
