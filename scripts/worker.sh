#!/usr/bin/env bash
# Background work with Redis: one Celery worker and Celery beat, in the foreground.
#   CELERY_BROKER_URL=redis://127.0.0.1:6379/0 scripts/worker.sh
# The worker runs every task (tasks are idempotent and acknowledged late); beat reads the
# schedule from django-celery-beat (edit it in the admin under "Periodic tasks"). Run beat
# once per site; run more workers (WORKER_CONCURRENCY, or this script without beat on other
# hosts: WITH_BEAT=0) for more throughput. Ctrl-C or SIGTERM stops both, warmly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CELERY_BROKER_URL:-}" ]; then
  echo "worker.sh: set CELERY_BROKER_URL (redis://...); without it tasks run in-process." >&2
  exit 2
fi
celery=(.venv/bin/celery -A unionhub)
pids=()
"${celery[@]}" worker --loglevel="${LOG_LEVEL:-INFO}" \
  --concurrency="${WORKER_CONCURRENCY:-$(nproc)}" --hostname="worker@%h" &
pids+=($!)
if [ "${WITH_BEAT:-1}" = "1" ]; then
  "${celery[@]}" beat --loglevel="${LOG_LEVEL:-INFO}" &
  pids+=($!)
fi
stopping=0
trap 'stopping=1; kill -TERM "${pids[@]}" 2>/dev/null || true' INT TERM
status=0
wait -n "${pids[@]}" || status=$?
kill -TERM "${pids[@]}" 2>/dev/null || true
wait || true
# Asked to stop: a clean exit. One of the two died on its own: its status.
if [ "$stopping" = "1" ]; then exit 0; fi
exit "$status"
