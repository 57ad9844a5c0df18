"""The baseline: a bare official-SDK ``MCPServer`` with one tool that returns a constant.

Served exactly as ours is (stateless Streamable HTTP, JSON responses, gunicorn + uvicorn
workers), so ``ours ÷ bare`` is what timetracker adds on top of the protocol: auth, the
connection lookup, governance, the query, serialization and audit.

With ``BENCH_BARE_ANSWERS`` (a JSON file ``bench/run.py`` writes) it also replays, per measured
tool, the very answer ours gave, under ours's published ``outputSchema``: ``replay_<tool>``.
Ours ÷ that replay is what timetracker adds beyond moving and checking that answer (the SDK's
serialization of it, and the client's validation against the schema, which both pay alike).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult


def constant() -> dict[str, int]:
    """Return a constant."""
    return {"value": 42}


def replay(name: str, answer: dict[str, Any]) -> Tool:
    """``replay_<name>``: returns ``answer["result"]``, published with ``answer["output_schema"]``."""
    result = CallToolResult.model_validate(answer["result"])

    def replayed() -> CallToolResult:
        return result

    tool = Tool.from_function(replayed, name=f"replay_{name}", description=f"The recorded answer of {name}.")
    # Published like ours: the schema only, results passed through as they are (mcp_gateway.server).
    tool.fn_metadata.output_schema = answer["output_schema"]
    tool.fn_metadata.output_model = None
    return tool


def bare_server(answers: dict[str, dict[str, Any]]) -> MCPServer[Any]:
    """The constant tool, and a ``replay_<name>`` tool per recorded answer."""
    return MCPServer("bare", tools=[Tool.from_function(constant), *(replay(n, a) for n, a in answers.items())])


recorded = os.environ.get("BENCH_BARE_ANSWERS")
server = bare_server(json.loads(Path(recorded).read_text()) if recorded else {})
app = server.streamable_http_app(json_response=True, stateless_http=True)
