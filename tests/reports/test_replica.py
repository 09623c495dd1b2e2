"""With DATABASE_REPLICA_URL set, the dashboard and the statistics API read from the
replica and everything else from the primary. Run in a separate process with its own
database, where `replica` is a second connection to that same database (as a streaming
replica would hold the same rows); each query is recorded with the alias that ran it."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from reports.replica import REPLICA, ReplicaRouter, reading_from_replica, replica_reads

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
from collections import Counter
from django.core.management import call_command
from django.db import connections
from django.test import Client
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from organizations import actions
from organizations.models import Level
national = actions.create_national_federation(data={"name": "中华全国总工会"})
zj = actions.create_organization(parent=national, data={
    "name": "浙江省总工会", "level": Level.PROVINCIAL, "region_code": "330000"})
viewer = get_user_model().objects.create_user(username="viewer", password="x")
actions.grant_role(user=viewer, organization=zj, role="viewer")
client = Client()
client.force_login(viewer)
seen = Counter()
def recorder(alias):
    def record(execute, sql, params, many, context):
        table = "rollup" if "organizations_orgrollup" in sql else "other"
        seen[f"{alias}:{table}"] += 1
        return execute(sql, params, many, context)
    return record
out = {}
for name, url in [
    ("dashboard", f"/dashboard/?org={zj.pk}"),
    ("totals", f"/api/v1/stats/organizations/{zj.pk}/totals/"),
    ("directory", "/"),
    ("union", f"/unions/{zj.pk}/"),
]:
    seen.clear()
    with connections["default"].execute_wrapper(recorder("default")), \
         connections["replica"].execute_wrapper(recorder("replica")):
        status = client.get(url).status_code
    out[name] = {"status": status, **seen}
print("RESULT " + json.dumps(out))
"""


@pytest.fixture
def own_database():
    url = urlsplit(os.environ["DATABASE_URL"])
    maintenance = urlunsplit(url._replace(scheme="postgresql", path="/postgres"))
    name = "unionhub_replica_check"
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(url._replace(path=f"/{name}"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_statistics_read_from_the_replica_and_other_pages_from_the_primary(own_database):
    env = {
        **os.environ,
        "DATABASE_URL": own_database,
        "DATABASE_REPLICA_URL": own_database,
        "DJANGO_ENV": "development",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)  # tasks in-process
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    pages = json.loads(line.removeprefix("RESULT "))
    for name in ("dashboard", "totals"):
        page = pages[name]
        assert page["status"] == 200, pages
        assert page.get("replica:rollup", 0) > 0, pages  # the figures: from the replica
        assert page.get("default:rollup", 0) == 0, pages
    for name in ("directory", "union"):
        page = pages[name]
        assert page["status"] == 200, pages
        assert not any(key.startswith("replica:") for key in page), pages


def test_the_router_sends_reads_to_the_replica_only_inside_a_statistics_request(settings):
    router = ReplicaRouter()
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    assert router.db_for_read(None) is None
    with reading_from_replica():
        assert router.db_for_read(None) == REPLICA
        assert router.db_for_write(None) is None
        with reading_from_replica():
            assert router.db_for_read(None) == REPLICA
        assert router.db_for_read(None) == REPLICA
    assert router.db_for_read(None) is None
    assert router.allow_migrate(REPLICA, "members") is False
    assert router.allow_migrate("default", "members") is None


def test_without_a_replica_nothing_changes(settings):
    router = ReplicaRouter()
    assert REPLICA not in settings.DATABASES
    with reading_from_replica():
        assert router.db_for_read(None) is None


def test_only_reading_requests_are_routed(rf, settings):
    settings.DATABASES = {**settings.DATABASES, REPLICA: settings.DATABASES["default"]}
    router = ReplicaRouter()

    @replica_reads
    def view(request):
        return router.db_for_read(None)

    assert view(rf.get("/")) == REPLICA
    assert view(rf.post("/")) is None
