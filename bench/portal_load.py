"""P5: portal pages under load with wrk, against a bare Django view on the same server.

Starts a throwaway PostgreSQL and Redis, loads the demo data (`seed_demo`: 69 unions, 337
members), and serves the project with gunicorn as in production (deploy/gunicorn.conf.py:
gthread workers, DEBUG off, Redis cache and sessions as configured). Then, for each page,
wrk (Debian's package) runs for --duration seconds with --connections open connections, and
the same for a bare view (`HttpResponse("ok")` through the same middleware stack, from
bench/bare_urls.py) in the same run, alternating, --repeat times; the median requests per
second and p95 latency are printed. The goal: each page at least half the bare view's
requests per second.

Pages: the union directory (anonymous), a grassroots union's page (anonymous), and, logged
in as the demo member, the membership card page and the service menu.

With --province the pages are served from the province-size dataset of bench/dataset.py
(100,000 unions, 10,000,000 members; built on first use, kept in /work/bench-data/pg): the
directory, the page of a grassroots union of about 40 members, and the pages of one of its
members, given a login for the run.

Usage:  .venv/bin/python bench/portal_load.py [--duration 10] [--connections 16] [--repeat 3]
                                              [--province]
"""

import argparse
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# p95 from wrk's latency histogram, printed as one JSON line after the run.
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "errors": %d, "non2xx": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


def prepare(env, province: dict | None) -> dict[str, tuple[str, str]]:
    """The page paths and the member's session cookie: the demo data (migrated and seeded
    here), or the province dataset (a login given to one of its members)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from members.demo import DEMO_MEMBER_USERNAME
    from members.models import Member
    from organizations.models import Level, Organization

    if province is None:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", stdout=io.StringIO())
        member = Member.objects.get(user__username=DEMO_MEMBER_USERNAME)
        union = Organization.objects.filter(level=Level.GRASSROOTS).order_by("pk").first()
    else:
        union = (
            Organization.objects.filter(
                tree_id=Organization.objects.get(pk=province["province"]).tree_id,
                level=Level.GRASSROOTS,
            )
            .annotate(n=Count("members"))
            .filter(n__gte=35, n__lte=45)
            .order_by("pk")
            .first()
        )
        member = Member.objects.filter(organization=union, status="active").order_by("pk").first()
        user, _ = get_user_model().objects.get_or_create(username="bench_portal_member")
        Member.objects.filter(user=user).exclude(pk=member.pk).update(user=None)
        Member.objects.filter(pk=member.pk).update(user=user)
        if member.card_issued_at is None:
            from members.actions.cards import issue_card

            issue_card(member=Member.objects.get(pk=member.pk))
    client = Client()
    client.force_login(member.user if province is None else user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return {
        "bare view": ("/bench/bare/", ""),
        "directory": ("/", ""),
        "union page": (f"/unions/{union.pk}/", ""),
        "my membership": ("/me/", cookie),
        "service menu": ("/services/menu/", cookie),
    }


def wait_for(url: str, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the server did not answer {url}")


def wrk(url, cookie, args, script) -> dict:
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "-s", script]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    report = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    report["rps"] = report["requests"] / report["seconds"]
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--web-concurrency", type=int, default=2)
    parser.add_argument("--province", action="store_true", help="the province-size dataset")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")

    from tests.servers import Services, _free_port

    cluster = province = None
    if args.province:
        import dataset

        cluster = dataset.Cluster(dataset.DEFAULT_DATA_DIR)
        cluster.start()
        province = dataset.ensure(cluster, 100_000, 10_000_000, 2026)  # sets DATABASE_URL
        os.environ["CONN_MAX_AGE"] = "600"
    services = Services()  # Redis (and PostgreSQL unless the dataset's is used)
    services.start()
    workdir = Path(tempfile.mkdtemp(prefix="unionhub-p5-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "bare_settings",
        "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": os.environ["REDIS_URL"],
        "STATIC_ROOT": str(workdir / "static"),
        "WEB_CONCURRENCY": str(args.web_concurrency),
    }
    server = None
    try:
        pages = prepare(env, province)
        port = _free_port()
        run_env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=run_env,
            check=True,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "unionhub.wsgi"],
            cwd=ROOT,
            env={**run_env, "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/bench/bare/")
        script = workdir / "report.lua"
        script.write_text(WRK_REPORT)
        for path, cookie in pages.values():  # warm every worker's caches
            wrk(base + path, cookie, argparse.Namespace(connections=4, duration=2), str(script))
        results: dict[str, list[dict]] = {name: [] for name in pages}
        for round_number in range(args.repeat):
            for name, (path, cookie) in pages.items():
                report = wrk(base + path, cookie, args, str(script))
                if report["errors"] or report["non2xx"]:
                    sys.exit(f"{name}: {report['errors']} errors, {report['non2xx']} non-2xx")
                results[name].append(report)
            print(f"round {round_number + 1} of {args.repeat} done", flush=True)
        cores = os.cpu_count()
        data = "province dataset" if province else "demo data"
        print(
            f"\nP5 portal pages under load ({data}): wrk -t2 -c{args.connections}"
            f" -d{args.duration}s, "
            f"gunicorn {args.web_concurrency} processes x 4 threads, {cores} cores shared "
            f"with wrk and PostgreSQL; median of {args.repeat}"
        )
        bare = statistics.median(r["rps"] for r in results["bare view"])
        print(f"{'page':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'vs bare':>9}")
        for name, reports in results.items():
            rps = statistics.median(r["rps"] for r in reports)
            p50 = statistics.median(r["p50_ms"] for r in reports)
            p95 = statistics.median(r["p95_ms"] for r in reports)
            verdict = "" if name == "bare view" else ("  ok" if rps >= bare / 2 else "  BELOW GOAL")
            print(f"{name:<16}{rps:9.0f}{p50:9.1f}{p95:9.1f}{rps / bare:8.2f}x{verdict}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        services.stop()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
