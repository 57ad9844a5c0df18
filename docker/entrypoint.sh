#!/usr/bin/env bash
# Container entry point: `web`, `worker`, `beat`, `manage <args>`, or any command.
set -euo pipefail

case "${1:-web}" in
  web)
    python manage.py migrate --noinput
    exec gunicorn timetracker.asgi:application \
      -k uvicorn_worker.UvicornWorker \
      --bind 0.0.0.0:8000 \
      --workers "${WEB_CONCURRENCY:-2}" \
      --access-logfile -
    ;;
  worker)
    exec celery -A timetracker worker --loglevel INFO --concurrency "${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A timetracker beat --loglevel INFO --schedule /tmp/celerybeat-schedule
    ;;
  manage)
    shift
    exec python manage.py "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
