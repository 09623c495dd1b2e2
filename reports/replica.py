"""Dashboards and statistics read from a PostgreSQL replica, when one is configured.

With `DATABASE_REPLICA_URL` set, the settings add a `replica` database and this router.
While a statistics GET is being served (`replica_reads` on a view, `ReplicaReadsMixin` on
an API view set, both after authentication), every read goes to the replica; writes always
go to the primary. Statistics are roll-ups and daily snapshots: a replica a few seconds
behind shows figures a few seconds old. Everything else reads the primary, so a page never
misses what the same user has just written. Without a replica the router changes nothing.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager

from django.conf import settings

REPLICA = "replica"
_state = threading.local()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if getattr(_state, "depth", 0) and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return None  # the primary

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None  # a replica is migrated by replication


@contextmanager
def reading_from_replica():
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def replica_reads(view):
    """A GET or HEAD of `view` reads from the replica (put it below `login_required`)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with reading_from_replica():
            return view(request, *args, **kwargs)

    return wrapper


class ReplicaReadsMixin:
    """For DRF view sets: after authentication and permission checks (on the primary), a
    GET's queries read from the replica until its response is finalized."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            self._replica = reading_from_replica()
            self._replica.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        replica = getattr(self, "_replica", None)
        if replica is not None:
            self._replica = None
            replica.__exit__(None, None, None)
        return super().finalize_response(request, response, *args, **kwargs)
