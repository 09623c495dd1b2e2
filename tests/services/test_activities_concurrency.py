"""Concurrent registrations on PostgreSQL never exceed a session's capacity (real
connections, threads): the extra members go on the waiting list, and counters stay exact."""

import datetime
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from organizations import counters
from services.actions import activities as actions
from services.models import ActivitySession, Registration, RegistrationStatus
from tests.factories import make_member

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL locking"),
]

CAPACITY = 4
MEMBERS = 12


def _run_at_once(jobs):
    """Run every job in its own thread and connection, released together; returns errors."""
    barrier = threading.Barrier(len(jobs))
    errors = []

    def run(job):
        try:
            barrier.wait()
            job()
        except Exception as exc:  # surfaced to the main thread
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.fixture
def session(tree, officers):
    activity = actions.create_activity(
        organization=tree.xihu,
        data={"title": "职工运动会", "description": "趣味运动", "venue": "体育中心"},
        acting_user=officers.hz_admin,
    )
    start = timezone.now() + datetime.timedelta(days=1)
    session = actions.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        capacity=CAPACITY,
        acting_user=officers.hz_admin,
    )
    actions.publish_activity(activity=activity, acting_user=officers.hz_admin)
    return session


def test_parallel_registrations_never_exceed_capacity_and_the_rest_wait(tree, session):
    people = [make_member(tree.union_a if n % 2 else tree.union_b) for n in range(MEMBERS)]
    errors = _run_at_once(
        [
            (lambda m=m: actions.register(session=session, member=m, acting_user=None))
            for m in people
        ]
    )
    assert errors == []
    session = ActivitySession.objects.get(pk=session.pk)
    statuses = list(Registration.objects.values_list("status", flat=True))
    assert session.registered == CAPACITY
    assert statuses.count(RegistrationStatus.REGISTERED) == CAPACITY
    assert statuses.count(RegistrationStatus.WAITLISTED) == MEMBERS - CAPACITY
    drift = counters.verify(["services.activities."])
    assert drift.ok, drift.wrong


def test_parallel_cancellations_promote_each_waiting_member_once(tree, session):
    people = [make_member(tree.union_a) for _ in range(CAPACITY * 2)]
    regs = [actions.register(session=session, member=m, acting_user=None) for m in people]
    holders = regs[:CAPACITY]
    errors = _run_at_once(
        [
            (lambda r=r: actions.cancel_registration(registration=r, acting_user=None))
            for r in holders
        ]
    )
    assert errors == []
    session = ActivitySession.objects.get(pk=session.pk)
    registered = set(
        Registration.objects.filter(status=RegistrationStatus.REGISTERED).values_list(
            "pk", flat=True
        )
    )
    assert registered == {r.pk for r in regs[CAPACITY:]}
    assert session.registered == CAPACITY
    drift = counters.verify(["services.activities."])
    assert drift.ok, drift.wrong
