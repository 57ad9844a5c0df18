"""`make run` on the zero-setup default: SQLite, eager Celery, demo data, a real uvicorn server."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STARTUP_LIMIT_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG"}}
    env["TIMETRACKER_VAR_DIR"] = str(tmp_path / "var")
    log = (tmp_path / "make-run.log").open("w+")
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"make run exited with {proc.returncode}:\n{log.read()}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail(f"make run did not serve /healthz within {STARTUP_LIMIT_SECONDS}s:\n{log.read()}")
        log.seek(0)
        yield base, log.read(), tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_make_run_serves_login_healthz_and_admin_for_the_demo_owner(served):
    base, output, tmp_path = served

    health = requests.get(f"{base}/healthz", timeout=5).json()
    assert health["database"]["status"] == "ok"
    assert health["database"]["vendor"] == "sqlite"
    assert health["broker"]["status"] == "eager"
    assert (tmp_path / "var" / "timetracker.sqlite3").exists()
    for username in ("olivia", "adam", "maya", "sam", "nina"):
        assert username in output
    assert "timetracker-demo" in output

    session = requests.Session()
    login_page = session.get(f"{base}/accounts/login/", timeout=5)
    assert login_page.status_code == 200
    assert "Sign in" in login_page.text

    admin_login = session.get(f"{base}/admin/login/", timeout=5)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', admin_login.text)
    assert token is not None
    response = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token.group(1), "username": "olivia", "password": "timetracker-demo"},
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.url == f"{base}/admin/"
    assert "Site administration" in response.text
    assert "Time entries" in response.text
