"""The Celery reliability settings, each checked, and what reaches the broker.

The broker tests run against the real test Redis with eager execution off and no worker:
they read the raw messages that actions put on the queue.
"""

import base64
import json
import os
import re
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import OperationalError, transaction

from core.retry import RETRY_POLICY
from notifications import actions
from notifications.models import Notification
from notifications.tasks import send_deliveries_task
from services.actions import announcements
from tests.factories import UserFactory, bulk_members
from unionhub.celery import app

REPO = Path(__file__).resolve().parents[2]
OUR_APPS = ("organizations.", "members.", "services.", "notifications.", "reports.")


def our_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(OUR_APPS)}


def test_every_task_is_acknowledged_late_and_given_back_when_its_worker_dies():
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    tasks = our_tasks()
    assert len(tasks) >= 10
    for name, task in tasks.items():
        assert task.acks_late, name
        assert app.conf.task_reject_on_worker_lost or task.reject_on_worker_lost, name


def test_the_notification_tasks_retry_database_errors_with_backoff_and_jitter():
    for name in (
        "notifications.tasks.send_deliveries_task",
        "notifications.tasks.send_due_deliveries_task",
        "services.tasks.announcements.deliver_announcement_chunk_task",
        "services.tasks.announcements.resume_stalled_chunks_task",
    ):
        task = our_tasks()[name]
        assert OperationalError in task.autoretry_for, name
        assert task.retry_backoff and task.retry_jitter and task.reject_on_worker_lost, name
        assert task.max_retries == RETRY_POLICY["max_retries"], name


def longest_countdown() -> int:
    """The longest time any of our tasks may wait in the broker before it runs."""
    waits = []
    for task in our_tasks().values():
        if getattr(task, "autoretry_for", ()) and getattr(task, "retry_backoff", False):
            waits.append(task.retry_backoff_max)
        waits.append(task.default_retry_delay)
    return max(waits)


def test_redis_visibility_timeout_exceeds_the_longest_countdown():
    """With acks_late on Redis, a message not acknowledged within the visibility timeout is
    handed to another worker: a countdown longer than it would run twice."""
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > longest_countdown() * 2, (timeout, longest_countdown())


def test_no_task_is_scheduled_with_a_countdown_or_eta_in_the_code():
    """Waiting happens in the database (quiet hours, delivery retries), never in the broker:
    if this fails, a countdown was added; check it against the visibility timeout and list it
    in longest_countdown()."""
    pattern = re.compile(r"\b(countdown|eta)\s*=")
    offenders = [
        str(path.relative_to(REPO))
        for app_dir in ("organizations", "members", "services", "notifications", "unionhub")
        for path in (REPO / app_dir).rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_send_task_retries_an_operational_error(monkeypatch):
    calls = []

    def flaky(ids, lease_until=None):
        calls.append(ids)
        if len(calls) == 1:
            raise OperationalError("connection lost")
        return {"sent": len(ids)}

    monkeypatch.setattr(actions, "send_deliveries", flaky)
    result = send_deliveries_task.apply(args=[[1, 2]], throw=False)
    assert result.successful() and result.get() == {"sent": 2}
    assert calls == [[1, 2], [1, 2]]


# --- What reaches the broker -----------------------------------------------------------------

FOLD_TASK = "organizations.tasks.fold_rollups_task"


@pytest.fixture
def queue(transactional_db):  # used with the real_worker mark: eager off, the real broker
    """The test Redis queue, emptied; yields a function returning the decoded messages."""
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        pytest.fail("these tests need the Redis broker the test plugin starts")
    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    client.delete("celery")

    def messages():
        out = []
        for raw in client.lrange("celery", 0, -1):
            envelope = json.loads(raw)
            if envelope["headers"]["task"] == FOLD_TASK:
                continue  # the statistics roll-up fold, queued by any counted change
            body = json.loads(base64.b64decode(envelope["body"]))
            out.append({"raw": raw.decode(), "headers": envelope["headers"], "body": body})
        return out

    yield messages
    client.delete("celery")


@pytest.mark.real_worker
def test_enqueued_only_on_commit(queue, tree):
    user = UserFactory(username="u1", email="u1@example.cn")
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.notify([user], "welcome")
        raise RuntimeError("rolled back")
    assert queue() == [] and not Notification.objects.exists()

    with transaction.atomic():
        actions.notify([user], "welcome")
        assert queue() == []  # not before the commit
    assert [m["headers"]["task"] for m in queue()] == ["notifications.tasks.send_deliveries_task"]


@pytest.mark.real_worker
def test_no_task_argument_carries_a_name_id_number_phone_or_email(queue, tree, make_officer):
    staff = make_officer("xihu_staff", tree.xihu, "staff")
    members = bulk_members(tree.union_a, 5)
    secrets = []
    for m in members:
        secrets += [m.name, m.id_number, m.phone, m.user.email, m.phone[-8:]]
    with transaction.atomic():
        draft = announcements.create_announcement(
            organization=tree.xihu, title="通知", body="正文", acting_user=staff
        )
        announcements.publish_announcement(announcement=draft, acting_user=staff)
    # Run the chunk tasks here (as a worker would) so their send tasks are queued too.
    chunk_task = "services.tasks.announcements.deliver_announcement_chunk_task"
    for message in queue():
        chunk_id = message["body"][0][0]
        with transaction.atomic():
            announcements.deliver_chunk(chunk_id=chunk_id)
    actions.notify([m.user for m in members], "welcome", dedupe_key="w")

    messages = queue()
    tasks = {m["headers"]["task"] for m in messages}
    assert tasks == {chunk_task, "notifications.tasks.send_deliveries_task"}
    for message in messages:
        args, kwargs, _embed = message["body"]
        assert kwargs == {}
        for arg in args:
            ok = (
                isinstance(arg, int)
                or arg is None
                or (isinstance(arg, list) and all(isinstance(i, int) for i in arg))
                or (isinstance(arg, str) and re.fullmatch(r"[\d\-T:.+]+", arg))
            )
            assert ok, (message["headers"]["task"], arg)
        for secret in secrets:
            assert secret not in message["raw"], message["headers"]["task"]
        # argsrepr and kwargsrepr are in the headers: plain ids too.
        assert "@" not in message["headers"]["argsrepr"]
