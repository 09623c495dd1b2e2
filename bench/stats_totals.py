"""Benchmark P1: a province's exact subtree totals from the statistics API, next to a detail read.

With the dataset of `bench/dataset.py` (one province of 100,000 unions, 10,000,000 members by
default; built on first use, reused from --data-dir afterwards), measures in the same run,
interleaved in random order, R repetitions each, as a logged-in user holding the "viewer"
role at the province:

  A  GET /api/v1/stats/organizations/<province>/totals/   (the dashboard's subtree totals)
  B  GET /api/v1/organizations/<province>/                 (the DRF detail by primary key)

and A at a city of the province (same user) and at the national federation (a viewer
there), each beside B of the same organization. Requests go through the whole Django stack:
by default a real WSGI server (wsgiref, in a thread of this process) over loopback HTTP,
one connection per request as wsgiref closes it; `--client django` uses django.test.Client
in-process instead. Before timing, A's `members.status.active` at each organization is
checked against a COUNT over members_member ("exact numbers"), and one request of each
variant is traced: number of SQL queries and their time.

Usage:  .venv/bin/python bench/stats_totals.py [--repeat 200] [--members 10000000]
        [--unions 100000] [--data-dir /work/bench-data/pg] [--client wsgi|django] [--explain]
        [--pending N]   (N counter changes left unfolded in the journal during the run)
The first run with a new size builds the dataset (about 6 minutes for the full size).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dataset  # noqa: E402

ACTIVE = "members.status.active"


def totals_url(pk: int) -> str:
    return f"/api/v1/stats/organizations/{pk}/totals/"


def detail_url(pk: int) -> str:
    return f"/api/v1/organizations/{pk}/"


def viewer(username: str, org):
    """A user holding only the viewer role at `org` (created on the first run)."""
    from django.contrib.auth import get_user_model

    from organizations import actions
    from organizations.models import OrgRole

    user, _ = get_user_model().objects.get_or_create(username=username)
    OrgRole.objects.filter(user=user).exclude(organization=org, role="viewer").delete()
    actions.grant_role(user=user, organization=org, role="viewer")
    return user


class WsgiClient:
    """GETs against the project's WSGI application served by wsgiref in a thread."""

    def __init__(self, session_cookie: str):
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from django.core.wsgi import get_wsgi_application

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.server = make_server(
            "127.0.0.1", 0, get_wsgi_application(), WSGIServer, handler_class=QuietHandler
        )
        self.port = self.server.server_address[1]
        self.cookie = session_cookie
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def get(self, path: str, cookie: str | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers={"Cookie": cookie or self.cookie})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DjangoClient:
    def __init__(self, clients: dict[str, object]):
        self.clients = clients

    def get(self, path: str, cookie: str) -> tuple[int, bytes]:
        response = self.clients[cookie].get(path)
        return response.status_code, response.content

    def close(self) -> None:
        pass


def login(user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return client, f"{name}={client.cookies[name].value}"


def trace(client, path: str) -> tuple[int, float, list[tuple[float, str]]]:
    """(queries, SQL seconds, slowest queries) of one request, via the test client."""
    from django.db import connection

    spent: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((time.perf_counter() - start, sql))

    with connection.execute_wrapper(timed):
        client.get(path)
    return len(spent), sum(s for s, _ in spent), sorted(spent, reverse=True)[:3]


def figure(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unions", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data-dir", type=Path, default=dataset.DEFAULT_DATA_DIR)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--client", choices=["wsgi", "django"], default="wsgi")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE A's queries")
    parser.add_argument(
        "--pending",
        type=int,
        default=0,
        help="this many counter changes waiting in the journal (not yet folded) during the run",
    )
    parser.add_argument("--keep-running", action="store_true", help="leave PostgreSQL up")
    args = parser.parse_args()
    # Persistent connections for the whole run, as a production server keeps them; the
    # default of 60 s would add a reconnection to one request a minute.
    os.environ.setdefault("CONN_MAX_AGE", "600")
    os.environ["EMAIL_BACKEND"] = "notifications.backends.CaptureEmailBackend"
    os.environ["SMS_BACKEND"] = "notifications.backends.CaptureSmsBackend"

    cluster = None if "DATABASE_URL" in os.environ else dataset.Cluster(args.data_dir)
    if cluster:
        cluster.start()
    try:
        info = dataset.ensure(cluster, args.unions, args.members, args.seed)
        run(args, info)
    finally:
        if cluster and not args.keep_running:
            cluster.stop()


def run(args, info: dict):
    from django.db import connection

    from organizations.models import Organization

    province = Organization.objects.get(pk=info["province"])
    city = Organization.objects.get(pk=info["city"])
    national = Organization.objects.get(pk=info["national"])
    province_client, province_cookie = login(viewer("bench_viewer_province", province))
    national_client, national_cookie = login(viewer("bench_viewer_national", national))
    test_clients = {province_cookie: province_client, national_cookie: national_client}

    variants = {
        "A province": (totals_url(province.pk), province_cookie, province),
        "B province": (detail_url(province.pk), province_cookie, None),
        "A city": (totals_url(city.pk), province_cookie, city),
        "B city": (detail_url(city.pk), province_cookie, None),
        "A national": (totals_url(national.pk), national_cookie, national),
        "B national": (detail_url(national.pk), national_cookie, None),
    }
    client = WsgiClient(province_cookie) if args.client == "wsgi" else DjangoClient(test_clients)
    pending = Pending(province, args.pending) if args.pending else None
    try:
        print(f"exactness (A's {ACTIVE} against a COUNT over members_member):")
        exact = True
        for label, (path, cookie, org) in variants.items():
            status, body = client.get(path, cookie)
            if status != 200:
                sys.exit(f"{label}: GET {path} answered {status}: {body[:300]!r}")
            if org is None:
                continue
            value = json.loads(body)["figures"].get(ACTIVE)
            start = time.perf_counter()
            truth = dataset.count_active(org)
            took = time.perf_counter() - start
            exact &= value == truth
            print(
                f"  {label:11} {value:>11,}   COUNT(*) {truth:>11,}  ({took:.1f} s)"
                f"   {'exact' if value == truth else 'WRONG'}"
            )
        print("one request each, traced (test client):")
        for label, (path, cookie, _org) in variants.items():
            queries, seconds, slowest = trace(test_clients[cookie], path)
            print(f"  {label:11} {queries:3} queries, {seconds * 1000:7.2f} ms in SQL")
            if label.startswith("A") and slowest and slowest[0][0] > 0.005:
                print(f"      slowest {slowest[0][0] * 1000:.1f} ms: {slowest[0][1][:300]}")
        if args.explain:
            explain_totals(province)

        for _ in range(args.warmup):
            for path, cookie, _org in variants.values():
                client.get(path, cookie)
        timings: dict[str, list[float]] = {label: [] for label in variants}
        rng = random.Random(1)
        order = list(variants)
        started = time.perf_counter()
        for _ in range(args.repeat):
            rng.shuffle(order)  # interleaved, a new random order every repetition
            for label in order:
                path, cookie, _org = variants[label]
                start = time.perf_counter()
                status, _body = client.get(path, cookie)
                timings[label].append((time.perf_counter() - start) * 1000)
                assert status == 200, (label, status)
        elapsed = time.perf_counter() - started
    finally:
        client.close()
        if pending:
            pending.remove()

    how = (
        "real WSGI server (wsgiref) in a thread, HTTP over loopback"
        if args.client == "wsgi"
        else "django.test.Client in-process"
    )
    print(
        f"\ndataset: {info['province_unions']:,} unions in the province"
        f" ({info['organizations']:,} in all), {info['members']:,} members;"
        f" PostgreSQL {connection.pg_version // 10000}"
    )
    print(f"{args.repeat} repetitions of each, interleaved, {elapsed:.0f} s; {how}")
    if args.pending:
        print(f"{args.pending:,} counter changes waiting in the journal (not folded)")
    results = {label: figure(values) for label, values in timings.items()}
    for label, (median, p95) in results.items():
        print(f"  {label:11} median {median:7.2f} ms   p95 {p95:7.2f} ms")
    for where in ("province", "city", "national"):
        a, b = results[f"A {where}"], results[f"B {where}"]
        print(f"  ratio A/B at the {where:8}  median {a[0] / b[0]:.2f}x   p95 {a[1] / b[1]:.2f}x")
    ratio = results["A province"][0] / results["B province"][0]
    print(f"goal A/B <= 2x at the province: {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x)")
    print(f"exact numbers: {'yes' if exact else 'NO'}")
    if not exact:
        sys.exit(1)


class Pending:
    """Counter changes written as `counters.adjust` writes them (counter and journal row)
    but not folded yet, as between two folds after a large import. They use a key of their
    own, so the members figures stay comparable with the COUNT; `remove` takes them out."""

    KEY = "bench.pending"

    def __init__(self, org, rows: int):
        from django.db import connection, transaction

        from organizations.models import CounterDelta, Organization, OrgCounter

        self.delta, self.counter = CounterDelta._meta.db_table, OrgCounter._meta.db_table
        unions = list(
            Organization.objects.filter(tree_id=org.tree_id, level="grassroots").values_list(
                "pk", flat=True
            )
        )
        chosen = random.Random(2).choices(unions, k=rows)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.delta}")
            self.after_id = cursor.fetchone()[0]
            cursor.execute(
                f"INSERT INTO {self.delta} (organization_id, key, delta)"
                " SELECT unnest(%s::bigint[]), %s, 1",
                [chosen, self.KEY],
            )
            cursor.execute(
                f"INSERT INTO {self.counter} (organization_id, key, value)"
                " SELECT id, %s, COUNT(*) FROM unnest(%s::bigint[]) id GROUP BY id",
                [self.KEY, chosen],
            )
            cursor.execute(f"ANALYZE {self.delta}")

    def remove(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.delta} WHERE id > %s", [self.after_id])
            cursor.execute(f"DELETE FROM {self.counter} WHERE key = %s", [self.KEY])
            cursor.execute(f"ANALYZE {self.delta}")


def explain_totals(org) -> None:
    """EXPLAIN ANALYZE every query `rollups.totals` runs for `org`."""
    from django.db import connection

    from organizations import rollups

    captured: list[tuple[str, object]] = []

    def keep(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        rollups.totals(org)
    with connection.cursor() as cursor:
        for sql, params in captured:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\n".join(row[0] for row in cursor.fetchall()))
            print()


if __name__ == "__main__":
    main()
