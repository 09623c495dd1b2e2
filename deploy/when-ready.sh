#!/usr/bin/env bash
# Runs its arguments once deploy/web.sh has migrated the database.
set -euo pipefail
until [ -e "${TRIAL_DIR}/ready" ]; do sleep 0.5; done
exec "$@"
