"""Load from the client side: latency percentiles of sequential calls, throughput under concurrency."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


@asynccontextmanager
async def mcp_session(url: str, token: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def mcp_latency(
    url: str, token: str | None, tool: str, arguments: dict[str, Any], *, calls: int, warmup: int = 20
) -> dict[str, float]:
    """``calls`` sequential tools/call of ``tool`` on one session; errors fail the run. Also the
    p50 of the client's own share that depends on the answer: checking it against the tool's
    ``outputSchema`` (``jsonschema``), which the SDK client does on every structured result."""
    async with mcp_session(url, token) as session:
        samples: list[float] = []
        checks: list[float] = []
        validate = session.validate_tool_result

        async def timed_validate(name: str, result: types.CallToolResult) -> None:
            started = time.perf_counter()
            await validate(name, result)
            checks.append((time.perf_counter() - started) * 1000)

        session.validate_tool_result = timed_validate  # type: ignore[method-assign]
        for index in range(warmup + calls):
            started = time.perf_counter()
            result = await session.call_tool(tool, arguments)
            elapsed = (time.perf_counter() - started) * 1000
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")
            if index >= warmup:
                samples.append(elapsed)
    measured = checks[warmup:]
    return {**percentiles(samples), "client_check_p50_ms": round(statistics.median(measured), 2) if measured else 0.0}


@dataclass
class Burst:
    """One stretch of load: the latency of every call, how many calls it counts, over how many seconds."""

    samples_ms: list[float]
    calls: int
    seconds: float


def summary(bursts: Sequence[Burst], *, concurrency: int) -> dict[str, float]:
    """Throughput and latency over one or more bursts: counted calls ÷ the bursts' summed time."""
    samples = [sample for burst in bursts for sample in burst.samples_ms]
    seconds = sum(burst.seconds for burst in bursts)
    return {
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "throughput_per_s": round(sum(burst.calls for burst in bursts) / seconds, 1),
        **percentiles(samples),
    }


async def burst(worker: Callable[[int], Awaitable[None]], *, concurrency: int, requests: int) -> Burst:
    """``requests`` calls of ``worker(i)`` spread over ``concurrency`` tasks; an exception fails the run."""
    samples: list[float] = []
    counter = iter(range(requests))

    async def lane() -> None:
        for index in counter:
            started = time.perf_counter()
            await worker(index)
            samples.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Burst(samples, len(samples), time.perf_counter() - started)


async def timed_burst(worker: Callable[[int], Awaitable[None]], *, concurrency: int, seconds: float) -> Burst:
    """Calls of ``worker(i)`` from ``concurrency`` tasks for ``seconds``: the throughput of a sustained load.

    The burst counts the calls that finished within the window. Calls still running when it closes
    are finished, and their latency is kept, but neither they nor the time they take after the
    window count: so a server whose slowest calls are very slow is not charged for draining them
    at the end of every burst, as it would be over a fixed number of calls. An exception fails the run.
    """
    samples: list[float] = []
    counted = 0
    indexes = itertools.count()
    started = time.perf_counter()
    deadline = started + seconds

    async def lane() -> None:
        nonlocal counted
        while time.perf_counter() < deadline:
            begun = time.perf_counter()
            await worker(next(indexes))
            finished = time.perf_counter()
            samples.append((finished - begun) * 1000)
            counted += finished <= deadline

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Burst(samples, counted, seconds)


async def concurrent(worker: Callable[[int], Awaitable[None]], *, concurrency: int, requests: int) -> dict[str, float]:
    """``requests`` calls of ``worker(i)`` spread over ``concurrency`` tasks: throughput and latency."""
    return summary([await burst(worker, concurrency=concurrency, requests=requests)], concurrency=concurrency)


async def mcp_writes(
    url: str, token: str, tool: str, arguments: Callable[[int], dict[str, Any]], *, concurrency: int, requests: int
) -> dict[str, float]:
    sessions: list[ClientSession] = []
    stack = []
    for _ in range(concurrency):
        manager = mcp_session(url, token)
        sessions.append(await manager.__aenter__())
        stack.append(manager)
    free: asyncio.Queue[ClientSession] = asyncio.Queue()
    for session in sessions:
        free.put_nowait(session)

    async def one(index: int) -> None:
        session = await free.get()
        try:
            result = await session.call_tool(tool, arguments(index))
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")
        finally:
            free.put_nowait(session)

    try:
        return await concurrent(one, concurrency=concurrency, requests=requests)
    finally:
        for manager in reversed(stack):
            await manager.__aexit__(None, None, None)


@asynccontextmanager
async def http_client(base_url: str, headers: dict[str, str], *, concurrency: int) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits) as client:
        yield client


def expecting(
    client: httpx.AsyncClient, request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]], expect: int
) -> Callable[[int], Awaitable[None]]:
    """``request`` as a load worker: any other status than ``expect`` fails the run."""

    async def one(index: int) -> None:
        response = await request(client, index)
        if response.status_code != expect:
            raise RuntimeError(
                f"{response.request.method} {response.request.url} → {response.status_code}: {response.text[:300]}"
            )

    return one


async def http_load(
    base_url: str,
    headers: dict[str, str],
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    concurrency: int,
    requests: int,
    expect: int,
) -> dict[str, float]:
    """``requests`` HTTP calls at ``concurrency`` after 10 unmeasured ones; any other status than ``expect``
    fails the run."""
    async with http_client(base_url, headers, concurrency=concurrency) as client:
        one = expecting(client, request, expect)
        for index in range(10):
            await one(-1 - index)
        return await concurrent(one, concurrency=concurrency, requests=requests)
