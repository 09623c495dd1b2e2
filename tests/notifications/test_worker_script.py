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


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


@pytest.mark.parametrize("to_group", [True, False], ids=["group", "script only"])
def test_worker_script_runs_worker_and_beat_and_stops_cleanly(tmp_path, to_group):
    """Stopped as a terminal's Ctrl-C or a supervisor's killpg does (the whole process group)
    or as a container runtime does (the script alone): the script passes the signal on once,
    both processes shut down warmly and it exits 0. (A TERM reaching beat twice could deadlock
    it: beat's shutdown handler is not reentrant.)"""
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
        celery = children(proc.pid)
        if to_group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            code = "still running after 60 s"
            for pid in [proc.pid, *celery]:
                os.kill(pid, signal.SIGKILL)
        assert code == 0, log.read_text()[-3000:]
        assert not any(os.path.exists(f"/proc/{pid}") for pid in celery), "both stopped"
    assert timezone.now() - Delivery.objects.get().sent_at < datetime.timedelta(minutes=2)
