#!/usr/bin/env bash
# PostgreSQL in the foreground on TRIAL_DIR/pg (created by scripts/trial.sh), local only.
set -euo pipefail
prefix=()
if [ "$(id -u)" = "0" ]; then prefix=(runuser -u postgres --); fi
exec "${prefix[@]}" "${PG_BINDIR}/postgres" -D "${TRIAL_DIR}/pg" -p "${PGPORT}" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories="${TRIAL_DIR}/pgrun" \
  -c shared_buffers=256MB -c max_connections=100
