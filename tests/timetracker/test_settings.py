"""Settings: production refuses to start half-configured, passes check --deploy, local defaults work."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
CONFIG_VARS = {
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "TIMETRACKER_VAR_DIR",
    "COMPILED_QUERIES_CHECK",
    "WEB_THREADS",
}
SETUP = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'timetracker.settings'); django.setup()"
TEST_DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/timetracker")


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any of the settings' inputs, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and not k.startswith("PYTEST")}
    env.update(values)
    return env


def production_env(var_dir: Path) -> dict[str, str]:
    secret_key = secrets.token_urlsafe(48)
    assert len(secret_key) == 64
    return clean_env(
        DJANGO_DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="timetracker.example.com",
        DATABASE_URL=TEST_DATABASE_URL,
        REDIS_URL="redis://127.0.0.1:6379/0",
        TIMETRACKER_VAR_DIR=str(var_dir),
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def settings_dump(env: dict[str, str]) -> dict:
    code = (
        SETUP + "; import json; from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL,"
        "'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
        "'cache': s.CACHES['default']['BACKEND'], 'cache_location': s.CACHES['default'].get('LOCATION')}))"
    )
    result = run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_without_debug_a_missing_required_variable_stops_the_start(tmp_path, missing):
    # given: everything production needs except one, and DJANGO_DEBUG not set at all
    env = production_env(tmp_path)
    del env["DJANGO_DEBUG"], env[missing]

    result = run(["-c", SETUP], env)

    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert missing in message
    # only the missing one is named, so the operator knows what to set
    assert [name for name in REQUIRED_IN_PRODUCTION if name in message] == [missing]


def test_without_debug_and_with_every_required_variable_it_starts(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_DEBUG"]

    dump = settings_dump(env)

    assert dump["debug"] is False
    assert dump["engine"] == "timetracker.postgresql"  # Django's backend, datetimes read in C


def test_check_deploy_has_no_warnings(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in output


def test_local_debug_run_without_redis_is_sqlite_and_eager(tmp_path):
    dump = settings_dump(clean_env(DJANGO_DEBUG="1", TIMETRACKER_VAR_DIR=str(tmp_path)))

    assert dump["debug"] is True
    assert dump["engine"] == "django.db.backends.sqlite3"
    assert dump["name"] == str(tmp_path / "timetracker.sqlite3")
    assert dump["eager"] is True
    assert dump["broker"] == "memory://"
    assert dump["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_turns_eager_off_and_caches_in_redis(tmp_path):
    env = clean_env(DJANGO_DEBUG="1", TIMETRACKER_VAR_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/3")

    dump = settings_dump(env)

    assert dump["eager"] is False
    assert dump["broker"] == "redis://127.0.0.1:6379/3"
    assert dump["cache"] == "timetracker.cache.SharedRedisCache"
    assert dump["cache_location"] == "redis://127.0.0.1:6379/3"


def test_celery_acknowledges_late_and_requeues_on_worker_loss():
    from timetracker.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_an_allowed_hosts_list_without_hosts_is_refused(tmp_path):
    env = production_env(tmp_path)
    env["ALLOWED_HOSTS"] = " , "
    result = run(["-c", SETUP], env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_web_threads_must_be_a_whole_number_of_at_least_one(tmp_path, value):
    result = run(["-c", SETUP], {**production_env(tmp_path), "WEB_THREADS": value})
    assert result.returncode != 0
    assert result.stderr.splitlines()[-1].endswith(f"WEB_THREADS must be a whole number of at least 1, not {value!r}.")


def test_web_threads_defaults_to_two(tmp_path):
    code = SETUP + "; from django.conf import settings; print(settings.WEB_THREADS)"
    for env in (production_env(tmp_path), {**production_env(tmp_path), "WEB_THREADS": ""}):
        result = run(["-c", code], env)
        assert (result.returncode, result.stdout.strip()) == (0, "2"), result.stderr
    result = run(["-c", code], {**production_env(tmp_path), "WEB_THREADS": "6"})
    assert result.stdout.strip() == "6"


@pytest.mark.django_db
def test_production_pools_postgresql_connections_and_a_query_goes_through_the_pool(tmp_path):
    from tests.workspaces.audit_harness import worker_database_url

    env = {**production_env(tmp_path), "DATABASE_URL": worker_database_url()}  # the test database
    code = (
        SETUP + "; import json; from django.conf import settings as s; from django.db import connection as c;"
        " c.ensure_connection(); pooled = c.pool is not None; c.cursor().execute('SELECT 1'); c.close();"
        " print(json.dumps({'pool': s.DATABASES['default']['OPTIONS'].get('pool'),"
        " 'age': s.DATABASES['default']['CONN_MAX_AGE'], 'pooled': pooled}))"
    )
    result = run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    dump = json.loads(result.stdout.strip().splitlines()[-1])
    assert dump == {"pool": {"min_size": 2, "max_size": 20, "timeout": 10.0}, "age": 0, "pooled": True}

    off = run(["-c", code.replace("c.pool is not None", "False")], {**env, "DATABASE_POOL": "0"})
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout.strip().splitlines()[-1])["pool"] is None


def test_postgresql_binds_on_the_server_and_prepares_unless_turned_off(tmp_path):
    code = (
        SETUP + "; import json; from django.conf import settings as s; o = s.DATABASES['default']['OPTIONS'];"
        " print(json.dumps([o.get('server_side_binding'), o.get('prepare_threshold')]))"
    )
    env = production_env(tmp_path)
    on = run(["-c", code], env)
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout.strip().splitlines()[-1]) == [True, 2]

    off = run(["-c", code], {**env, "DATABASE_PREPARED": "0"})
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout.strip().splitlines()[-1]) == [None, None]


def test_compiled_queries_are_checked_wherever_debug_is_on_unless_turned_off(tmp_path):
    code = SETUP + "; from django.conf import settings as s; print(s.COMPILED_QUERIES_CHECK)"
    production = production_env(tmp_path)
    debug = clean_env(DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    outputs = [
        run(["-c", code], env)
        for env in (
            production,
            debug,
            {**debug, "COMPILED_QUERIES_CHECK": "0"},
            {**production, "COMPILED_QUERIES_CHECK": "1"},
        )
    ]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert [o.stdout.strip().splitlines()[-1] for o in outputs] == ["False", "True", "False", "True"]


def test_celerys_result_backend_is_built_once_per_process_not_per_thread():
    """Each ASGI request runs in a thread of its own; building the backend reads entry points."""
    import threading

    from timetracker.celery import app

    seen = []
    thread = threading.Thread(target=lambda: seen.append(app.backend))
    thread.start()
    thread.join()
    assert seen == [app.backend]
    assert seen[0] is app.backend
