"""Where the CPU of a POST load goes: per process, and what the machine leaves idle.

Serves the app as ``bench/run.py`` does (gunicorn with two uvicorn workers, the audit worker,
PostgreSQL, Redis) against the bench database a run left behind, and TimeTagger beside it. Then
it sends bursts of ``--requests`` writes at concurrency 16, ours and TimeTagger's in turns (ours,
TimeTagger, TimeTagger, ours), and reads the CPU time of each group of processes from
``/proc/<pid>/stat`` and the machine's idle time from ``/proc/stat`` before and after each burst.
Every figure is per request, in ms:

* ``web``: the gunicorn master and its workers; ``postgres``: every PostgreSQL process;
  ``redis``; ``audit worker``; ``timetagger``; ``load``: this process, the load generator;
* ``idle``: what the machine's cores left unused, over all cores.

``--members K`` spreads our writes over the workspace's first K active members (an admin may
write for them), to tell a member's row lock from the CPU: one member's writes queue on its
lock (``bench/README``, thirteenth round).

    .venv/bin/python bench/cpu.py                        # 2 000 writes a burst, two turns
    .venv/bin/python bench/cpu.py --members 8 --turns 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import harness, run  # noqa: E402 - the repository root goes on the path first

TICKS = os.sysconf("SC_CLK_TCK")
CONCURRENCY = 16


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_seconds() -> float:
    """The machine's idle and I/O-wait time so far, summed over its cores."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (fields[3] + fields[4]) / TICKS


def pids_of(pattern: str) -> list[int]:
    """Processes whose command line holds ``pattern``."""
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def reading(groups: dict[str, Callable[[], list[int]]]) -> dict[str, float]:
    """CPU seconds so far of each group of processes, and the machine's idle seconds."""
    return {name: sum(cpu_seconds(pid) for pid in pids()) for name, pids in groups.items()} | {"idle": idle_seconds()}


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """ms per request of each figure between two readings."""
    return {name: round((after[name] - before[name]) / requests * 1000, 3) for name in after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="writes in each burst")
    parser.add_argument("--turns", type=int, default=2, help="rounds of ours, TimeTagger, TimeTagger, ours")
    parser.add_argument("--members", type=int, default=1, help="spread our writes over this many members")
    args = parser.parse_args()
    if min(args.requests, args.turns, args.members) < 1:
        parser.error("--requests, --turns and --members are whole numbers of at least 1")
    bursts = measure(args)
    print(json.dumps({"requests_per_burst": args.requests, "members": args.members, "bursts": bursts}, indent=2))
    print("\n| side | per s | " + " | ".join(f"{name} ms" for name in bursts[0]["per_request"]) + " |")
    print("|---|---|" + "---|" * len(bursts[0]["per_request"]))
    for burst in bursts:
        cells = " | ".join(str(value) for value in burst["per_request"].values())
        print(f"| {burst['side']} | {burst['per_s']} | {cells} |")


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench import timetagger

    port = harness.free_port()
    url = f"http://127.0.0.1:{port}"
    run.setup_django(url)
    creds = run.credentials()
    members = spread_over(creds, args.members)
    env = harness.app_env(run.DATABASE, run.REDIS_URL, url)
    peer_python = timetagger.ensure_venv(ROOT)
    work = ROOT / "var" / "bench-cpu"
    work.mkdir(parents=True, exist_ok=True)
    with (
        harness.running(harness.audit_worker(), env, work / "audit-worker.log") as audit,
        harness.running(harness.gunicorn("timetracker.asgi:application", port), env, work / "web.log") as web,
        timetagger.timetagger_server(peer_python, work / "timetagger") as peer,
    ):
        harness.wait_for_http(f"{url}/healthz", web)
        groups: dict[str, Callable[[], list[int]]] = {
            "web": lambda: [web.pid, *harness.worker_pids(web.pid)],
            "postgres": lambda: pids_of("postgres"),
            "redis": lambda: pids_of("redis-server"),
            "audit worker": lambda: [audit.pid, *harness.worker_pids(audit.pid)],
            "timetagger": lambda: pids_of("timetagger"),
            "load": lambda: [os.getpid()],
        }
        return asyncio.run(in_turns(url, creds, members, peer, groups, args))


async def in_turns(
    url: str,
    creds: dict[str, Any],
    members: list[int],
    peer: Any,
    groups: dict[str, Callable[[], list[int]]],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """Bursts of ours and TimeTagger's writes in turns, each with its CPU per request."""
    from bench import load, timetagger_load

    def body(index: int) -> dict[str, Any]:
        entry = run.rest_entry_body(creds, index)
        return entry | {"member": members[index % len(members)]} if len(members) > 1 else entry

    found: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    async with (
        load.http_client(url, headers, concurrency=CONCURRENCY) as client,
        timetagger_load.RecordWriter(peer.api_url, peer.auth_token(), concurrency=CONCURRENCY) as writer,
    ):
        post = load.expecting(client, lambda c, i: c.post(run.rest_entries_url(creds), json=body(i)), 201)
        sides = {"ours": post, "timetagger": writer.write}
        for side in sides.values():  # warm-up, not measured
            await load.burst(side, concurrency=CONCURRENCY, requests=4 * CONCURRENCY)
        for side in ("ours", "timetagger", "timetagger", "ours") * args.turns:
            before, started = reading(groups), time.perf_counter()
            await load.burst(sides[side], concurrency=CONCURRENCY, requests=args.requests)
            seconds, after = time.perf_counter() - started, reading(groups)
            burst = {
                "side": side,
                "per_s": round(args.requests / seconds, 1),
                "per_request": per_request(before, after, args.requests),
            }
            harness.log(f"{side}: {burst['per_s']}/s, {burst['per_request']}")
            found.append(burst)
    return found


def spread_over(creds: dict[str, Any], count: int) -> list[int]:
    """The ids of the workspace's first ``count`` active members (the bench's admin may write for them)."""
    from workspaces.models import Membership

    active = Membership.objects.filter(workspace__slug=creds["slug"], is_active=True).order_by("id")
    return list(active.values_list("id", flat=True)[:count])


if __name__ == "__main__":
    main()
