"""ASGI entry point: one process serves pages, the REST API and (later) the MCP endpoint."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")

application = get_asgi_application()
