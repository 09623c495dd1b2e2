"""The Celery application. Tasks run eagerly when no broker is configured (see settings)."""

import logging
import os
import socket
import time

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")

logger = logging.getLogger(__name__)

app = Celery("unionhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class Heartbeat(bootsteps.StartStopStep):
    """Every few seconds the worker writes the time to Redis under its own name, with an
    expiry, so `/healthz/` can tell that at least one worker is alive and consuming."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None
        self.key = None

    def start(self, worker):
        from django.conf import settings

        from unionhub.health import HEARTBEAT_PREFIX, redis_client

        self.key = HEARTBEAT_PREFIX + (worker.hostname or socket.gethostname())
        self.interval = settings.WORKER_HEARTBEAT_SECONDS
        self.ttl = max(settings.HEALTH_WORKER_MAX_AGE, 3 * self.interval)
        self.client = redis_client()
        self.beat()
        self.tref = worker.timer.call_repeatedly(self.interval, self.beat)

    def beat(self):
        try:
            self.client.set(self.key, f"{time.time():.3f}", ex=self.ttl)
        except Exception as error:  # Redis away: the missing heartbeat is the signal
            logger.warning("worker heartbeat not written: %s", type(error).__name__)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        if self.key is not None:
            try:
                self.client.delete(self.key)
            except Exception as error:  # best effort on the way out; it expires anyway
                logger.warning("worker heartbeat not removed: %s", type(error).__name__)


app.steps["worker"].add(Heartbeat)
