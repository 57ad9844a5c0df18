"""bench/bare_mcp.py replays a recorded answer under the recorded schema, as bench/run.py records them."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp_types import CallToolResult, TextContent

from bench import bare_mcp

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"type": "integer"}}},
    "required": ["items"],
}


def test_the_bare_server_replays_an_answer_under_its_schema():
    answer = CallToolResult(
        content=[TextContent(type="text", text='{"items":[1,2]}')], structured_content={"items": [1, 2]}
    )
    server = bare_mcp.bare_server(
        {"sample": {"output_schema": SCHEMA, "result": answer.model_dump(mode="json", by_alias=True)}}
    )

    listed = {tool.name: tool for tool in asyncio.run(server.list_tools())}
    replayed = asyncio.run(server.call_tool("replay_sample", {}))
    constant = asyncio.run(server.call_tool("constant", {}))

    assert listed["replay_sample"].output_schema == SCHEMA
    assert isinstance(replayed, CallToolResult)
    assert (replayed.structured_content, replayed.content) == ({"items": [1, 2]}, answer.content)
    assert replayed.is_error is False
    assert isinstance(constant, CallToolResult)
    assert constant.structured_content == {"value": 42}
