"""The docker files, checked as far as a machine without a Docker engine allows: the compose
file's shape, the entrypoint's behaviour (with stand-in commands), the health check against a
real HTTP server, the environment example against settings.py, and every module, app and
command the containers start."""

import importlib
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
ENTRYPOINT = DOCKER / "entrypoint.sh"
APP_SERVICES = ("web", "worker", "audit-worker", "beat")
SETTINGS_TEXT = (ROOT / "timetracker" / "settings.py").read_text()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            for pair in args.split():
                key, value = pair.split("=", 1)
                env[key] = value
    return env


def env_example() -> dict[str, str]:
    pairs = [
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), "a key is set twice in .env.example"
    return dict(pairs)


def settings_env_names() -> set[str]:
    pattern = r'(?:os\.environ\.get|os\.getenv|env_bool|env_list|os\.environ\[)\(?\s*"([A-Z][A-Z0-9_]*)"'
    return set(re.findall(pattern, SETTINGS_TEXT))


def entrypoint_subcommands() -> set[str]:
    return set(re.findall(r"^\s+([a-z-]+)\)\s*$", ENTRYPOINT.read_text(), flags=re.MULTILINE))


def env_files(service: dict) -> list[dict]:
    return [{"path": entry, "required": True} if isinstance(entry, str) else entry for entry in service["env_file"]]


# --- compose.yaml ---------------------------------------------------------------------------


def test_compose_has_exactly_the_production_services(compose):
    assert set(compose["services"]) == {"web", "worker", "audit-worker", "beat", "postgres", "redis"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_the_image_and_run_an_entrypoint_subcommand(compose, name):
    service = compose["services"][name]
    assert service["command"] == [name]
    assert name in entrypoint_subcommands()
    assert (DOCKER / service["build"]["context"]).resolve() == ROOT
    assert service["build"]["dockerfile"] == "docker/Dockerfile"
    assert service["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_read_the_env_example_and_optionally_the_operators_env(compose, name):
    files = env_files(compose["services"][name])
    required = [entry["path"] for entry in files if entry.get("required", True)]
    assert required == ["../.env.example"]
    for path in required:
        assert (DOCKER / path).is_file()
    # .env comes last, so the operator's values win over the placeholders
    assert files[-1] == {"path": "../.env", "required": False}


def test_postgres_keeps_its_data_in_a_named_volume_and_reports_health(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:15"
    volume = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in compose["volumes"]
    assert postgres["healthcheck"]["test"][1].startswith("pg_isready ")


def test_redis_persists_with_append_only_file_and_reports_health(compose):
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7"
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_web_and_worker_share_the_media_volume(compose):
    # the worker renders invoice PDFs into MEDIA_ROOT; web must see them
    media = f"media:{env_example()['MEDIA_ROOT']}"
    assert "media" in compose["volumes"]
    assert media in compose["services"]["web"]["volumes"]
    assert media in compose["services"]["worker"]["volumes"]


def test_web_publishes_8000_and_checks_healthz_like_the_image(compose):
    web = compose["services"]["web"]
    assert web["ports"] == ["8000:8000"]
    assert web["healthcheck"]["test"] == ["CMD", "python", "-c", healthcheck_code()]


def test_only_web_keeps_an_http_health_check(compose):
    assert compose["services"]["beat"]["healthcheck"] == {"disable": True}
    worker_check = compose["services"]["worker"]["healthcheck"]["test"]
    assert "celery -A timetracker inspect ping --destination celery@$$HOSTNAME" in worker_check[1]
    audit_check = compose["services"]["audit-worker"]["healthcheck"]["test"]
    assert "celery -A timetracker inspect ping --destination audit@$$HOSTNAME" in audit_check[1]


# --- entrypoint.sh --------------------------------------------------------------------------


def test_entrypoint_is_valid_bash_with_strict_mode():
    result = subprocess.run(["bash", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "set -euo pipefail" in ENTRYPOINT.read_text()
    assert os.access(ENTRYPOINT, os.X_OK)


@pytest.fixture
def stand_ins(tmp_path) -> tuple[dict[str, str], Path]:
    """PATH with python, gunicorn and celery replaced by scripts that log their arguments."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in ("python", "gunicorn", "celery", "some-tool"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit "${{FAIL_{name.replace("-", "_")}:-0}}"\n')
        script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    return env, log


def run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30)


def test_web_migrates_then_serves_the_asgi_app_with_uvicorn_workers(stand_ins):
    env, log = stand_ins
    result = run_entrypoint({**env, "WEB_CONCURRENCY": "3"}, "web")
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "python manage.py migrate --noinput",
        "gunicorn timetracker.asgi:application -k uvicorn_worker.UvicornWorker --bind 0.0.0.0:8000"
        " --reuse-port --workers 3 --worker-tmp-dir /dev/shm --access-logfile -",
    ]


def test_web_does_not_serve_when_migrations_fail(stand_ins):
    env, log = stand_ins
    result = run_entrypoint({**env, "FAIL_python": "1"}, "web")
    assert result.returncode == 1
    assert log.read_text().splitlines() == ["python manage.py migrate --noinput"]


def test_no_argument_means_web_with_two_workers(stand_ins):
    env, log = stand_ins
    assert run_entrypoint(env).returncode == 0
    assert log.read_text().splitlines()[-1] == (
        "gunicorn timetracker.asgi:application -k uvicorn_worker.UvicornWorker --bind 0.0.0.0:8000"
        " --reuse-port --workers 2 --worker-tmp-dir /dev/shm --access-logfile -"
    )


@pytest.mark.parametrize(
    ("args", "extra_env", "expected"),
    [
        (["worker"], {}, "celery -A timetracker worker --queues celery --loglevel INFO --concurrency 2"),
        (
            ["worker"],
            {"CELERY_CONCURRENCY": "8"},
            "celery -A timetracker worker --queues celery --loglevel INFO --concurrency 8",
        ),
        (
            ["audit-worker"],
            {},
            "celery -A timetracker worker --queues audit --hostname audit@%h --pool solo"
            " --prefetch-multiplier 1000 --loglevel INFO",
        ),
        (["beat"], {}, "celery -A timetracker beat --loglevel INFO --schedule /tmp/celerybeat-schedule"),
        (["manage", "createsuperuser", "--username", "ada"], {}, "python manage.py createsuperuser --username ada"),
        (["some-tool", "--flag", "x"], {}, "some-tool --flag x"),
    ],
)
def test_entrypoint_runs_each_subcommand(stand_ins, args, extra_env, expected):
    env, log = stand_ins
    result = run_entrypoint({**env, **extra_env}, *args)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [expected]


def test_entrypoint_passes_the_exit_code_through(stand_ins):
    env, _ = stand_ins
    assert run_entrypoint({**env, "FAIL_celery": "3"}, "worker").returncode == 3


# --- the health check -----------------------------------------------------------------------


def healthcheck_code() -> str:
    (args,) = [args for instruction, args in dockerfile_instructions() if instruction == "HEALTHCHECK"]
    command = json.loads(args[args.index("CMD ") + 4 :])
    assert command[:2] == ["python", "-c"]
    return command[2]


@pytest.fixture
def healthz_server() -> Iterator[tuple[int, list[str], list[int]]]:
    """A local server answering /healthz with the status in ``status[0]``; records Host headers."""
    hosts: list[str] = []
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            self.send_response(status[0] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hosts, status
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("allowed_hosts", "host_header"),
    [("time.example.com,localhost", "time.example.com"), (".example.com", "example.com"), ("*", "localhost")],
)
def test_healthcheck_passes_on_200_sending_an_allowed_host(healthz_server, allowed_hosts, host_header):
    port, hosts, _ = healthz_server
    code = healthcheck_code()
    assert "http://127.0.0.1:8000/healthz" in code
    code = code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = {"PATH": os.environ["PATH"], "ALLOWED_HOSTS": allowed_hosts}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert hosts == [host_header]


def test_healthcheck_fails_when_healthz_answers_503(healthz_server):
    port, hosts, status = healthz_server
    status[0] = 503
    code = healthcheck_code().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = {"PATH": os.environ["PATH"], "ALLOWED_HOSTS": "localhost"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert result.returncode != 0
    assert hosts == ["localhost"]


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_builds_on_slim_python_311_and_runs_as_a_non_root_user():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users
    assert users[-1] not in {"root", "0", "0:0"}


def test_dockerfile_installs_the_project_with_prod_extra_and_copies_what_it_needs():
    instructions = dockerfile_instructions()
    runs = [args for instruction, args in instructions if instruction == "RUN"]
    assert any("pip install '.[prod]'" in run for run in runs)
    copied = {args.split()[0] for instruction, args in instructions if instruction == "COPY"}
    for source in copied:
        assert (ROOT / source).exists(), source
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for pattern in packages["include"]:
        assert pattern.rstrip("*") in copied
    assert {"manage.py", "templates", "static", "docker/entrypoint.sh"} <= copied
    # the code runs from /app, where settings find templates/ and static/ (not site-packages)
    assert dockerfile_env()["PYTHONPATH"] == "/app"
    assert ("WORKDIR", "/app") in instructions


def test_dockerfile_collects_static_files_with_build_only_settings():
    instructions = dockerfile_instructions()
    (collect,) = [args for instruction, args in instructions if instruction == "RUN" and "collectstatic" in args]
    assert "python manage.py collectstatic --noinput" in collect
    for name in ("SECRET_KEY=", "ALLOWED_HOSTS=", "DATABASE_URL="):
        assert name in collect
    # the throwaway values must not outlive that RUN line
    assert not {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_DEBUG"} & set(dockerfile_env())
    assert dockerfile_env()["STATIC_ROOT"] == env_example()["STATIC_ROOT"]
    assert dockerfile_env()["MEDIA_ROOT"] == env_example()["MEDIA_ROOT"]


def test_dockerfile_exposes_8000_and_starts_web_through_the_entrypoint():
    instructions = dockerfile_instructions()
    assert ("EXPOSE", "8000") in instructions
    assert ("COPY", "docker/entrypoint.sh /usr/local/bin/entrypoint.sh") in instructions
    assert ("ENTRYPOINT", '["/usr/local/bin/entrypoint.sh"]') in instructions
    assert instructions[-1] == ("CMD", '["web"]')
    assert any(instruction == "HEALTHCHECK" for instruction, _ in instructions)


# --- .env.example and settings.py -----------------------------------------------------------


def test_every_env_example_key_is_read_by_settings_or_the_entrypoint():
    entrypoint = ENTRYPOINT.read_text()
    for key in env_example():
        assert f'"{key}"' in SETTINGS_TEXT or f"${{{key}" in entrypoint, key


def test_every_variable_settings_reads_is_in_env_example():
    names = settings_env_names()
    assert {"DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= names
    assert names - set(env_example()) == set()


def test_env_example_points_at_the_compose_services_with_placeholders(compose):
    values = env_example()
    assert values["DJANGO_DEBUG"] == "0"
    assert values["SECRET_KEY"].startswith("change-me")
    database = urlsplit(values["DATABASE_URL"])
    postgres_env = compose["services"]["postgres"]["environment"]
    assert (database.scheme, database.hostname, database.port) == ("postgres", "postgres", 5432)
    assert database.username == postgres_env["POSTGRES_USER"]
    assert database.password == postgres_env["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres_env['POSTGRES_DB']}"
    redis = urlsplit(values["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)


def test_production_settings_start_from_env_example():
    # given: only the image's ENV and .env.example, as in a container
    env = {"PATH": os.environ["PATH"], **dockerfile_env(), **env_example(), "PYTHONPATH": str(ROOT)}
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'timetracker.settings'; django.setup();"
        "from django.conf import settings as s; db = s.DATABASES['default'];"
        "print(json.dumps([s.DEBUG, s.ALLOWED_HOSTS, db['HOST'], db['CONN_MAX_AGE'], s.CELERY_BROKER_URL,"
        " s.CELERY_TASK_ALWAYS_EAGER, str(s.STATIC_ROOT), str(s.MEDIA_ROOT)]))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        False,
        ["localhost", "127.0.0.1"],
        "postgres",
        0,
        "redis://redis:6379/0",
        False,
        "/app/staticfiles",
        "/app/media",
    ]


# --- what the containers start --------------------------------------------------------------


def test_gunicorn_target_and_worker_class_import():
    application = importlib.import_module("timetracker.asgi").application
    assert callable(application)
    worker_class = importlib.import_module("uvicorn_worker").UvicornWorker
    assert issubclass(worker_class, importlib.import_module("gunicorn.workers.base").Worker)


def test_gunicorn_accepts_the_entrypoint_command_line(stand_ins):
    env, log = stand_ins
    assert run_entrypoint(env, "web").returncode == 0
    gunicorn_args = log.read_text().splitlines()[-1].split()[1:]
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [str(gunicorn), "--check-config", *gunicorn_args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_the_bench_serves_the_web_command_of_the_entrypoint(stand_ins):
    from bench import harness

    env, log = stand_ins
    assert run_entrypoint(env, "web").returncode == 0
    production = log.read_text().splitlines()[-1].split()[1:]
    bench = harness.gunicorn("timetracker.asgi:application", 8000)[1:]

    # the same arguments but the address: the bench listens on loopback
    assert bench == [arg.replace("0.0.0.0:", "127.0.0.1:") for arg in production]


def test_celery_finds_the_app_the_way_celery_a_timetracker_does():
    from celery.app.utils import find_app

    app = importlib.import_module("timetracker.celery").app
    assert find_app("timetracker") is app
    assert app.main == "timetracker"
    # beat schedules only tasks the worker knows
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
