#!/usr/bin/env bash
# Container entry point: `web`, `worker`, `audit-worker`, `beat`, `manage <args>`, or any other command as is.
# The image's WORKDIR (/app) holds manage.py; `exec` makes the server PID 1 so it gets SIGTERM.
set -euo pipefail

case "${1:-web}" in
  web)
    # Every web replica migrates before serving; with several replicas, run
    # `manage migrate` once beforehand so they do not race.
    python manage.py migrate --noinput
    # --reuse-port: each worker listens on its own socket and the kernel spreads new connections
    # over them. On one shared socket, whichever worker is awake accepts a burst of keep-alive
    # connections (a proxy's pool, an integration's client) and keeps them all: bench/ saw one
    # worker at a full core and the other idle (bench/README, eleventh round).
    exec gunicorn timetracker.asgi:application \
      -k uvicorn_worker.UvicornWorker \
      --bind 0.0.0.0:8000 \
      --reuse-port \
      --workers "${WEB_CONCURRENCY:-2}" \
      --worker-tmp-dir /dev/shm \
      --access-logfile -
    ;;
  worker)
    exec celery -A timetracker worker --queues celery --loglevel INFO --concurrency "${CELERY_CONCURRENCY:-2}"
    ;;
  audit-worker)
    # Audit events are stored in batches (up to 200 per insert): the worker reserves many
    # messages at once and acknowledges each only after its batch is committed.
    exec celery -A timetracker worker --queues audit --hostname "audit@%h" --pool solo \
      --prefetch-multiplier 1000 --loglevel INFO
    ;;
  beat)
    # Run exactly one beat: two would send every scheduled task twice.
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
