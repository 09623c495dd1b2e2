"""Concurrent orders on PostgreSQL never take more places than a service has."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from organizations import counters
from services.actions import menu as actions
from services.actions import requests as request_actions
from services.models import RequestStatus, Service, ServiceRequest
from tests.services.conftest import member_with_login

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL locking"),
]

THREADS = 8


def _run_all(jobs):
    """Start every job at the same moment on its own connection; returns their errors."""
    barrier = threading.Barrier(len(jobs))
    outcomes, lock = [], threading.Lock()

    def run(job):
        try:
            barrier.wait()
            job()
            result = "ok"
        except ValidationError as error:
            result = error.messages[0]
        except Exception as error:  # surfaced to the main thread
            result = repr(error)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_eight_members_ordering_three_places_at_once_take_exactly_three(tree, officers):
    service = actions.create_service(
        organization=tree.hz,
        data={"title": "疗休养", "category": "inclusive", "description": "三个名额", "capacity": 3},
        acting_user=officers.hz_admin,
    )
    actions.publish_service(service=service, acting_user=officers.hz_admin)
    buyers = [member_with_login(tree.union_a if n % 2 else tree.union_b) for n in range(THREADS)]

    outcomes = _run_all(
        [
            lambda m=m: request_actions.order_service(service=service, member=m, acting_user=m.user)
            for m in buyers
        ]
    )

    assert outcomes.count("ok") == 3, outcomes
    assert len(outcomes) == THREADS
    assert all(o == "ok" or "places" in o for o in outcomes), outcomes
    assert Service.objects.get(pk=service.pk).taken == 3
    assert ServiceRequest.objects.filter(status=RequestStatus.SUBMITTED).count() == 3
    drift = counters.verify(["services.menu."])
    assert drift.ok, drift.wrong


def test_the_same_member_ordering_twice_at_once_gets_one_order(tree, officers):
    service = actions.create_service(
        organization=tree.union_a,
        data={"title": "法律咨询", "category": "legal", "description": "x", "capacity": 5},
        acting_user=officers.a_admin,
    )
    actions.publish_service(service=service, acting_user=officers.a_admin)
    member = member_with_login(tree.union_a)

    outcomes = _run_all(
        [
            lambda: request_actions.order_service(
                service=service, member=member, acting_user=member.user
            )
            for _ in range(4)
        ]
    )

    assert outcomes.count("ok") == 1, outcomes
    assert ServiceRequest.objects.count() == 1
    assert Service.objects.get(pk=service.pk).taken == 1
