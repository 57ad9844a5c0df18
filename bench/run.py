"""``make bench`` / ``make bench-quick``: the real stack at scale, measured in one run.

Builds a fresh database (``bench/generate.py``), serves the app as production does (gunicorn
with two uvicorn workers, DEBUG off, PostgreSQL, Redis, the audit worker), and measures MCP
reads against a bare SDK server, MCP writes, REST against TimeTagger, each report selector
against hand-written SQL, queries per call and worker memory. Writes ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness
from bench.harness import ROOT, log

if TYPE_CHECKING:
    from bench.timetagger import TimeTaggerServer

DATABASE = "tt_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
API_KEY_LABEL, AGENT_NAME = "bench", "bench agent"  # what a run's writes are made with
TURNS = 4  # timed bursts each of our POST and TimeTagger's PUT, taken in turns


def build_database(entries: int) -> dict[str, Any]:
    log(f"building {DATABASE} with ≈{entries:,} entries")
    harness.psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    harness.psql(f"CREATE DATABASE {DATABASE}")
    # The bench's own Redis database: audit events still queued or waiting to be retried name rows
    # of the database just dropped, so they could never be stored, and the queue would not drain.
    harness.redis_flush(REDIS_URL)
    env = harness.app_env(DATABASE, REDIS_URL, "http://127.0.0.1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "bench/generate.py", "--entries", str(entries)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    summary["load_seconds"] = round(time.perf_counter() - started, 1)
    log(f"dataset: {summary}")
    return summary


def setup_django(public_url: str) -> None:
    os.environ.update(harness.app_env(DATABASE, REDIS_URL, public_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")
    import django

    django.setup()
    for name in ("httpx2", "httpx", "mcp"):
        logging.getLogger(name).setLevel(logging.WARNING)


def credentials() -> dict[str, Any]:
    """A workspace admin's OAuth grant (token bound to the MCP resource) and API key, and what to ask for."""
    from django.conf import settings
    from django.db.models import Count, Q
    from django.utils import timezone

    from timesheets.models import TimeEntry
    from timesheets.selectors import day_start_utc, local_date, week_start_for
    from workspaces.connection_services import api_key_create
    from workspaces.models import Connection, ConnectionKind, Membership, OAuthAccessToken, OAuthApplication, Project
    from workspaces.principals import Principal

    # What earlier runs wrote on a reused database (--skip-build): their POSTs and log_time calls go
    # to today, in the month and the budget periods the reads below report on, thousands a run.
    written = TimeEntry.objects.filter(Q(connection__label=API_KEY_LABEL) | Q(connection__application__name=AGENT_NAME))
    removed, _ = written.delete()
    if removed:
        log(f"removed {removed:,} rows that earlier runs wrote")
    admin = (
        Membership.objects.select_related("workspace", "user").filter(workspace__slug="bench-1", role="admin").first()
    )
    assert admin is not None, "the generator made no admin in bench-1"
    workspace = admin.workspace
    application = OAuthApplication.objects.create(
        name=AGENT_NAME,
        client_type=OAuthApplication.CLIENT_PUBLIC,
        authorization_grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1:1/cb",
    )
    connection = Connection.objects.create(
        kind=ConnectionKind.OAUTH, user=admin.user, workspace=workspace, application=application, scopes="read write"
    )
    token = secrets.token_urlsafe(32)
    OAuthAccessToken.objects.create(
        user=admin.user,
        application=application,
        connection=connection,
        token=token,
        scope="read write",
        expires=timezone.now() + timedelta(hours=6),
        resource=[settings.MCP_RESOURCE_URL],
    )
    principal = Principal(user=admin.user, membership=admin)
    api_key = api_key_create(actor=principal, label=API_KEY_LABEL, scopes=["read", "write"]).secret
    week = week_start_for(workspace, local_date(workspace, timezone.now())) - timedelta(days=7)
    # A typical member-week: the member with the median number of entries that week. Never a
    # member with none, whatever earlier runs on a reused database (--skip-build) added since.
    per_member = list(
        TimeEntry.objects.filter(
            workspace=workspace,
            started_at__gte=day_start_utc(workspace, week),
            started_at__lt=day_start_utc(workspace, week + timedelta(days=7)),
        )
        .values("member_id")
        .annotate(entries=Count("id"))
        .order_by("entries", "member_id")
    )
    assert per_member, f"no entries in bench-1 in the week of {week}"
    typical = per_member[len(per_member) // 2]
    project = Project.objects.filter(workspace=workspace, status="active", client__isnull=False).order_by("id").first()
    assert project is not None
    return {
        "principal": principal,
        "connection": connection,
        "token": token,
        "api_key": api_key,
        "member_id": typical["member_id"],
        "week_entries": typical["entries"],
        "week_from": week.isoformat(),
        "week_to": (week + timedelta(days=6)).isoformat(),
        "month": week.replace(day=1).isoformat(),
        "month_end": ((week.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)).isoformat(),
        "project_id": project.pk,
        "slug": workspace.slug,
    }


def mcp_reads(creds: dict[str, Any]) -> dict[str, dict[str, Any]]:
    month_from = creds["month"]
    return {
        "list_time_entries": {
            "member_id": creds["member_id"],
            "date_from": creds["week_from"],
            "date_to": creds["week_to"],
            "limit": 100,
        },
        "hours_summary": {"date_from": month_from, "date_to": creds["month_end"], "group_by": "project"},
        "budget_health": {},
        "unbilled_time": {},
    }


def mcp_principal(creds: dict[str, Any]) -> Any:
    """The Principal the bench's OAuth connection acts as at /mcp, with the tools registered."""
    from mcp_gateway.server import build_server
    from workspaces.connection_selectors import connection_principal
    from workspaces.models import Channel

    build_server()  # importing the tool modules fills the catalogue
    principal = connection_principal(creds["connection"], channel=Channel.MCP)
    assert principal is not None
    return principal


def queries_per_call(creds: dict[str, Any], reads: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Database queries each measured tool and endpoint runs, counted in-process on the same data."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from mcp_gateway.registry import CATALOGUE, Call

    principal = mcp_principal(creds)
    counts: dict[str, int] = {}
    for name, arguments in reads.items():
        with CaptureQueriesContext(connection) as captured:
            result = Call(CATALOGUE[name], principal, arguments, {}).run()
        assert not result.is_error, result.content
        counts[f"mcp {name}"] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        result = Call(CATALOGUE["log_time"], principal, log_time_arguments(creds, 0), {}, dry_run=True).run()
    assert not result.is_error, result.content
    counts["mcp log_time (dry run)"] = len(captured)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {creds['api_key']}", HTTP_HOST="127.0.0.1")
    assert client.get(rest_week_url(creds)).status_code == 200  # warm: the API key is read once per process
    with CaptureQueriesContext(connection) as captured:
        assert client.get(rest_week_url(creds)).status_code == 200
    counts["rest GET member-week"] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(rest_entries_url(creds), rest_entry_body(creds, 10_000), content_type="application/json")
        assert response.status_code == 201, response.content
    counts["rest POST time entry"] = len(captured)
    return counts


def recorded_answers(creds: dict[str, Any], reads: dict[str, dict[str, Any]], path: Path) -> None:
    """Each measured read's answer and published ``outputSchema``, for the bare server to replay
    (``bench/bare_mcp.py``): what the same answer costs the protocol and the client alone."""
    from mcp_gateway.registry import CATALOGUE, Call
    from mcp_gateway.server import build_server

    published = {tool.name: tool.output_schema for tool in asyncio.run(build_server().list_tools())}
    principal = mcp_principal(creds)
    answers = {}
    for name, arguments in reads.items():
        result = Call(CATALOGUE[name], principal, arguments, {}).run()
        assert not result.is_error, result.content
        answers[name] = {
            "output_schema": published[name],
            "result": result.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
    path.write_text(json.dumps(answers))


def log_time_arguments(creds: dict[str, Any], index: int) -> dict[str, Any]:
    return {
        "project_id": creds["project_id"],
        "date": "today",
        "duration": "15m",
        "billable": False,
        "description": f"bench {index}",
    }


def rest_entries_url(creds: dict[str, Any]) -> str:
    return f"/api/v1/workspaces/{creds['slug']}/time-entries"


def rest_week_url(creds: dict[str, Any]) -> str:
    return f"{rest_entries_url(creds)}?member={creds['member_id']}&date_from={creds['week_from']}&date_to={creds['week_to']}&limit=200"


def rest_entry_body(creds: dict[str, Any], index: int) -> dict[str, Any]:
    day = time.strftime("%Y-%m-%d")
    return {
        "project": creds["project_id"],
        "date": day,
        "duration_seconds": 900,
        "billable": False,
        "description": f"rest {index}",
    }


async def measure_server(
    url: str,
    bare_url: str,
    creds: dict[str, Any],
    reads: dict[str, dict[str, Any]],
    peer: TimeTaggerServer,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from bench import load

    mcp_url = f"{url}/mcp"
    results: dict[str, Any] = {"mcp_reads": {}, "mcp_writes": {}, "rest": {}}
    log("MCP: bare SDK server")
    results["mcp_bare"] = await load.mcp_latency(f"{bare_url}/mcp", None, "constant", {}, calls=args.calls)
    for name, arguments in reads.items():
        log(f"MCP read: {name} × {args.calls}, and the bare server replaying its answer")
        ours = await load.mcp_latency(mcp_url, creds["token"], name, arguments, calls=args.calls)
        replayed = await load.mcp_latency(f"{bare_url}/mcp", None, f"replay_{name}", {}, calls=args.calls)
        results["mcp_reads"][name] = {**ours, "bare_same_answer": replayed}
    log("MCP write: log_time at concurrency 8")
    results["mcp_writes"]["log_time"] = await load.mcp_writes(
        mcp_url, creds["token"], "log_time", lambda i: log_time_arguments(creds, i), concurrency=8, requests=args.writes
    )
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    log("REST: GET member-week at concurrency 16")
    results["rest"]["GET member-week"] = await load.http_load(
        url, headers, lambda c, i: c.get(rest_week_url(creds)), concurrency=16, requests=args.rest, expect=200
    )
    log(f"REST: POST time entry and TimeTagger's PUT /api/v2/records at concurrency 16, {TURNS} bursts each in turns")
    await harness.audit_queue_drained(REDIS_URL)
    results["rest"]["POST time entry"], results["timetagger"] = await post_in_turns(
        url, headers, creds, peer, seconds=args.post_seconds
    )
    return results


async def memory(url: str, creds: dict[str, Any], master_pid: int, per_phase: int) -> dict[str, Any]:
    """Web workers' RSS after ``per_phase`` and after twice as many requests (REST reads of a member-week)."""
    from bench import load

    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    rss: list[int] = []
    for _ in range(2):
        await load.http_load(
            url, headers, lambda c, i: c.get(rest_week_url(creds)), concurrency=16, requests=per_phase, expect=200
        )
        rss.append(sum(harness.rss_kib(pid) for pid in harness.worker_pids(master_pid)))
    growth = (rss[1] - rss[0]) / rss[0] * 100 if rss[0] else 0.0
    return {
        "requests_per_phase": per_phase,
        "rss_kib_after_phase_1": rss[0],
        "rss_kib_after_phase_2": rss[1],
        "growth_percent": round(growth, 2),
        "target_met": growth < 5,
    }


async def post_in_turns(
    url: str, headers: dict[str, str], creds: dict[str, Any], peer: TimeTaggerServer, *, seconds: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our POST of an entry and TimeTagger's PUT of a record at concurrency 16, in timed bursts of
    ``seconds`` taken in turns (ours, peer, peer, ours, ours, peer, peer, ours), so that a machine
    that speeds up or slows down meanwhile weighs on both alike. Each side's throughput is the
    calls it finished within its bursts ÷ their summed time (:func:`bench.load.timed_burst`)."""
    from bench import load, timetagger_load

    concurrency = 16
    bursts: dict[str, list[load.Burst]] = {"ours": [], "peer": []}
    async with (
        load.http_client(url, headers, concurrency=concurrency) as client,
        timetagger_load.RecordWriter(peer.api_url, peer.auth_token(), concurrency=concurrency) as writer,
    ):
        post = load.expecting(client, lambda c, i: c.post(rest_entries_url(creds), json=rest_entry_body(creds, i)), 201)
        workers = {"ours": post, "peer": writer.write}
        for side in ("ours", "peer"):  # warm-up, not measured
            await load.burst(workers[side], concurrency=concurrency, requests=2 * concurrency)
        for side in ("ours", "peer", "peer", "ours") * (TURNS // 2):
            bursts[side].append(await load.timed_burst(workers[side], concurrency=concurrency, seconds=seconds))
    ours, theirs = (load.summary(bursts[side], concurrency=concurrency) for side in ("ours", "peer"))
    return ours, {**theirs, "turns": TURNS, "seconds_per_turn": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per MCP read")
    parser.add_argument("--writes", type=int, default=800, help="MCP log_time calls at concurrency 8")
    parser.add_argument("--rest", type=int, default=2000, help="REST GET calls at concurrency 16")
    parser.add_argument(
        "--post-seconds", type=float, default=5.0, help="length of each burst of POST, ours and TimeTagger's, in turns"
    )
    parser.add_argument("--memory", type=int, default=5000, help="requests per memory phase (RSS after 1 and 2)")
    parser.add_argument("--skip-build", action="store_true", help="reuse the database of the last run")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    started = time.perf_counter()
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    dataset = {"reused": True} if args.skip_build else build_database(args.entries)
    port, bare_port = harness.free_port(), harness.free_port()
    url, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    setup_django(url)
    creds = credentials()
    dataset["member_week_entries"] = creds["week_entries"]
    reads = mcp_reads(creds)
    counts = queries_per_call(creds, reads)
    log(f"queries per call: {counts}")
    from datetime import date

    from bench import reports_sql

    log("reports: selectors against hand-written SQL")
    reports = reports_sql.compare(creds["principal"], month=date.fromisoformat(creds["month"]))
    env = harness.app_env(DATABASE, REDIS_URL, url)
    recorded_answers(creds, reads, work / "bare-answers.json")
    from bench import timetagger

    peer_python = timetagger.ensure_venv(ROOT)
    bare_env = {**env, "BENCH_BARE_ANSWERS": str(work / "bare-answers.json")}
    with (
        harness.running(harness.audit_worker(), env, work / "audit-worker.log"),
        harness.running(harness.gunicorn("timetracker.asgi:application", port), env, work / "web.log") as web,
        harness.running(harness.gunicorn("bench.bare_mcp:app", bare_port), bare_env, work / "bare.log") as bare,
        timetagger.timetagger_server(peer_python, work / "timetagger") as peer,
    ):
        harness.wait_for_http(f"{url}/healthz", web)
        harness.wait_for_http(f"{bare_url}/ready", bare)  # any answer (a 404) means it serves
        measured = asyncio.run(measure_server(url, bare_url, creds, reads, peer, args))
        log(f"memory: 2 × {args.memory:,} requests")
        measured["memory"] = asyncio.run(memory(url, creds, web.pid, args.memory))
    from bench import report

    results = report.assemble(
        args=vars(args),
        dataset=dataset,
        measured=measured,
        reports=reports,
        queries=counts,
        timetagger={**measured.pop("timetagger"), "version": timetagger.installed_version(peer_python)},
        machine=harness.machine(),
        seconds=time.perf_counter() - started,
    )
    paths = report.write(results, ROOT / "bench" / "results")
    log(f"results: {', '.join(str(p) for p in paths)}")
    print(report.markdown(results))


if __name__ == "__main__":
    main()
