"""Real processes for the audit pipeline's tests: a private Redis and Celery audit workers.

The Redis is the test's own (its own port), so stopping it does not disturb the suite's cache;
the worker is the production command (``celery worker -Q audit``, as docker/entrypoint.sh
starts it) pointed at the test database.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A throw-away redis-server on a free loopback port; stop() and start() at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), timeout=10, what="redis-server to listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        wait_until(lambda: not port_open(self.port), timeout=10, what="redis-server to stop")


def worker_database_url() -> str:
    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


class AuditWorker:
    """``celery -A timetracker worker -Q audit`` as production runs it, logging JSON lines to a file."""

    def __init__(self, *, broker_url: str, log_path: Path) -> None:
        self.broker_url = broker_url
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.broker_url,
            "LOG_FORMAT": "json",
            # A killed worker's reserved messages come back within a few seconds.
            "CELERY_VISIBILITY_TIMEOUT_SECONDS": "2",
            "CELERY_UNACKED_RESTORE_SECONDS": "1",
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "timetracker",
                "worker",
                "--queues",
                "audit",
                "--pool",
                "solo",
                "--prefetch-multiplier",
                "1000",
                "--loglevel",
                "INFO",
                "--hostname",
                f"audit-test-{free_port()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(self._ready, timeout=60, interval=0.1, what="the audit worker to be ready")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the audit worker exited with {self.process.returncode}:\n{self.log_text()}")
        return any("ready" in line.get("message", "") for line in self.log_lines())

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or given back."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_text().splitlines():
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                lines.append(value)
        return lines

    def stored_batches(self) -> list[int]:
        return [int(line["audit_batch_size"]) for line in self.log_lines() if "audit_batch_size" in line]


class AppServer:
    """The app as production serves it (uvicorn, ASGI) on a free port, on the test database."""

    def __init__(self, *, broker_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.broker_url = broker_url
        self.log_path = log_path
        self.env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.broker_url,
            "AUDIT_DELIVERY": "celery",
            "AUDIT_BROKER_RETRY_SECONDS": "0.5",
            "DATABASE_POOL": "1",  # as production runs: a connection pool per process
            "API_THROTTLE_PRINCIPAL": "100000/min",  # a thousand reads in seconds is the point here
            "LOG_FORMAT": "json",
            **self.env,
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "timetracker.asgi:application",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(self._healthy, timeout=60, interval=0.1, what="the app server to answer")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the app server exited with {self.process.returncode}:\n{self.log_path.read_text()}")
        if not port_open(self.port):
            return False
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
