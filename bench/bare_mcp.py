"""The baseline: a bare official-SDK ``MCPServer`` with one tool that returns a constant.

Served exactly as ours is (stateless Streamable HTTP, JSON responses, gunicorn + uvicorn
workers), so ``ours ÷ bare`` is what timetracker adds on top of the protocol: auth, the
connection lookup, governance, the query, serialization and audit.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
def constant() -> dict[str, int]:
    """Return a constant."""
    return {"value": 42}


app = server.streamable_http_app(json_response=True, stateless_http=True)
