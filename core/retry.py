"""The retry policy of every idempotent Celery task that talks to the database.

Acknowledged late and given back to the queue when the worker running it dies; database
hiccups are retried with exponential backoff and jitter.
"""

from django.db import InterfaceError, OperationalError

RETRY_POLICY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}
