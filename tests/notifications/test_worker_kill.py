"""A Celery worker process is killed with SIGKILL in the middle of an announcement to 1,000
members; after a new worker starts, every member has exactly one inbox entry and one email.
The kill comes at a moment the worker holds unacknowledged tasks (it is frozen with SIGSTOP
to look), and the new worker must receive each of them again.

Real processes: `celery worker` (prefork, two children) against the test PostgreSQL and
Redis, with the capture email backend, which records each email in the sending transaction.
The Redis visibility timeout is shortened to a few seconds for the run, so the new worker
gets the dead one's unacknowledged tasks back quickly (in production it is an hour, and the
sweepers of chunks and deliveries hand the work out again after ten minutes).
"""

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from notifications import actions as notification_actions
from notifications.models import CapturedMessage, Delivery, Notification
from services.actions import announcements
from services.models import Announcement, AnnouncementStatus
from tests.factories import bulk_members

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
MEMBERS = 1000
VISIBILITY = 4  # seconds, for this run only
LEASE_MARGIN = datetime.timedelta(seconds=1)


def worker_env() -> dict:
    """The test process's settings for a worker process: the test database, the test Redis."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    db_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "EMAIL_BACKEND": "notifications.backends.CaptureEmailBackend",
        "SMS_BACKEND": "notifications.backends.CaptureSmsBackend",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(name: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "unionhub", "worker",
            "--pool=prefork", "--concurrency=2", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", f"--hostname={name}@%h",
        ],
        cwd=REPO,
        env=worker_env(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches the children too
    )  # fmt: skip


def emails() -> int:
    return CapturedMessage.objects.filter(channel="email").count()


def wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    state = {
        "emails": emails(),
        "pending deliveries": Delivery.objects.filter(status="pending").count(),
        "announcement": list(
            Announcement.objects.values_list("status", "chunks_done", "chunks_total")
        ),
    }
    pytest.fail(f"timed out waiting for {what}: {state}; worker log:\n{log.read_text()[-3000:]}")


def unacked_task_ids(client) -> list[str]:
    """The ids of the tasks in the broker's unacknowledged set (kombu's Redis transport
    keeps each as [message, exchange, routing key])."""
    return sorted(json.loads(raw)[0]["headers"]["id"] for raw in client.hvals("unacked"))


@pytest.fixture
def empty_queue():
    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    for key in ("celery", "unacked", "unacked_index"):
        client.delete(key)
    yield client
    for key in ("celery", "unacked", "unacked_index"):
        client.delete(key)


def test_killed_worker_loses_and_doubles_nothing(
    tree, make_officer, empty_queue, tmp_path, monkeypatch
):
    staff = make_officer("xihu_staff", tree.xihu, "staff")
    bulk_members(tree.union_a, MEMBERS // 2)
    bulk_members(tree.union_b, MEMBERS // 2, prefix="b")
    monkeypatch.setattr(announcements, "CHUNK_SIZE", 50)  # twenty chunk tasks
    draft = announcements.create_announcement(
        organization=tree.xihu, title="停电通知", body="周六全天停电。", acting_user=staff
    )
    announcement = announcements.publish_announcement(announcement=draft, acting_user=staff)
    assert announcement.chunks_total == MEMBERS // 50
    assert empty_queue.llen("celery") == MEMBERS // 50

    first_log, second_log = tmp_path / "worker1.log", tmp_path / "worker2.log"
    first = start_worker("first", first_log)

    def stopped_holding_tasks():
        """After 100 emails, the worker frozen (SIGSTOP) while it holds unacknowledged
        tasks; frozen, it cannot acknowledge them between this look and the kill."""
        if emails() < 100:
            return False
        os.killpg(first.pid, signal.SIGSTOP)
        if empty_queue.hlen("unacked"):
            return True
        os.killpg(first.pid, signal.SIGCONT)  # between two tasks: let it take the next
        return False

    try:
        wait_for(stopped_holding_tasks, 60, "100 emails and a task in hand", first_log)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    at_kill = emails()
    held = unacked_task_ids(empty_queue)
    assert at_kill < MEMBERS, "everything was sent before the kill; the test proves nothing"
    # Tasks the worker took and died with: the test passes only if they are delivered again.
    assert len(held) > 0, "no task was unacknowledged at the kill; nothing to redeliver"

    second = start_worker("second", second_log)
    try:

        def finished():
            done = Announcement.objects.get(pk=announcement.pk).status == AnnouncementStatus.SENT
            pending = Delivery.objects.filter(status="pending").exists()
            idle = not empty_queue.llen("celery") and not empty_queue.hlen("unacked")
            if done and pending and idle:
                # Deliveries the killed worker left pending that no queued or unacknowledged
                # task names any more (seen once in a loaded run: 50, for 120 s; the cause was
                # not found): the sweeper hands them out once their lease is over, as the beat
                # job does every minute. Nothing may be sent twice all the same (below).
                swept.append(
                    notification_actions.hand_out_due_deliveries(
                        now=timezone.now() + notification_actions.LEASE + LEASE_MARGIN
                    )
                )
            return done and not pending and emails() >= MEMBERS

        swept: list[int] = []

        wait_for(finished, 120, "the second worker to finish", second_log)
        time.sleep(VISIBILITY + 1)  # anything redelivered late would run now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    # Redelivered: the new worker received each task the killed one held (same task ids).
    received = second_log.read_text()
    assert [task for task in held if f"[{task}] received" not in received] == []

    inbox = Notification.objects.filter(kind="services.announcement")
    assert inbox.count() == MEMBERS
    assert inbox.values("recipient").distinct().count() == MEMBERS
    deliveries = Delivery.objects.filter(notification__in=inbox, channel="email")
    assert deliveries.count() == MEMBERS
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    sent = CapturedMessage.objects.filter(channel="email")
    per_delivery = sent.values("reference").annotate(n=Count("pk"))
    assert sent.count() == MEMBERS, f"{sent.count()} emails for {MEMBERS} members"
    assert {row["n"] for row in per_delivery} == {1}
    assert {int(r["reference"]) for r in per_delivery} == set(
        deliveries.values_list("pk", flat=True)
    )
    announcement.refresh_from_db()
    assert (announcement.chunks_done, announcement.recipients_done) == (MEMBERS // 50, MEMBERS)
    print(
        f"\nkill test: {at_kill} emails before SIGKILL, {len(held)} unacknowledged "
        f"task(s) in Redis at the kill; {sent.count()} emails and {inbox.count()} inbox "
        f"entries at the end, none twice; swept by the sweeper: {sum(swept)}"
    )
