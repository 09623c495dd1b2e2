#!/usr/bin/env bash
# The one test command, for developers and CI alike:
#   system packages -> .venv + requirements -> ruff lint and format check -> pytest.
# Arguments are passed to pytest (e.g. scripts/test.sh -x -k members).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-system-deps.sh

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
export VIRTUAL_ENV="$PWD/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1

python -m pip install -q -r requirements-dev.txt
# axe-core (npm), run inside the headless Chromium tests; pinned by its package-lock.json.
npm ci --prefix tests/browser --no-audit --no-fund --silent

ruff check .
ruff format --check .

# Static security analysis of the application code (skips explained in pyproject.toml).
bandit -q -c pyproject.toml -r core accounts organizations members services notifications reports unionhub
# Known vulnerabilities of every pinned package, from PyPI's advisory data. On a network
# whose package mirror serves no per-release data, pip-audit lists each package as "could
# not be audited" and finds nothing: read its output, it says which case this run was.
pip-audit --no-deps --disable-pip -r requirements.txt -r requirements-dev.txt \
    --progress-spinner off 2>&1 | tail -n 3

status=0
# Both cores: each file goes whole to one worker (module fixtures are built once per file);
# every worker starts its own PostgreSQL and Redis (tests/servers.py). -n 0 runs in-process.
python -m pytest -n "${UNIONHUB_TEST_WORKERS:-auto}" --dist loadfile "$@" || status=$?
if [ "$status" -eq 5 ]; then
    # pytest's "no tests collected": a test run that tested nothing must not pass.
    echo "test.sh: pytest collected no tests" >&2
fi
exit "$status"
