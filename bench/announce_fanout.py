"""Benchmark: an announcement to a 100,000-member subtree, on Celery workers and in-process.

Builds a county federation with grassroots unions holding N members (default 100,000),
each with a login and an email address, on a throwaway PostgreSQL and Redis. Then, in the
same run, alternating, R times each:

  W  UnionHub on Celery: `publish_announcement` plans the chunks; two worker processes
     (`celery worker --concurrency=1`, twice) write the inbox rows and email deliveries of
     each chunk and send the emails (capture backend: each email is a row written in the
     sending transaction). Timed from publishing to the last email sent.
  L  the same functions in a loop in this process: the same publish with Celery eager, so
     every chunk and every send batch runs inline, one after another.

After each run it checks that every member has exactly one inbox entry and one email
(0 lost, 0 duplicated), and empties the notification tables so every run starts alike.
It also reports the peak Python memory of planning the fan-out (tracemalloc): the
planner reads only the chunks' first ids, never the member list.

Usage:  .venv/bin/python bench/announce_fanout.py [--members 100000] [--repeat 1]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
UNIONS = 200


def start_servers():
    from tests.servers import Services

    services = Services()
    services.start()
    return services


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["EMAIL_BACKEND"] = "notifications.backends.CaptureEmailBackend"
    os.environ["SMS_BACKEND"] = "notifications.backends.CaptureSmsBackend"
    os.environ["DJANGO_ENV"] = "development"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    services = start_servers()
    workers = []
    try:
        run(args, workers)
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(30)
        services.stop()


def build(members: int):
    from common import county_federation
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from organizations import actions
    from organizations.models import Level
    from tests.factories import bulk_members

    call_command("migrate", verbosity=0)
    county = county_federation()
    per_union = members // UNIONS
    for n in range(UNIONS):
        union = actions.create_organization(
            parent=county, data={"name": f"基准{n}号公司工会", "level": Level.GRASSROOTS}
        )
        bulk_members(union, per_union, prefix=f"u{n}-")
    staff = get_user_model().objects.create_user("bench_staff", password="!")
    actions.grant_role(user=staff, organization=county, role="staff")
    return county, staff


def start_workers(count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = []
    for n in range(count):
        log = open(ROOT / f"bench/.worker{n}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "unionhub",
                    "worker",
                    "--pool=prefork",
                    "--concurrency=1",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    f"--hostname=bench{n}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def wait_ready(app, count: int, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0)
        if len(replies) >= count:
            return
    sys.exit("the Celery workers did not start; see bench/.worker*.log")


def reset_tables():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_capturedmessage, notifications_delivery,"
            " notifications_notification RESTART IDENTITY CASCADE"
        )
        cursor.execute("VACUUM ANALYZE")


def check_exactly_once(announcement, members: int) -> tuple[int, int]:
    """(lost, duplicated) inbox entries and emails of this announcement."""
    from django.db.models import Count

    from notifications.models import CapturedMessage, Notification

    inbox = Notification.objects.filter(
        kind="services.announcement", dedupe_key__startswith=f"announcement:{announcement.pk}:"
    )
    per_user = inbox.values("recipient").annotate(n=Count("pk")).filter(n__gt=1).count()
    emails = CapturedMessage.objects.values("reference").annotate(n=Count("pk"))
    doubled_emails = emails.filter(n__gt=1).count()
    lost = (members - inbox.count()) + (members - emails.count())
    return lost, per_user + doubled_emails


def one_run(label, county, staff, members, app) -> float:
    from notifications.models import Delivery
    from services.actions import announcements
    from services.models import Announcement, AnnouncementStatus

    reset_tables()
    draft = announcements.create_announcement(
        organization=county, title=f"基准通知{label}", body="正文", acting_user=staff
    )
    app.conf.task_always_eager = label == "L"
    start = time.perf_counter()
    announcement = announcements.publish_announcement(announcement=draft, acting_user=staff)
    if label == "W":
        while True:
            time.sleep(0.2)
            status = Announcement.objects.values_list("status", flat=True).get(pk=announcement.pk)
            if (
                status == AnnouncementStatus.SENT
                and not Delivery.objects.filter(status="pending").exists()
            ):
                break
    elapsed = time.perf_counter() - start
    app.conf.task_always_eager = False
    lost, duplicated = check_exactly_once(announcement, members)
    rate = members / elapsed
    print(
        f"  {label}: {elapsed:7.1f} s  {rate:8.0f} members/s (inbox + email)"
        f"   lost {lost}  duplicated {duplicated}",
        flush=True,
    )
    if lost or duplicated:
        sys.exit("exactly-once violated")
    return elapsed


def plan_memory(county, staff) -> tuple[float, int]:
    """Peak Python memory (MiB) and chunk count of planning one announcement's fan-out."""
    from django.db import transaction

    from services.actions import announcements

    draft = announcements.create_announcement(
        organization=county, title="内存", body="正文", acting_user=staff
    )
    tracemalloc.start()
    with transaction.atomic():
        published = announcements.publish_announcement(announcement=draft, acting_user=staff)
        chunks = published.chunks_total
        transaction.set_rollback(True)  # never sent: its chunks are not queued
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, chunks


def run(args, workers):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")
    import django

    django.setup()
    from django.db import connection

    from unionhub.celery import app

    t0 = time.perf_counter()
    county, staff = build(args.members)
    members = args.members // UNIONS * UNIONS
    print(
        f"dataset: {members} members with logins and email in {UNIONS} unions below one "
        f"county federation, built in {time.perf_counter() - t0:.0f} s; PostgreSQL "
        f"{connection.pg_version}, {os.cpu_count()} CPUs",
        flush=True,
    )
    peak, chunks = plan_memory(county, staff)
    print(f"planning: {chunks} chunks, peak Python memory {peak:.1f} MiB", flush=True)
    workers.extend(start_workers(args.workers))
    wait_ready(app, args.workers)
    timings = {"W": [], "L": []}
    for i in range(args.repeat):
        for label in ("L", "W") if i % 2 == 0 else ("W", "L"):
            timings[label].append(one_run(label, county, staff, members, app))
    w = statistics.median(timings["W"])
    loop = statistics.median(timings["L"])
    print(
        f"W {args.workers} Celery workers   median {w:7.1f} s  {members / w:8.0f} members/s\n"
        f"L in-process loop    median {loop:7.1f} s  {members / loop:8.0f} members/s\n"
        f"ratio W/L throughput {loop / w:.2f}x (goal: at least 0.8x)"
    )


if __name__ == "__main__":
    main()
