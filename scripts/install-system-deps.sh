#!/usr/bin/env bash
# Install the system packages UnionHub's tests need, on Debian 12. Idempotent: only what
# is missing is installed, and `apt-get update` runs only then. Starts no services.
#
#   postgresql          server binaries in /usr/lib/postgresql/15/bin (tests/servers.py)
#   redis-server        Celery broker and cache for the tests (tests/servers.py)
#   gettext             msgfmt, for compilemessages
#   chromium            headless browser for the UI tests
#   fonts-wqy-microhei  CJK font: zh-hans pages in screenshots, embedded in report PDFs
#   npm                 installs axe-core for the browser tests' accessibility check
#   python3-venv        only if python3 cannot create a venv (scripts/test.sh needs one)
set -euo pipefail

missing=()
need() { # need PACKAGE CHECK-COMMAND...: queue PACKAGE unless the check succeeds
    local pkg=$1
    shift
    "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

need postgresql test -x /usr/lib/postgresql/15/bin/pg_ctl
need redis-server command -v redis-server
need gettext command -v msgfmt
need chromium command -v chromium
need fonts-wqy-microhei installed fonts-wqy-microhei
need npm command -v npm
need python3-venv python3 -c 'import ensurepip, venv'

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-deps: all system packages present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "install-system-deps: missing ${missing[*]}; run this script as root (no sudo here)" >&2
    exit 1
fi

# Another apt/dpkg may be running (unattended upgrades, a parallel setup step): wait for
# its locks instead of failing. Lock::Timeout covers dpkg's lock; the retry loop also
# covers the lists lock that `apt-get update` takes.
apt_get() {
    local log tries=60
    log=$(mktemp)
    until "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 -qq "$@" >"$log" 2>&1; do
        if grep -qiE 'could not get lock|unable to acquire|is another process using it' "$log" &&
            [ $((tries -= 1)) -gt 0 ]; then
            sleep 5
            continue
        fi
        cat "$log" >&2
        rm -f "$log"
        return 1
    done
    rm -f "$log"
}

# Package scripts must not start PostgreSQL or Redis: tests run private instances.
# policy-rc.d answering 101 is Debian's way to say so; leave an existing one alone.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

echo "install-system-deps: installing ${missing[*]}"
apt_get update
apt_get install -y --no-install-recommends "${missing[@]}"
echo "install-system-deps: done"
