"""Instructions a request costs the web process, counted by valgrind's callgrind.

Throughput and CPU time on a shared two-core machine move by 10-20 % between runs of the same code
(``bench/README``, twelfth round), more than most single changes save. The number of instructions
the web process executes for a request does not move (±0.2 %), so this measures a change to the
request path exactly: run it on two checkouts and compare.

Each kind runs in-process, against the bench database (``make bench`` or ``make bench-quick``
builds it), with production settings:

* ``post``: ``POST /api/v1/.../time-entries`` through the ASGI application the web workers serve
  (middleware, authentication, rate count, validation, the write and its audit event);
* ``get``: ``GET`` one member-week of entries the same way;
* ``log_time`` and the four MCP reads (``list_time_entries``, ``hours_summary``, ``budget_health``,
  ``unbilled_time``): the MCP tool's call (arguments, policy, the work, its audit event), without
  the protocol;
* ``served_`` and a read's name: the same call as a JSON-RPC ``tools/call`` through the whole ASGI
  application at ``/mcp`` with the bench's OAuth token (the SDK's bearer auth, our gateway, the
  SDK's stateless transport and server, the tool, its audit event), as a web worker serves it;
* ``served_bare``: the bare SDK server's constant tool (``bench/bare_mcp.py``) served the same way,
  the floor the protocol itself costs.

valgrind starts with counting off; the script turns it on (``callgrind_control``) for the
measured requests only, after a warm-up, so start-up and first-call costs are left out. Only
the Python process is counted: PostgreSQL and Redis work in their own processes.

    .venv/bin/python bench/instructions.py                      # this checkout
    .venv/bin/python bench/instructions.py --against /tmp/old   # and another one, same run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
READS = ("list_time_entries", "hours_summary", "budget_health", "unbilled_time")
KINDS = ("post", "get", "log_time", *READS, *(f"served_{name}" for name in READS), "served_bare")
WARM_UP = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, help="measured requests of each kind")
    parser.add_argument(
        "--kinds", default="post,get,log_time,list_time_entries", help=f"comma-separated, of {', '.join(KINDS)}"
    )
    parser.add_argument("--against", type=Path, help="another checkout of the code, counted in the same run")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # the counted process
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    if args.inside:
        serve(kinds, args.requests)
        return
    checkouts = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    results: dict[str, dict[str, int]] = {name: {} for name in checkouts}
    for kind in kinds:
        for name, checkout in checkouts.items():
            results[name][kind] = count(checkout, kind, args.requests)
            print(f"{name:8} {kind:18} {results[name][kind]:>12,} instructions a request", file=sys.stderr)
    print(json.dumps({"requests": args.requests, "instructions_per_request": results}, indent=2))
    if args.against:
        print("\n| kind | this | against | this ÷ against |\n|---|---|---|---|")
        for kind in kinds:
            this, against = results["this"][kind], results["against"][kind]
            print(f"| {kind} | {this:,} | {against:,} | {this / against:.3f} |")


def count(checkout: Path, kind: str, requests: int) -> int:
    """Instructions per request of ``kind`` with the code of ``checkout``, in a fresh process."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-W",
            "ignore",
            str(Path(__file__).resolve()),
            "--inside",
            "--kinds",
            kind,
            "--requests",
            str(requests),
        ]
        env = {**os.environ, "BENCH_CODE_ROOT": str(checkout)}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{kind} in {checkout} failed:\n{done.stderr[-3000:]}")
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        return int(totals[-1].split()[1]) // requests


def serve(kinds: list[str], requests: int) -> None:
    """In the process valgrind runs: set up, warm up, then count ``requests`` of the kind."""
    code = Path(os.environ.get("BENCH_CODE_ROOT", ROOT))
    sys.path.insert(0, str(code))
    os.chdir(code)
    from bench import run

    run.setup_django("http://127.0.0.1:8000")
    creds = run.credentials()
    (kind,) = kinds
    if kind.startswith("served_"):
        asyncio.run(_serve_mcp(kind.removeprefix("served_"), creds, requests))
        return
    one = _request(kind, creds)
    for index in range(WARM_UP):
        one(index)
    _as_under_load()
    _counting(on=True)
    for index in range(requests):
        one(WARM_UP + index)
    _counting(on=False)


async def _serve_mcp(name: str, creds: dict[str, Any], requests: int) -> None:
    """``requests`` calls of the read ``name`` through the ASGI application, inside its lifespan
    (``bare``: the bare server's constant tool)."""
    from bench import run

    headers = [(b"accept", b"application/json, text/event-stream"), (b"mcp-protocol-version", b"2025-11-25")]
    app: Any
    if name == "bare":
        from bench.bare_mcp import app

        mcp_app = app
        name, arguments = "constant", {}
    else:
        from timetracker.asgi import application as app
        from timetracker.asgi import mcp_application as mcp_app

        arguments = run.mcp_reads(creds)[name]
        headers.append((b"authorization", f"Bearer {creds['token']}".encode()))
    call = {"name": name, "arguments": arguments}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}).encode()
    async with mcp_app.router.lifespan_context(mcp_app):
        for index in range(WARM_UP + requests):
            if index == WARM_UP:
                _as_under_load()
                _counting(on=True)
            status = await _asgi(app, "POST", "/mcp", headers, body)
            assert status == 200, status
        _counting(on=False)


def _as_under_load() -> None:
    """The pool skips its health check of a connection handed out within the last half second
    (``timetracker.postgresql.base.CheckUnlessRecentlyUsed``), as it always is under load. Under
    valgrind a request can take that long, so some requests would pay for a check and others not:
    the count moved by up to 8 % between runs. Counted here as under load: never checked."""
    from django.db import connections

    check: Any = getattr(getattr(connections["default"], "pool", None), "_check", None)
    if hasattr(check, "window"):
        check.window = float("inf")


def _counting(*, on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], check=True, capture_output=True
    )


def _request(kind: str, creds: dict[str, Any]) -> Any:
    from bench import run

    if kind in ("post", "get"):
        from timetracker.asgi import django_application

        loop = asyncio.new_event_loop()  # one for every request, as a web worker has
        headers = [(b"authorization", f"Bearer {creds['api_key']}".encode())]

        def http(index: int) -> None:
            if kind == "post":
                body = json.dumps(run.rest_entry_body(creds, index)).encode()
                status = loop.run_until_complete(
                    _asgi(django_application, "POST", run.rest_entries_url(creds), headers, body)
                )
                assert status == 201, status
            else:
                status = loop.run_until_complete(
                    _asgi(django_application, "GET", run.rest_week_url(creds), headers, b"")
                )
                assert status == 200, status

        return http
    from mcp_gateway.registry import CATALOGUE, Call

    principal = run.mcp_principal(creds)
    read = run.mcp_reads(creds).get(kind)

    def tool(index: int) -> None:
        arguments = read if read is not None else run.log_time_arguments(creds, index)
        result = Call(CATALOGUE[kind], principal, arguments, {}).run()
        assert not result.is_error, result.content

    return tool


async def _asgi(app: Any, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """One request through the ASGI application, as uvicorn hands it over; the response's status."""
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            *headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return int(messages[0]["status"])


if __name__ == "__main__":
    main()
