"""Settings: production refuses to start half-configured, passes check --deploy, local defaults work."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG_VARS = {"DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "TIMETRACKER_VAR_DIR"}
SETUP = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'timetracker.settings'); django.setup()"


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and not k.startswith("PYTEST")}
    env.update(values)
    return env


def production_env() -> dict[str, str]:
    return clean_env(
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="timetracker.example.com",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/timetracker"),
        REDIS_URL="redis://127.0.0.1:6379/0",
    )


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_required_settings(missing):
    env = production_env()
    del env[missing]
    result = run_python(SETUP, env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr.splitlines()[-1]


def test_production_starts_with_everything_given():
    result = run_python(SETUP + "; from django.conf import settings; print(settings.DEBUG)", production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_check_deploy_has_no_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in output


def _settings_dump(env: dict[str, str]) -> dict:
    code = (
        SETUP + "; import json; from django.conf import settings as s; print(json.dumps({"
        "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL,"
        "'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
        "'cache': s.CACHES['default']['BACKEND']}))"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_local_default_is_sqlite_under_var_and_eager_celery(tmp_path):
    dump = _settings_dump(clean_env(DJANGO_DEBUG="1", TIMETRACKER_VAR_DIR=str(tmp_path)))
    assert dump["engine"] == "django.db.backends.sqlite3"
    assert dump["name"] == str(tmp_path / "timetracker.sqlite3")
    assert dump["eager"] is True
    assert dump["cache"].endswith("LocMemCache")


def test_redis_url_makes_celery_use_the_broker_and_the_cache_redis(tmp_path):
    dump = _settings_dump(
        clean_env(DJANGO_DEBUG="1", TIMETRACKER_VAR_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/3")
    )
    assert dump["eager"] is False
    assert dump["broker"] == "redis://127.0.0.1:6379/3"
    assert dump["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_celery_acknowledges_late_and_requeues_on_worker_loss():
    from timetracker.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
