"""The Celery app, configured from Django settings (``CELERY_*``).

Tasks are acknowledged only after they ran (``acks_late``) and are put back when a worker
dies under them (``task_reject_on_worker_lost``), so a crash never drops work; every task
must therefore be idempotent.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")

app = Celery("timetracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.setdefault("task_acks_late", True)
app.conf.setdefault("task_reject_on_worker_lost", True)
app.autodiscover_tasks()

# The request id travels with each task (timetracker.observability's signal handlers).
import timetracker.observability  # noqa: E402,F401
