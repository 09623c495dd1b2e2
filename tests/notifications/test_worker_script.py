"""The documented way to run background work (scripts/worker.sh) starts a worker and beat
that do real work against the test Redis and PostgreSQL, and stops on SIGTERM."""

import datetime
import os
import signal
import subprocess
import time

import pytest
from django.utils import timezone

from notifications import actions
from notifications.models import CapturedMessage, Delivery
from tests.factories import UserFactory
from tests.notifications.test_worker_kill import REPO, worker_env
from unionhub.celery import app

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]


def test_worker_script_runs_worker_and_beat_and_stops_cleanly(tmp_path):
    user = UserFactory(username="w", email="w@example.cn")
    actions.notify([user], "welcome")  # queued on commit: the script's worker sends it
    log = tmp_path / "worker.log"
    env = {**worker_env(), "WORKER_CONCURRENCY": "1", "LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        ["scripts/worker.sh"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not CapturedMessage.objects.exists():
            time.sleep(0.2)
        assert CapturedMessage.objects.count() == 1, log.read_text()[-2000:]
        assert Delivery.objects.get().status == "sent"
        assert any(app.control.ping(timeout=1.0)), "the worker answers a ping"
        # Beat is up too, with the schedule from the database.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "beat: Starting" not in log.read_text():
            time.sleep(0.2)
        assert "beat: Starting" in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-2000:]
    assert timezone.now() - Delivery.objects.get().sent_at < datetime.timedelta(minutes=2)
