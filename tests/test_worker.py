"""A real Celery worker (in-process thread) against the test Redis runs the tree check."""

import os

import pytest
from celery.contrib.testing.worker import start_worker

from organizations.models import Organization
from organizations.tasks import check_tree_task
from unionhub.celery import app

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(transactional_db):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.fail("the worker tests need the Redis broker the test plugin starts")
    app.conf.update(broker_url=broker, result_backend=os.environ["REDIS_URL"])
    vars(app._local).pop("backend", None)  # an eager task may have cached the disabled one
    app.loader.import_module("celery.contrib.testing.tasks")  # the worker's ping task
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10) as w:
        yield w
    app.conf.result_backend = None
    vars(app._local).pop("backend", None)


def test_worker_runs_the_nightly_tree_check_and_repairs(worker, tree_committed):
    _national, zj = tree_committed
    Organization.objects.filter(pk=zj.pk).update(rght=99)  # corrupt one tree

    report = check_tree_task.delay(repair=False).get(timeout=30)
    assert report["broken"] == [zj.tree_id] and report["repaired"] == []

    report = check_tree_task.delay(repair=True).get(timeout=30)
    assert report["repaired"] == [zj.tree_id]
    zj.refresh_from_db()
    assert zj.rght == 2
    assert check_tree_task.delay().get(timeout=30)["broken"] == []


def test_nightly_check_is_scheduled_in_celery_beat(transactional_db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="organizations.tasks.check_tree_task")
    assert task.enabled and task.crontab.timezone.key == "Asia/Shanghai"


@pytest.fixture
def tree_committed(transactional_db):
    from tests.factories import OrganizationFactory

    national = OrganizationFactory(name="中华全国总工会", level="national")
    zj = OrganizationFactory(name="浙江省总工会", level="provincial", parent=national)
    return national, zj
