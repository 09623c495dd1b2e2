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
# Each Celery process runs in its own session, so a signal to this script's process group
# (Ctrl-C in a terminal, a supervisor's killpg) reaches only this script, which passes it on
# exactly once: Celery beat can deadlock in its shutdown handler when a second TERM arrives
# during the first, and the worker's pool children must be stopped by their parent, not by
# the signal itself (a task would be cut off).
pids=()
setsid "${celery[@]}" worker --loglevel="${LOG_LEVEL:-INFO}" \
  --concurrency="${WORKER_CONCURRENCY:-$(nproc)}" --hostname="worker@%h" &
worker=$!
pids+=("$worker")
if [ "${WITH_BEAT:-1}" = "1" ]; then
  setsid "${celery[@]}" beat --loglevel="${LOG_LEVEL:-INFO}" &
  pids+=($!)
fi
stopping=0
stop() {
  if [ "$stopping" = "0" ]; then
    stopping=1
    kill -TERM "${pids[@]}" 2>/dev/null || true  # warm shutdown: running tasks finish
  else
    echo "worker.sh: stopping now, cutting off running tasks" >&2
    kill -QUIT "$worker" 2>/dev/null || true  # Celery's cold shutdown
  fi
}
trap stop INT TERM
status=0
wait -n "${pids[@]}" || status=$?
asked=$stopping
# Whichever way it ended, the other process stops too (once), and the script waits for both.
if [ "$stopping" = "0" ]; then stop; fi
for pid in "${pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
done
# Asked to stop: a clean exit. One of the two died on its own: its status.
if [ "$asked" = "1" ]; then exit 0; fi
exit "$status"
