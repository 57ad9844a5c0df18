"""No Docker engine runs here, so the docker files are checked as far as tools allow:
the YAML parses, the services and commands are the ones the app really has, and every
module and command they name exists."""

import importlib
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def entrypoint_subcommands() -> set[str]:
    text = (DOCKER / "entrypoint.sh").read_text()
    return set(re.findall(r"^\s+([a-z]+)\)\s*$", text, flags=re.MULTILINE))


def test_compose_has_the_production_services(compose):
    assert set(compose["services"]) == {"web", "worker", "beat", "postgres", "redis"}


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_app_services_run_a_subcommand_the_entrypoint_knows(compose, service):
    spec = compose["services"][service]
    assert spec["command"] == [service]
    assert service in entrypoint_subcommands()
    assert spec["build"]["dockerfile"] == "docker/Dockerfile"
    assert (DOCKER / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()
    assert (DOCKER / spec["env_file"]).is_file()
    assert spec["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_postgres_and_redis_persist_and_report_health(compose):
    postgres, redis = compose["services"]["postgres"], compose["services"]["redis"]
    assert postgres["image"].startswith("postgres:15")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "ping" in redis["healthcheck"]["test"]
    assert "/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def _settings_env_names() -> set[str]:
    text = (ROOT / "timetracker" / "settings.py").read_text()
    names = set(re.findall(r'(?:os\.environ\.get|env_bool|env_list)\(\s*"([A-Z_]+)"', text))
    names |= set(re.findall(r"for name in \(([^)]*)\)", text)[0].replace('"', "").replace(" ", "").split(","))
    return names - {""}


def _env_example_names() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_env_example_and_settings_name_the_same_variables():
    assert _env_example_names() == _settings_env_names()


def test_env_example_holds_placeholders_not_secrets():
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert values["SECRET_KEY"].startswith("change-me")
    assert values["DJANGO_DEBUG"] == "0"


def test_dockerfile_builds_a_slim_non_root_image_with_static_files_and_a_healthcheck():
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.MULTILINE)
    user = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert user
    assert user[-1] not in {"root", "0"}
    assert "collectstatic --noinput" in text
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
    assert 'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' in text
    for copied in re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE):
        assert (ROOT / copied).exists(), copied


def test_entrypoint_is_valid_bash_and_names_real_targets():
    subprocess.run(["bash", "-n", str(DOCKER / "entrypoint.sh")], check=True)
    text = (DOCKER / "entrypoint.sh").read_text()
    assert "gunicorn timetracker.asgi:application" in text
    assert "-k uvicorn_worker.UvicornWorker" in text
    assert "celery -A timetracker worker" in text
    assert "celery -A timetracker beat" in text


def test_the_modules_the_containers_start_exist():
    assert hasattr(importlib.import_module("timetracker.asgi"), "application")
    assert hasattr(importlib.import_module("uvicorn_worker"), "UvicornWorker")
    assert importlib.import_module("timetracker.celery").app.main == "timetracker"
    assert importlib.import_module("gunicorn").__name__ == "gunicorn"
