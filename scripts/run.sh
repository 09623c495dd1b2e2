#!/usr/bin/env bash
# The main job on a fresh machine: install, migrate, load demo data, serve on 127.0.0.1:8000.
# Embedded defaults: SQLite file database, Celery tasks run eagerly, secrets generated into .env.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
