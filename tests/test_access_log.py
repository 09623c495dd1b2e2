"""The web server's access log (deploy/gunicorn.conf.py) names the path without its query
string (a search in the admin may be a person's name or phone) and no client address.

gunicorn's own logger formats a request under the real configuration, in a subprocess:
the configuration's logging setup would otherwise replace this process's log handlers.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
QUERY = "q=张三&phone=13800138000"
CLIENT, FORWARDED_FOR = "203.0.113.7", "198.51.100.23"
# What a request carries that the log must not: the query, and the client's addresses.
PRIVATE = ("张三", "13800138000", "q=", "李四", CLIENT, FORWARDED_FOR)

# Loads the configuration file as gunicorn does (each module variable that names a
# setting), then logs one request through gunicorn's Logger.access.
LOG_ONE_REQUEST = """
import datetime, runpy, sys
from types import SimpleNamespace
from gunicorn.config import Config
from gunicorn.glogging import Logger

config_file, query, client, forwarded_for, access_format = sys.argv[1:]
cfg = Config()
for key, value in runpy.run_path(config_file).items():
    if key in cfg.settings:
        cfg.set(key, value)
if access_format:
    cfg.set("access_log_format", access_format)
logger = Logger(cfg)
headers = [("HOST", "union.example.org"), ("X-FORWARDED-FOR", forwarded_for)]
environ = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/admin/members/member/?" + query,
    "PATH_INFO": "/admin/members/member/",
    "QUERY_STRING": query,
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": client,
    "HTTP_X_FORWARDED_FOR": forwarded_for,
    "HTTP_REFERER": "https://union.example.org/admin/?q=李四",
    "HTTP_USER_AGENT": "Mozilla/5.0",
}
request = SimpleNamespace(headers=headers)
response = SimpleNamespace(status="200 OK", sent=5120, headers=[("Content-Type", "text/html")])
logger.access(response, request, environ, datetime.timedelta(milliseconds=42))
"""


def access_log_line(access_format: str = "") -> str:
    """The access log's output for one GET of a member search, under the configuration
    (with `access_format` instead of its format, when given)."""
    arguments = [str(CONFIG), QUERY, CLIENT, FORWARDED_FOR, access_format]
    result = subprocess.run(
        [sys.executable, "-c", LOG_ONE_REQUEST, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def leaks(line: str) -> list[str]:
    return [value for value in PRIVATE if value in line]


def test_the_access_log_has_the_path_but_no_query_string_or_client_address():
    line = access_log_line()
    record = json.loads(line)
    assert record["logger"] == "gunicorn.access"
    assert (record["method"], record["path"], record["status"]) == (
        "GET",
        "/admin/members/member/",
        200,
    )
    assert (record["bytes"], record["ms"]) == ("5120", 42)
    assert leaks(line) == []


@pytest.mark.parametrize(
    ("name", "atom"),
    [
        ("query string", "%(q)s"),
        ("request line", "%(r)s"),
        ("client address", "%(h)s"),
        ("forwarded address", "%({x-forwarded-for}i)s"),
        ("referrer", "%(f)s"),
    ],
)
def test_the_check_sees_a_query_string_or_address_in_a_planted_format(name, atom):
    """The same request under formats that log the query or the address is caught."""
    assert leaks(access_log_line(f'{{"planted": "{atom}"}}')), name


def test_the_check_sees_what_gunicorn_logs_by_default():
    from gunicorn.config import Config

    assert set(leaks(access_log_line(Config().access_log_format))) >= {"q=", CLIENT}
