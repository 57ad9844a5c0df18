"""Processes of a benchmark run: the database, the app as production serves it, a Celery worker."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-c", sql], check=True)


def app_env(database: str, redis_url: str, public_url: str) -> dict[str, str]:
    """Production settings (DEBUG off), with the throttles out of the way of a load test."""
    return {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{PG}/{database}",
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": public_url,
        "API_THROTTLE_PRINCIPAL": "10000000/min",
        "API_THROTTLE_CLIENT_APPLICATION": "10000000/min",
        "MCP_THROTTLE_PER_MINUTE": "10000000",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; production terminates TLS in front
        "LOG_FORMAT": "json",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import httpx2 as httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


@contextmanager
def running(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def gunicorn(app: str, port: int, workers: int = 2) -> list[str]:
    """The web command of docker/entrypoint.sh, on loopback (tests/docker checks they match)."""
    return [
        str(BIN / "gunicorn"),
        app,
        "-k",
        "uvicorn_worker.UvicornWorker",
        "--bind",
        f"127.0.0.1:{port}",
        "--reuse-port",
        "--workers",
        str(workers),
        "--worker-tmp-dir",
        "/dev/shm",  # noqa: S108 - as docker/entrypoint.sh: heartbeat files in memory
        "--access-logfile",
        "-",  # into the run's web.log, as production logs every request
    ]


def audit_worker() -> list[str]:
    """The audit-worker command of docker/entrypoint.sh."""
    return [
        str(BIN / "celery"),
        "-A",
        "timetracker",
        "worker",
        "--queues",
        "audit",
        "--hostname",
        "audit-bench@%h",
        "--pool",
        "solo",
        "--prefetch-multiplier",
        "1000",
        "--loglevel",
        "WARNING",
    ]


async def audit_queue_drained(redis_url: str, timeout: float = 120) -> None:
    """Wait until the audit worker has taken and acknowledged every queued event (kombu's Redis
    transport: the ``audit`` lists hold what is queued, the ``unacked`` hash what a worker holds)."""
    import asyncio

    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            queued = sum(int(client.llen(key)) for key in client.scan_iter("audit*") if client.type(key) == b"list")
            if queued == 0 and int(client.hlen("unacked")) == 0:
                return
            await asyncio.sleep(0.2)
    finally:
        client.close()
    raise RuntimeError(f"the audit queue did not drain within {timeout:g} s")


def redis_flush(redis_url: str) -> None:
    """Empty the Redis database of ``redis_url`` (the bench's own: queue, retries, cache)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        dropped = client.dbsize()
        client.flushdb()
    finally:
        client.close()
    if dropped:
        log(f"emptied {redis_url}: {dropped} keys of earlier runs")


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's worker processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def machine() -> dict[str, object]:
    def first(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory.split(":", 1)[1].strip(),
        "python": platform.python_version(),
        "postgres": first(["psql", "--version"]),
        "redis": first(["redis-server", "--version"]),
        "kernel": platform.release(),
    }
