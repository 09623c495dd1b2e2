"""Pytest plugin that gives the test session private PostgreSQL and Redis servers.

Loaded with ``-p tests.servers`` (see pytest.ini).  The settings module reads
``DATABASE_URL`` and ``CELERY_BROKER_URL`` when it is imported, and pytest-django
imports it inside its own ``pytest_load_initial_conftests`` hook, i.e. before any
conftest.py is read.  So the servers are started from a *wrapper* of that hook:
wrappers run around every plain implementation, whatever the registration order
(a ``-p`` plugin is registered before entry-point plugins such as pytest-django,
and pluggy calls later-registered implementations first, so a plain one here
would run *after* pytest-django's, and ``tryfirst`` only works for as long as
pytest-django's own implementation is not ``tryfirst`` as well).

Environment knobs:

* ``DATABASE_URL`` / ``CELERY_BROKER_URL`` already set: used as they are, and the
  matching server is not started (point the tests at existing servers).
* ``UNIONHUB_TEST_SQLITE=1``: no PostgreSQL; ``DATABASE_URL`` is removed so the
  settings fall back to SQLite.  For quick local runs only.
* ``UNIONHUB_PG_BINDIR``: where initdb/pg_ctl live (default: PostgreSQL 15's).

Also exported: ``REDIS_URL`` (the same Redis, db 1) for cache tests.

Every server runs from a temporary directory named ``unionhub-pytest-<pid>-*``.
They are stopped at ``pytest_unconfigure`` (and from ``atexit`` as a backup); if
a session is killed outright, the next session reaps what it left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_BINDIR_DEFAULT = Path("/usr/lib/postgresql/15/bin")
PG_SUPERUSER = "postgres"
DB_NAME = "unionhub"
RUN_PREFIX = "unionhub-pytest-"
INSTALL_HINT = "Run scripts/install-system-deps.sh to install it."
STARTUP_TIMEOUT = 30  # seconds
PORT_ATTEMPTS = 3  # a port picked as free may be taken before the server binds it

_MANAGED_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")


class ServiceError(Exception):
    """A test server could not be set up; reported to the user as a usage error."""


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    except OSError as exc:
        raise ServiceError(f"{what} failed: {exc}") from None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise ServiceError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{output}")
    return proc


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return ""


def _kill_pidfile(pidfile: Path, expect: str, timeout: float = 5.0) -> None:
    """SIGTERM the process named in ``pidfile`` (then SIGKILL) if it runs ``expect``."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    # Guard against pid reuse: never signal a process that is not ours.
    if expect not in os.path.basename(_process_name(pid)):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def _mask_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- #
# PostgreSQL
# --------------------------------------------------------------------------- #


def _pg_bindir() -> Path:
    override = os.environ.get("UNIONHUB_PG_BINDIR")
    bindir = Path(override) if override else PG_BINDIR_DEFAULT
    if not (bindir / "pg_ctl").is_file():
        raise ServiceError(
            f"PostgreSQL server binaries not found in {bindir} (pg_ctl missing). {INSTALL_HINT}"
            " (Or set DATABASE_URL to use an existing server, or UNIONHUB_TEST_SQLITE=1.)"
        )
    return bindir


def _as_postgres() -> list[str]:
    """Command prefix that runs a server-side tool as the postgres OS user (when root)."""
    if os.geteuid() != 0:
        return []
    # runuser lives in /usr/sbin, which a trimmed PATH may lack.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    runuser = shutil.which("runuser", path=search) or "runuser"
    return [runuser, "-u", PG_SUPERUSER, "--"]


class Postgres:
    """A throwaway cluster: trust auth, loopback only, durability switched off."""

    def __init__(self, rundir: Path) -> None:
        self.bindir = _pg_bindir()
        self.dir = rundir / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"  # one per port tried, see start()
        self.port: int | None = None
        self._prefix: list[str] = []
        self.dir.mkdir()
        # PostgreSQL refuses to run as root, so as root everything server-side
        # runs as the `postgres` OS user, which must own the directory.
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(PG_SUPERUSER)
            except KeyError:
                raise ServiceError(
                    f"OS user {PG_SUPERUSER!r} does not exist; PostgreSQL cannot run as root."
                    f" {INSTALL_HINT}"
                ) from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._prefix = _as_postgres()

    def _server_cmd(self, tool: str, *args: str) -> list[str]:
        return [*self._prefix, str(self.bindir / tool), *args]

    def _run_server_cmd(self, what: str, tool: str, *args: str) -> None:
        # cwd: the postgres user may not be allowed into the caller's directory.
        _run(self._server_cmd(tool, *args), what, cwd=self.dir)

    def start(self) -> None:
        self._initdb()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = _free_port()
            # A fresh log per attempt: a stale "already in use" must not trigger a retry.
            self.log = self.dir / f"postgres-{self.port}.log"
            options = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {self.dir}",  # unix socket in our temp dir, not /var/run
                    "-c listen_addresses=127.0.0.1",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            try:
                # -w waits until the server accepts connections.
                self._run_server_cmd(
                    "starting PostgreSQL",
                    "pg_ctl",
                    *("-D", str(self.data), "-l", str(self.log)),
                    *("-o", options, "-w", "-t", str(STARTUP_TIMEOUT), "start"),
                )
                break
            except ServiceError as exc:
                log = _tail(self.log)
                if "already in use" in log and attempt < PORT_ATTEMPTS:
                    continue
                raise ServiceError(f"{exc}\n--- {self.log} ---\n{log}") from None
        # The test database is created by pytest-django; this one is for code
        # that connects to DATABASE_URL's own database outside the test DB.
        _run(
            [str(self.bindir / "createdb"), *self._client_args(), DB_NAME],
            "creating the database",
        )

    def _initdb(self) -> None:
        base = ["-D", str(self.data), "-U", PG_SUPERUSER, "-A", "trust", "-E", "UTF8", "-N"]
        try:
            self._run_server_cmd("initdb", "initdb", *base, "--locale=C.UTF-8")
        except ServiceError:
            # Minimal systems may lack the C.UTF-8 locale; plain C always exists.
            shutil.rmtree(self.data, ignore_errors=True)
            self._run_server_cmd("initdb", "initdb", *base, "--locale=C")

    def _client_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", PG_SUPERUSER]

    @property
    def url(self) -> str:
        return f"postgres://{PG_SUPERUSER}@127.0.0.1:{self.port}/{DB_NAME}"

    def stop(self) -> None:
        stop_server(self.dir, self._prefix, self.bindir)


def stop_server(pgdir: Path, prefix: list[str], bindir: Path) -> None:
    """Stop the cluster in ``pgdir``; escalates to ``immediate`` and then SIGKILL."""
    data = pgdir / "data"
    if not (data / "postmaster.pid").exists():
        return
    for mode in ("fast", "immediate"):
        cmd = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "15"]
        proc = subprocess.run([*cmd, "stop"], capture_output=True, cwd=pgdir, check=False)
        if proc.returncode == 0:
            return
    _kill_pidfile(data / "postmaster.pid", expect="postgres")


# --------------------------------------------------------------------------- #
# Redis
# --------------------------------------------------------------------------- #


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Redis:
    """A private, non-persistent redis-server on a free loopback port."""

    def __init__(self, rundir: Path) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise ServiceError(
                "redis-server not found on PATH. "
                f"{INSTALL_HINT} (Or set CELERY_BROKER_URL to use an existing broker.)"
            )
        self.dir = rundir / "redis"
        self.dir.mkdir()
        self.pidfile = self.dir / "redis.pid"
        self.log = self.dir / "redis.log"  # one per port tried, see start()
        self.port: int | None = None

    def start(self) -> None:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = _free_port()
            # A fresh log per attempt: a stale "already in use" must not trigger a retry.
            self.log = self.dir / f"redis-{self.port}.log"
            _run(
                [
                    self.binary,
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no"),
                    *("--daemonize", "yes", "--pidfile", str(self.pidfile)),
                    *("--dir", str(self.dir), "--logfile", str(self.log)),
                ],
                "starting redis-server",
            )
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                if _redis_ping(self.port):
                    return
                if "already in use" in _tail(self.log, 5):
                    break
                time.sleep(0.05)
            self.stop()
            if attempt == PORT_ATTEMPTS or "already in use" not in _tail(self.log, 5):
                raise ServiceError(
                    f"redis-server did not answer PING on port {self.port}.\n"
                    f"--- {self.log} ---\n{_tail(self.log)}"
                )

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        _kill_pidfile(self.pidfile, expect="redis-server")


# --------------------------------------------------------------------------- #
# Session bookkeeping
# --------------------------------------------------------------------------- #


class Services:
    def __init__(self) -> None:
        self.rundir: Path | None = None
        self.postgres: Postgres | None = None
        self.redis: Redis | None = None
        # Values to put back on stop, so an in-process pytest.main() run later
        # does not inherit URLs of servers that no longer exist.
        self._saved_env = {name: os.environ.get(name) for name in _MANAGED_VARS}

    def start(self) -> None:
        want_pg = "DATABASE_URL" not in os.environ
        if os.environ.get("UNIONHUB_TEST_SQLITE", "") not in ("", "0"):
            os.environ.pop("DATABASE_URL", None)
            want_pg = False
        want_redis = "CELERY_BROKER_URL" not in os.environ

        if want_pg or want_redis:
            _reap_orphans()
            self.rundir = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-"))
            # Lets the postgres user reach its own subdirectory.
            self.rundir.chmod(0o711)
            atexit.register(self.stop)

        # Both constructors check their binaries: fail before starting anything.
        if want_pg:
            self.postgres = Postgres(self.rundir)
        if want_redis:
            self.redis = Redis(self.rundir)

        if self.postgres is not None:
            self.postgres.start()
            os.environ["DATABASE_URL"] = self.postgres.url
        if self.redis is not None:
            self.redis.start()
            os.environ["CELERY_BROKER_URL"] = self.redis.url(0)
            os.environ.setdefault("REDIS_URL", self.redis.url(1))
        elif "REDIS_URL" not in os.environ:
            # An operator-supplied Redis broker: derive the cache URL from it.
            broker = urlsplit(os.environ["CELERY_BROKER_URL"])
            if broker.scheme in ("redis", "rediss"):
                os.environ["REDIS_URL"] = urlunsplit(broker._replace(path="/1"))

    def stop(self) -> None:
        for server in (self.redis, self.postgres):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()
        self.redis = self.postgres = None
        if self.rundir is not None:
            shutil.rmtree(self.rundir, ignore_errors=True)
            self.rundir = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _reap_orphans() -> None:
    """Stop servers left behind by sessions that were killed (SIGKILL, OOM, CI timeout)."""
    bindir = Path(os.environ.get("UNIONHUB_PG_BINDIR") or PG_BINDIR_DEFAULT)
    prefix = _as_postgres()
    for rundir in Path(tempfile.gettempdir()).glob(f"{RUN_PREFIX}*"):
        try:
            pid = int(rundir.name[len(RUN_PREFIX) :].split("-", 1)[0])
            if rundir.stat().st_uid != os.getuid() or _pid_alive(pid):
                continue
        except (ValueError, OSError):
            continue
        with contextlib.suppress(Exception):
            _kill_pidfile(rundir / "redis" / "redis.pid", expect="redis-server")
            stop_server(rundir / "pg", prefix, bindir)
        shutil.rmtree(rundir, ignore_errors=True)


_services: Services | None = None


def _stop_services() -> None:
    global _services
    if _services is not None:
        _services.stop()
        _services = None


# --------------------------------------------------------------------------- #
# Hooks and fixtures
# --------------------------------------------------------------------------- #


def _distributes(ns) -> bool:
    """Whether this process is a pytest-xdist controller (``-n N`` with N > 0)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    workers = getattr(ns, "numprocesses", None)
    return workers not in (None, 0, "0")


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _services
    ns = early_config.known_args_namespace
    if not (getattr(ns, "help", False) or getattr(ns, "version", False)):
        dj_conf = sys.modules.get("django.conf")
        if dj_conf is not None and dj_conf.settings.configured:
            # Our environment variables would silently be ignored.
            raise pytest.UsageError(
                "tests.servers: Django settings were loaded before the test servers were "
                "started; load this plugin with -p tests.servers (see pytest.ini)."
            )
        if _distributes(ns):
            # The xdist controller runs no test: each worker starts its own servers (they
            # inherit no URL from here), so workers never share a database, cache or broker.
            return (yield)
        _services = Services()
        try:
            _services.start()
        except ServiceError as exc:
            _stop_services()
            raise pytest.UsageError(f"tests.servers: {exc}") from None
    try:
        return (yield)
    except BaseException:
        _stop_services()
        raise


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    _stop_services()


def _describe_services() -> str:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        db = settings.DATABASES["default"]
        engine = db["ENGINE"].rsplit(".", 1)[-1]
        if engine == "sqlite3":
            where = str(db.get("NAME") or "")
        else:
            where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 'default'}"
        database = f"{engine} {where}"
        broker = getattr(settings, "CELERY_BROKER_URL", None)
    except (ImproperlyConfigured, KeyError) as exc:  # a header line must not break the run
        database = f"unknown ({type(exc).__name__}: {exc})"
        broker = os.environ.get("CELERY_BROKER_URL")
    broker = _mask_password(broker) if broker else "none"
    return f"unionhub: database={database}  broker={broker}"


def _header(config) -> str:
    if _distributes(config.option):
        return "unionhub: every xdist worker runs its own PostgreSQL and Redis"
    return _describe_services()


def pytest_report_header(config):
    return _header(config)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(_header(config))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Celery broker URL (the session's Redis, db 0)."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if urlsplit(url).scheme not in ("redis", "rediss"):
        pytest.skip(f"needs a Redis broker, CELERY_BROKER_URL is {url or 'unset'!r}")
    return url


@pytest.fixture(scope="session")
def pg_dsn(django_db_setup) -> str:
    """libpq DSN of the test database pytest-django created (``test_unionhub``).

    Raw connections see committed data only, so pair it with
    ``@pytest.mark.django_db(transaction=True)`` when they must see test rows.
    """
    from django.db import connections
    from psycopg.conninfo import make_conninfo

    db = connections["default"].settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (running with UNIONHUB_TEST_SQLITE=1?)")
    params = {
        "host": db.get("HOST"),
        "port": db.get("PORT"),
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
    }
    return make_conninfo(**{key: str(value) for key, value in params.items() if value})
