"""`/healthz/` and `/metrics`: what an operator's probes and scraper get."""

import time

import pytest
import redis
from django.conf import settings
from django.urls import reverse

from tests.test_worker import worker  # noqa: F401  (fixture)
from unionhub.health import HEARTBEAT_PREFIX

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*"):
        client.delete(key)
    yield client
    for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*"):
        client.delete(key)


def health(client):
    response = client.get(reverse("health"))
    return response.status_code, response.json()


def test_without_a_worker_heartbeat_the_site_is_not_healthy(client, broker):
    status, body = health(client)
    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["workers"] == {"ok": False, "workers": 0}


def test_a_fresh_heartbeat_makes_it_healthy_and_a_stale_one_does_not(client, broker):
    broker.set(HEARTBEAT_PREFIX + "w1@host", f"{time.time():.3f}", ex=60)
    status, body = health(client)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["workers"]["workers"] == 1

    broker.set(HEARTBEAT_PREFIX + "w1@host", f"{time.time() - 3600:.3f}", ex=60)
    status, body = health(client)
    assert status == 503
    assert body["checks"]["workers"]["ok"] is False
    assert body["checks"]["workers"]["newest_heartbeat_s"] >= 3599


def test_redis_away_is_reported_by_name_not_raised(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    status, body = health(client)
    assert status == 503
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["database"]["ok"] is True


def test_without_a_broker_tasks_run_in_process_and_that_is_healthy(client, settings):
    settings.CELERY_BROKER_URL = ""
    status, body = health(client)
    assert status == 200
    assert "in the web process" in body["checks"]["workers"]["detail"]


def test_the_health_answer_is_never_cached(client, broker):
    response = client.get(reverse("health"))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.real_worker
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_writes_its_heartbeat(client, broker, worker):  # noqa: F811
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, body = health(client)
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, body
    assert body["checks"]["workers"]["workers"] >= 1


def test_metrics_only_from_this_host_without_a_token(client):
    client.get("/")
    response = client.get(reverse("metrics"))
    assert response.status_code == 200
    assert b"django_http_requests_total_by_view_transport_method_total" in response.content
    assert b'view="directory"' in response.content
    assert client.get(reverse("metrics"), REMOTE_ADDR="10.1.2.3").status_code == 403


def test_metrics_with_a_token_need_the_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get(reverse("metrics"), **remote).status_code == 403
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer s3cret-token", **remote)
    assert response.status_code == 200
