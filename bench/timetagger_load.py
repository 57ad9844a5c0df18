"""TimeTagger as a benchmark peer: its ``PUT /api/v2/records`` under load, next to our REST ``POST`` of an entry.

TimeTagger (https://timetagger.app, PyPI ``timetagger``) is an open-source Python time tracker. This module
installs it into its own virtualenv (``bench/.venv-timetagger``, never the project's ``.venv``), starts it on
127.0.0.1 with a fresh data directory, logs in with credentials given in its configuration, and sends
``requests`` record writes from ``concurrency`` concurrent clients, measured on the client.

What the comparison means — how TimeTagger stores and serves a write (read from the installed package,
``timetagger/server/_apiserver.py``, ``timetagger/__main__.py`` and ``itemdb.py``):

* Process model: ``python -m timetagger`` runs one uvicorn process (asyncio loop, h11: ``pip install timetagger``
  brings plain ``uvicorn``, no uvloop/httptools) serving an Asgineer app. There are no worker processes.
* Storage: one SQLite file per user, ``<datadir>/users/<name>~<base64(name)>.db``, through ``itemdb`` — a small
  "transactional database for dicts" over ``sqlite3``. A table holds the whole item as JSON in ``_ob TEXT``
  plus one column per index: ``records (_ob, key PRIMARY KEY, st, t1, t2) WITHOUT ROWID`` with an index on each
  of key, st, t1, t2. SQLite runs with its defaults: rollback journal (``journal_mode=delete``, no WAL) and
  ``synchronous=FULL``, so each commit fsyncs.
* Per authenticated request the server opens a new ``itemdb.AsyncItemDB`` (a new ``sqlite3`` connection served
  by a new dedicated thread), runs ``ensure_table`` for ``userinfo``/``records``/``settings`` and reads the
  token seed from ``userinfo`` to check the JWT is not revoked.
* ``PUT /api/v2/records`` takes a JSON list of records. Inside one ``BEGIN IMMEDIATE`` transaction (writers of
  the same user are serialised by SQLite's file lock, 60 s busy timeout) it selects each record's current
  version by key, validates and copies the known fields, keeps whichever has the larger ``mt``, stamps ``st``
  (server time) and ``INSERT OR REPLACE``s it; then commits. It answers 200 with
  ``{"accepted": [keys], "failed": [keys], "errors": [messages]}`` — a bad record is *not* an HTTP error,
  so this module checks that every key it sent is in ``accepted`` and that ``failed``/``errors`` are empty.
* A record is ``{"key": str (the app makes 8 random letters), "t1": int, "t2": int (unix seconds; t1 == t2
  means running), "ds": str (description with #tags), "mt": int (client modification time)}``; ``st`` is set
  by the server. There is no user/project/permission model, no validation beyond types and a 256-char limit,
  no audit trail: one user's writes land in that user's own SQLite file.

So our ``POST`` of one entry (Django, PostgreSQL, permissions, validation, audit) is compared with the cheapest
durable write of a self-hosted single-file tracker: one authenticated HTTP request that commits one row to
SQLite with an fsync. ``batch > 1`` sends several records per PUT (what TimeTagger's own client does when it
syncs), which is not the equivalent of our one-entry ``POST``; the default is 1.

Reading the numbers: all writes of one user go to one SQLite file, so throughput does not grow with concurrency
(concurrency 1 and 16 both give roughly the same requests/s here). What grows is the tail: waiting writers poll
SQLite's lock through its busy handler (sleeps of up to 100 ms, no fair queue), so p50 stays low while p95/p99
reach hundreds of ms to seconds. Client and server share the machine's cores, as they do in our own runs.

Auth: ``TIMETAGGER_CREDENTIALS="user:<bcrypt hash>"`` (comma-separated for several users). We hash a random
password with the ``bcrypt`` that TimeTagger itself depends on, run inside its venv. The variable is passed
straight to the process (no shell, no docker-compose), so the hash is given raw: the ``\\$`` (shell) and ``$$``
(docker-compose) escapings that TimeTagger's credentials page offers are for those layers only.
A client gets a token with ``POST /timetagger/api/v2/bootstrap_authentication`` whose body is
``base64(json({"method": "usernamepassword", "username": ..., "password": ...}))``; the answer is
``{"token": <JWT, HS256, valid 14 days>}``, sent back on every API call in the ``authtoken`` header.

Usage: ``.venv/bin/python bench/timetagger_load.py --concurrency 16 --requests 2000`` prints the result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from socket import socket
from typing import Any

try:  # the project's .venv ships httpx's successor, httpx2 (same API); plain httpx works as well
    import httpx2 as httpx
except ModuleNotFoundError:  # pragma: no cover - depends on the environment
    import httpx  # type: ignore[no-redef,import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = Path("bench") / ".venv-timetagger"
DATA_DIR = Path("bench") / ".timetagger-data"
STAMP = ".timetagger-installed"
PATH_PREFIX = "/timetagger"  # TimeTagger's default path_prefix; the API lives under it
USERNAME = "bench"
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # TimeTagger's generate_uid() alphabet


def log(message: str) -> None:
    print(f"[timetagger {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------- venv


def ensure_venv(root: Path = ROOT, spec: str = "timetagger") -> Path:
    """Create ``root/bench/.venv-timetagger`` and ``pip install spec`` into it, once; return its python.

    A stamp file written after a successful install makes later calls a stat or two. Changing ``spec``
    (e.g. ``timetagger==26.1.3``) reinstalls.
    """
    venv_dir = root / VENV_DIR
    python = venv_dir / "bin" / "python"
    stamp = venv_dir / STAMP
    if python.exists() and stamp.exists() and json.loads(stamp.read_text()).get("spec") == spec:
        return python
    if not python.exists():
        log(f"creating {venv_dir}")
        # From inside a venv, the venv module builds the new one on the base interpreter: nothing is shared.
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
    log(f"pip install {spec} into {venv_dir}")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
        check=True,
    )
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('timetagger'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    stamp.write_text(json.dumps({"spec": spec, "version": version}) + "\n")
    return python


def installed_version(python: Path) -> str:
    stamp = python.parent.parent / STAMP
    with suppress(OSError, ValueError):
        return str(json.loads(stamp.read_text())["version"])
    return "unknown"


# ------------------------------------------------------------------------------------------------- server


@dataclass
class TimeTaggerServer:
    """A running TimeTagger: ``url`` is the origin (``http://127.0.0.1:PORT``), ``api_url`` the API root."""

    url: str
    username: str
    password: str = field(repr=False)
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    _token: str | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.url}{PATH_PREFIX}/api/v2"

    def auth_token(self, *, fresh: bool = False) -> str:
        """A web token for the configured user, from ``bootstrap_authentication`` (cached unless ``fresh``)."""
        if self._token is None or fresh:
            self._token = bootstrap_token(self.api_url, self.username, self.password)
        return self._token

    def log_tail(self, lines: int = 20) -> str:
        with suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def bootstrap_token(api_url: str, username: str, password: str) -> str:
    """Exchange credentials for a token: the body is base64 of the JSON payload, as TimeTagger's login page sends it."""
    payload = {"method": "usernamepassword", "username": username, "password": password}
    body = base64.b64encode(json.dumps(payload).encode())
    response = httpx.post(f"{api_url}/bootstrap_authentication", content=body, timeout=30, trust_env=False)
    if response.status_code != 200:
        raise RuntimeError(f"bootstrap_authentication → {response.status_code}: {response.text[:300]}")
    token = response.json().get("token")
    if not isinstance(token, str) or not token:
        raise RuntimeError(f"bootstrap_authentication gave no token: {response.text[:300]}")
    return token


def bcrypt_hash(python: Path, password: str) -> str:
    """Hash ``password`` with the bcrypt installed in TimeTagger's venv (our project does not depend on bcrypt)."""
    code = "import bcrypt, sys; print(bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(8)).decode())"
    result = subprocess.run([str(python), "-c", code], input=password, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def free_port() -> int:
    with socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(server: TimeTaggerServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    status_url = f"{server.url}{PATH_PREFIX}/status"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"timetagger exited with {server.process.returncode}:\n{server.log_tail()}")
        with suppress(httpx.HTTPError):
            response = httpx.get(status_url, timeout=2, trust_env=False)
            if response.status_code == 200 and response.text == "ok":
                return
        time.sleep(0.1)
    raise RuntimeError(f"timetagger did not answer {status_url} within {timeout}s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextmanager
def timetagger_server(python: Path, data_dir: Path, *, startup_timeout: float = 60) -> Iterator[TimeTaggerServer]:
    """Run ``python -m timetagger`` on 127.0.0.1:<free port> with ``data_dir`` as its datadir, one user, a random password.

    Configured by environment variables only (TIMETAGGER_BIND, _DATADIR, _CREDENTIALS, _LOG_LEVEL); any other
    TIMETAGGER_* variable of ours is dropped so that e.g. proxy auth cannot leak in. Stopped with SIGTERM on exit.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)  # the server strips whitespace from passwords: none in here
    credentials = f"{USERNAME}:{bcrypt_hash(python, password)}"  # raw: no shell or compose in between
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMETAGGER_")}
    env.update(
        {
            "TIMETAGGER_BIND": f"127.0.0.1:{port}",
            "TIMETAGGER_DATADIR": str(data_dir),
            "TIMETAGGER_CREDENTIALS": credentials,
            "TIMETAGGER_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path = data_dir / "server.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [str(python), "-m", "timetagger"], cwd=data_dir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = TimeTaggerServer(
        url=f"http://127.0.0.1:{port}",
        username=USERNAME,
        password=password,
        data_dir=data_dir,
        process=process,
        log_path=log_path,
    )
    try:
        _wait_until_up(server, startup_timeout)
        yield server
    finally:
        _stop(process)


def external_asset_refs(server: TimeTaggerServer) -> list[str]:
    """Off-host resources (scripts, styles, images, frames) that the app and login pages load: none means local.

    Plain hyperlinks (``<a href>`` to the project's site) are not loads and are not reported. The app's optional
    in-browser guide dialog iframes timetagger.app when a person opens it; no API call or server path does.
    """
    tag = re.compile(
        r"""<(?:script|link|img|iframe|audio|video|source)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""",
        re.IGNORECASE,
    )
    found: set[str] = set()
    for path in (f"{PATH_PREFIX}/app/", f"{PATH_PREFIX}/login"):
        response = httpx.get(f"{server.url}{path}", timeout=10, trust_env=False)
        response.raise_for_status()
        found.update(ref for ref in tag.findall(response.text) if ref.startswith(("http:", "https:", "//")))
    return sorted(found)


def count_records(server: TimeTaggerServer) -> int:
    """How many records the user has (all time), read back through ``GET /api/v2/records``."""
    response = httpx.get(
        f"{server.api_url}/records",
        params={"timerange": f"0-{2**40}"},
        headers={"authtoken": server.auth_token()},
        timeout=60,
        trust_env=False,
    )
    response.raise_for_status()
    return len(response.json()["records"])


# --------------------------------------------------------------------------------------------------- load


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted samples, the definition bench/load.py uses."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class _KeyMaker:
    """Unique record keys in TimeTagger's own shape (8 letters), from a counter with a random offset."""

    def __init__(self) -> None:
        self._next = secrets.randbelow(len(KEY_ALPHABET) ** 8 // 2)

    def __call__(self) -> str:
        n, self._next = self._next, self._next + 1
        chars = []
        for _ in range(8):
            n, digit = divmod(n, len(KEY_ALPHABET))
            chars.append(KEY_ALPHABET[digit])
        return "".join(reversed(chars))


def _records(make_key: _KeyMaker, index: int, batch: int) -> list[dict[str, Any]]:
    """``batch`` finished one-hour records ending now, as the TimeTagger app creates them (st is the server's)."""
    now = int(time.time())
    return [
        {"key": make_key(), "t1": now - 3600, "t2": now, "mt": now, "ds": f"#bench load entry {index}.{part}"}
        for part in range(batch)
    ]


def _check(response: httpx.Response, keys: list[str]) -> str | None:
    """None if TimeTagger accepted every record, else the error text."""
    where = f"PUT /api/v2/records → {response.status_code}"
    if response.status_code != 200:
        return f"{where}: {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"{where}: not JSON: {response.text[:300]}"
    if not isinstance(body, dict):
        return f"{where}: unexpected body: {response.text[:300]}"
    if body.get("failed") or body.get("errors") or sorted(body.get("accepted") or []) != sorted(keys):
        return f"{where}: not all accepted: {json.dumps(body)[:300]}"
    return None


@dataclass
class Writes:
    """One stretch of record writes: latencies of the accepted ones, errors, and how long it took."""

    samples_ms: list[float]
    errors: int
    first_error: str | None
    seconds: float


class RecordWriter:
    """``concurrency`` clients sharing one connection pool, writing new records (:meth:`burst`).

    Used as an async context manager. ``bench/run.py`` alternates :meth:`write` in timed bursts with bursts
    of our own POST.
    """

    def __init__(self, api_url: str, token: str, *, concurrency: int, batch: int = 1) -> None:
        self.concurrency = concurrency
        self.batch = batch
        self._make_key = _KeyMaker()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(
            base_url=api_url, headers={"authtoken": token}, timeout=60, limits=limits, trust_env=False
        )

    async def __aenter__(self) -> RecordWriter:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)

    async def write(self, index: int) -> str | None:
        """One PUT of ``batch`` new records: None when every one was accepted, else the error's text."""
        records = _records(self._make_key, index, self.batch)
        try:
            response = await self._client.put("/records", json=records)
        except httpx.HTTPError as exc:
            return f"PUT /api/v2/records: {type(exc).__name__}: {exc}"
        return _check(response, [record["key"] for record in records])

    async def burst(self, count: int) -> Writes:
        """``count`` writes from ``concurrency`` clients; a failed write is counted, not raised."""
        samples: list[float] = []
        errors = 0
        first_error: str | None = None
        counter = iter(range(count))

        async def lane() -> None:
            nonlocal errors, first_error
            for index in counter:
                started = time.perf_counter()
                error = await self.write(index)
                elapsed_ms = (time.perf_counter() - started) * 1000
                if error is None:
                    samples.append(elapsed_ms)
                else:
                    errors += 1
                    first_error = first_error or error

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(self.concurrency)))
        return Writes(samples, errors, first_error, time.perf_counter() - started)

    async def warm_up(self, count: int) -> None:
        """``count`` unmeasured writes; any failure raises."""
        warm = await self.burst(count)
        if warm.errors:
            raise RuntimeError(f"warm-up: {warm.errors}/{count} requests failed, first: {warm.first_error}")


async def _run(api_url: str, token: str, *, concurrency: int, requests: int, batch: int, warmup: int) -> Writes:
    async with RecordWriter(api_url, token, concurrency=concurrency, batch=batch) as writer:
        if warmup:
            await writer.warm_up(warmup)
        return await writer.burst(requests)


def default_warmup(concurrency: int, requests: int) -> int:
    return min(requests, max(20, 2 * concurrency))


def put_records_load(
    server: TimeTaggerServer, *, concurrency: int, requests: int, batch: int = 1, warmup: int | None = None
) -> dict[str, Any]:
    """``requests`` PUT /api/v2/records of ``batch`` new records each, from ``concurrency`` clients sharing a pool.

    A warm-up (``warmup`` requests, default ``max(20, 2 * concurrency)``, capped at ``requests``) runs first at
    the same concurrency and is not measured; a failure there raises. Latency is per request, on the client,
    over successful requests; ``throughput_per_s`` is successful requests per second of the measured phase.
    A request counts as an error unless it answers 200 with every key sent in ``accepted`` and nothing in
    ``failed``/``errors``; ``first_error`` carries the first error's text.
    """
    if concurrency < 1 or requests < 1 or batch < 1:
        raise ValueError("concurrency, requests and batch must be positive")
    if warmup is None:
        warmup = default_warmup(concurrency, requests)
    writes = asyncio.run(
        _run(
            server.api_url,
            server.auth_token(),
            concurrency=concurrency,
            requests=requests,
            batch=batch,
            warmup=warmup,
        )
    )
    ordered = sorted(writes.samples_ms)
    return {
        "requests": requests,
        "errors": writes.errors,
        "seconds": round(writes.seconds, 3),
        "throughput_per_s": round(len(ordered) / writes.seconds, 1),
        "p50_ms": percentile(ordered, 0.50),
        "p95_ms": percentile(ordered, 0.95),
        "p99_ms": percentile(ordered, 0.99),
        "first_error": writes.first_error,
    }


# --------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load TimeTagger's PUT /api/v2/records; prints the result as JSON.")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1, help="records per PUT (1 = the equivalent of our POST)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="unmeasured requests first (default 2×concurrency, ≥20)"
    )
    parser.add_argument("--spec", default="timetagger", help="pip requirement for TimeTagger, e.g. timetagger==26.1.3")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the run's data directory under bench/.timetagger-data"
    )
    args = parser.parse_args(argv)

    python = ensure_venv(ROOT, args.spec)
    parent = ROOT / DATA_DIR
    parent.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    try:
        with timetagger_server(python, data_dir) as server:
            log(f"timetagger {installed_version(python)} at {server.url}, data in {data_dir}")
            external = external_asset_refs(server)
            if external:
                log(f"warning: pages load off-host resources: {external}")
            else:
                log("app and login pages load only local assets")
            result = put_records_load(
                server, concurrency=args.concurrency, requests=args.requests, batch=args.batch, warmup=args.warmup
            )
            stored = count_records(server)
            warmup = default_warmup(args.concurrency, args.requests) if args.warmup is None else args.warmup
            expected = (warmup + args.requests - result["errors"]) * args.batch
            log(f"records stored: {stored} (expected {expected})")
    finally:
        if args.keep_data:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result))
    return 0 if result["errors"] == 0 and stored == expected else 1


if __name__ == "__main__":
    sys.exit(main())
