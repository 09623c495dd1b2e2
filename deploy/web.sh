#!/usr/bin/env bash
# Waits for PostgreSQL (creating the database on the first start), migrates, collects static
# files, checks the deployment settings, then runs gunicorn. The worker and beat start once
# the migrations are in (deploy/when-ready.sh).
set -euo pipefail
.venv/bin/python - <<'PY'
import os, time
from urllib.parse import urlsplit
import psycopg
url = urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
maintenance = url._replace(scheme="postgresql", path="/postgres").geturl()
deadline = time.monotonic() + 60
while True:
    try:
        connection = psycopg.connect(maintenance, connect_timeout=1, autocommit=True)
        break
    except psycopg.OperationalError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
with connection:
    exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        connection.execute(f'CREATE DATABASE "{name}"')
PY
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput -v 0
.venv/bin/python manage.py check --deploy --fail-level ERROR
touch "${TRIAL_DIR}/ready"
exec .venv/bin/gunicorn -c deploy/gunicorn.conf.py unionhub.wsgi
