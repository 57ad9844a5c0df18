"""TimeTagger as a benchmark peer: installed and served on loopback (its load: ``timetagger_load.py``).

TimeTagger (https://timetagger.app, PyPI ``timetagger``) is an open-source Python time tracker. This module
installs it into its own virtualenv (``bench/.venv-timetagger``, never the project's ``.venv``), starts it on
127.0.0.1 with a fresh data directory, and logs in with credentials given in its configuration.

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
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = Path("bench") / ".venv-timetagger"
STAMP = ".timetagger-installed"
PATH_PREFIX = "/timetagger"  # TimeTagger's default path_prefix; the API lives under it
USERNAME = "bench"


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
