"""Settings for timetracker, read top to bottom, driven by the environment.

Local default (nothing set): SQLite under ``var/``, Celery eager, DEBUG off unless
``DJANGO_DEBUG=1``. With DEBUG off the process refuses to start unless ``SECRET_KEY``,
``ALLOWED_HOSTS`` and ``DATABASE_URL`` are given.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from timetracker.observability import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TIMETRACKER_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)

if not DEBUG:
    # ALLOWED_HOSTS counts as given only if it names at least one host (e.g. not ",").
    missing = [
        name
        for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
        if not (env_list(name) if name == "ALLOWED_HOSTS" else os.environ.get(name, "").strip())
    ]
    if missing:
        raise ImproperlyConfigured(
            "Production settings (DJANGO_DEBUG off) need these environment variables: "
            + ", ".join(missing)
            + ". For a local run use `make run`, which sets DJANGO_DEBUG=1."
        )

# A per-process random key keeps local runs working without committing a secret; sessions
# then last as long as the process, which is what a local run wants.
SECRET_KEY = os.environ.get("SECRET_KEY") or "local-" + os.urandom(32).hex()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or (["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "oauth2_provider",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "workspaces",
    "timesheets",
    "billing",
    "mcp_gateway",
]

MIDDLEWARE = [
    "timetracker.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "timetracker.urls"
WSGI_APPLICATION = "timetracker.wsgi.application"
ASGI_APPLICATION = "timetracker.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workspaces.web.navigation",
            ],
        },
    },
]

# Requests one web process runs in Django at once; more wait in its event loop (the /mcp
# endpoint is not counted). Two keeps the GIL from slowing a lock's holder (timetracker.asgi_django);
# raise it when the database is far away and requests spend most of their time waiting on it.
try:
    WEB_THREADS = int(os.environ.get("WEB_THREADS") or "2")
except ValueError:
    WEB_THREADS = 0
if WEB_THREADS < 1:
    raise ImproperlyConfigured(f"WEB_THREADS must be a whole number of at least 1, not {os.environ['WEB_THREADS']!r}.")

# Database: DATABASE_URL, or a SQLite file under var/ for the zero-setup local run.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'timetracker.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),  # ASGI: no persistent connections
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "timetracker.postgresql"  # datetimes read by psycopg's C loader
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The eager local run has one process; a longer busy timeout avoids "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif env_bool("DATABASE_POOL", default=not DEBUG):
    # A connection pool per process (psycopg_pool): under ASGI every request and every MCP tool
    # call would otherwise open a new PostgreSQL connection (≈ 7 ms, measured in bench/). Django
    # hands a connection back to the pool where it would have closed it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "2")),
        "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "20")),
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
    }
if DATABASES["default"]["ENGINE"] == "timetracker.postgresql" and env_bool("DATABASE_PREPARED", default=True):
    # Parameters bound by the server, and a statement prepared on its third run on a connection, so
    # PostgreSQL reuses its plan (timetracker.postgresql.PreparingCursor: never for a GROUP BY).
    # Turn off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)
# Reports compile their SQL once per shape (timetracker.compiled); with the check on, every call
# also recompiles and refuses to run if the SQL differs: on wherever DEBUG is (tests, make run).
COMPILED_QUERIES_CHECK = env_bool("COMPILED_QUERIES_CHECK", default=DEBUG)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "workspaces.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Brute-force protection of the sign-in form (per username and address, in the shared cache).
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Redis: the Celery broker and the shared cache. Absent → tasks run eagerly in-process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "timetracker.cache.SharedRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# No result backend: every task's result is ignored. Celery still builds its (disabled) backend
# object on each publish, once per thread unless it is marked thread-safe; under ASGI each
# request has a thread of its own, and building it reads the installed packages' entry points
# (about 1 ms of each audited REST read, bench/README.md, seventh round).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
# A task acked late is redelivered once this long has passed without its ack (a worker died
# under it): keep it above the longest task. The sweep that puts such tasks back runs every
# CELERY_UNACKED_RESTORE_SECONDS in each worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_SECONDS", "3600")),
    "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_SECONDS", "10")),
    "unacked_restore_throttle": 1,
}
# Audit events have their own queue and worker (`celery worker -Q audit`, see docker/), which
# batches inserts; the other tasks stay on the default queue.
CELERY_TASK_ROUTES = {"audit.*": {"queue": "audit"}}
# The worker logs through LOGGING below (JSON lines), not through Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "check-budgets": {"task": "billing.tasks.check_budgets", "schedule": 15 * 60},
    "audit-retention": {"task": "workspaces.tasks.purge_expired_audit_events", "schedule": 6 * 60 * 60},
    "idempotency-purge": {"task": "workspaces.tasks.purge_idempotency_records", "schedule": 60 * 60},
}

# Audit trail. Reads and denials are handed to the audit queue ("celery") or, with no broker,
# written in the request ("inline"); when the broker cannot take an event within
# AUDIT_PUBLISH_TIMEOUT_SECONDS it is written in the request too, and publishing pauses for
# AUDIT_BROKER_RETRY_SECONDS before it is tried again.
AUDIT_DELIVERY = os.environ.get("AUDIT_DELIVERY", "celery" if REDIS_URL else "inline")
if AUDIT_DELIVERY not in {"celery", "inline"}:
    raise ImproperlyConfigured("AUDIT_DELIVERY must be 'celery' or 'inline'.")
AUDIT_PUBLISH_TIMEOUT_SECONDS = float(os.environ.get("AUDIT_PUBLISH_TIMEOUT_SECONDS", "0.3"))
AUDIT_BROKER_RETRY_SECONDS = float(os.environ.get("AUDIT_BROKER_RETRY_SECONDS", "5"))
# Events without a workspace (sign-in failures, system jobs) are kept this long; each
# workspace sets its own period (Workspace.audit_retention_days, 400 days by default).
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "400"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "timetracker@localhost")

# The address people and agents reach this instance at: links in emails, the OAuth metadata, and
# the MCP endpoint PUBLIC_BASE_URL + "/mcp" (its 401 points agents at this origin's metadata, and
# an OAuth token works there only when it was issued for exactly that resource, RFC 8707).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/") or "http://127.0.0.1:8000"
MCP_RESOURCE_URL = f"{PUBLIC_BASE_URL}/mcp"
# Browser origins that may call /mcp (DNS-rebinding protection); agents send no Origin at all.
MCP_ALLOWED_ORIGINS = env_list("MCP_ALLOWED_ORIGINS") or [PUBLIC_BASE_URL, *CSRF_TRUSTED_ORIGINS]
# The largest JSON-RPC request body /mcp accepts; larger ones answer 413.
MCP_MAX_REQUEST_BYTES = int(os.environ.get("MCP_MAX_REQUEST_BYTES", str(256 * 1024)))
# Calls per minute through /mcp, per connection (a read or write tool call counts once).
MCP_THROTTLE_PER_MINUTE = int(os.environ.get("MCP_THROTTLE_PER_MINUTE", "600"))

# OAuth 2.1 authorization server (django-oauth-toolkit). Its models are swapped for ours so
# every grant and token points at its Connection (workspaces/models/access.py).
OAUTH2_PROVIDER_APPLICATION_MODEL = "workspaces.OAuthApplication"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "workspaces.OAuthAccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "workspaces.OAuthRefreshToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_GRANT_MODEL = "workspaces.OAuthGrant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "workspaces.OAuthIDToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER = {
    "SCOPES": {
        "read": "Read your hours, projects, budgets and reports",
        "write": "Log and change time on your behalf",
        "admin": "Administer the workspace (settings, members, audit trail)",
    },
    "DEFAULT_SCOPES": ["read"],
    "PKCE_REQUIRED": True,
    "OAUTH2_VALIDATOR_CLASS": "workspaces.oauth.ConnectionOAuth2Validator",
    "DCR_ENABLED": True,
    # Open registration for public clients (MCP agents register themselves); see urls.py for
    # the rate limit and the redirect rule.
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "CIMD_ENABLED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 60 * 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_EXPIRE_SECONDS": int(os.environ.get("OAUTH_REFRESH_TOKEN_LIFETIME_SECONDS", str(30 * 24 * 3600))),
    # RFC 9700 (OAuth 2.0 Security BCP): no implicit or password grant, S256 only, tokens
    # never in the query string, `iss` in the authorization response, tokens hashed at rest.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # RFC 9728: the protected-resource documents name this server as their authorization server
    # (MCP clients need it to find the OAuth endpoints).
    "OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS": [PUBLIC_BASE_URL],
}
# Native agents (Claude Desktop, Cursor, the MCP Inspector) receive the code on a loopback
# `http://127.0.0.1:<port>/` redirect (RFC 8252), so `http` stays allowed here; limiting it
# to loopback hosts is the job of client registration (dynamic registration, issue 3).
# Refresh tokens end this long after consent, however often they rotate (DOT's own expiry slides).
OAUTH_ABSOLUTE_REFRESH_LIFETIME_SECONDS = int(
    os.environ.get("OAUTH_REFRESH_TOKEN_LIFETIME_SECONDS", str(30 * 24 * 3600))
)
OAUTH_DCR_REGISTRATIONS_PER_HOUR = int(os.environ.get("OAUTH_DCR_REGISTRATIONS_PER_HOUR", "30"))
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The entries' covering indexes (INCLUDE) are for PostgreSQL; SQLite builds them plain, as meant.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bearer first: an unauthenticated call answers 401 with its WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workspaces.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "workspaces.api_errors.exception_handler",
    # `?format=` names a download (csv, xlsx), not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
# Requests per minute through the REST API, per principal (connection or signed-in person) and
# per OAuth client application (all its connections together).
API_THROTTLE_RATES = {
    "principal": os.environ.get("API_THROTTLE_PRINCIPAL", "1200/min"),
    "client_application": os.environ.get("API_THROTTLE_CLIENT_APPLICATION", "6000/min"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "timetracker API",
    "DESCRIPTION": (
        "Time, timesheets, budgets, invoices and reports of one workspace. Authenticate with an "
        "OAuth 2.1 access token bound to /api/v1 or an API key (`Authorization: Bearer tt_…`). "
        'Every error has the shape {"error": {"code", "message", "fields"}}.'
    ),
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI from the drf-spectacular-sidecar package: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several resources have a "status"; each enum gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "ProjectStatusEnum": "workspaces.models.ProjectStatus",
        "TimesheetStatusEnum": "timesheets.models.TimesheetStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "workspaces.schema.document_errors",
    ],
}

# Security: strict outside DEBUG. TLS is terminated by the proxy in front, which sets
# X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not DEBUG and env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# One JSON object per line for the web process and the worker (LOG_FORMAT=json, the default
# outside DEBUG), each with the request id; LOG_FORMAT=text for reading by eye.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "") or ("text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'.")
LOGGING = logging_config(json_lines=LOG_FORMAT == "json", level=os.environ.get("LOG_LEVEL", "INFO"))
