"""API rate limits (`accounts.throttling`): per credential and per address, 429 with
`Retry-After` and a JSON body in the caller's language, counted atomically in the shared
cache (Redis here, as in production), documented on every operation of the schema."""

import os
import threading

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory

from accounts.throttling import AddressRateThrottle
from tests.factories import make_token

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/organizations/"


@pytest.fixture
def redis_cache(settings):
    """The default cache on this run's Redis (db 1), emptied before and after."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "rate-limit-tests",
        }
    }
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


def bearer(token: str, address: str = "10.0.0.1") -> Client:
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        REMOTE_ADDR=address,
    )


def test_each_credential_has_its_own_limit(settings, redis_cache, officers):
    settings.API_RATE_LIMITS = {"credential": "3/m", "address": None}
    first, second = make_token(officers.a_admin), make_token(officers.a_admin)
    client = bearer(first)
    assert [client.get(ORGS).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(ORGS)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"] == "application/json"
    assert "限" in refused.json()["detail"]  # DRF's message, in Chinese
    # Another token of the same officer, and the officer's browser session, count apart.
    assert bearer(second).get(ORGS).status_code == 200
    browser = Client(REMOTE_ADDR="10.0.0.1")
    browser.force_login(officers.a_admin)
    assert browser.get(ORGS).status_code == 200


def test_every_request_from_one_address_counts_together(settings, redis_cache, officers):
    settings.API_RATE_LIMITS = {"credential": None, "address": "4/m"}
    a, b = make_token(officers.a_admin), make_token(officers.b_admin)
    statuses = [bearer(token).get(ORGS).status_code for token in (a, b, a, b, a)]
    assert statuses == [200, 200, 200, 200, 429]
    # A caller refused before the limits are counted (not logged in) is answered 403 as
    # ever: DRF checks permissions first, and such an answer costs next to nothing.
    assert Client(REMOTE_ADDR="10.0.0.1").get(ORGS).status_code == 403
    # Another address has its own count; behind the proxy it is the last forwarded hop.
    assert bearer(a, address="10.0.0.2").get(ORGS).status_code == 200
    proxied = Client(
        HTTP_AUTHORIZATION=f"Bearer {b}",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="10.0.0.1",
    )
    assert proxied.get(ORGS).status_code == 429


def test_the_english_caller_reads_english(settings, redis_cache, officers):
    settings.API_RATE_LIMITS = {"credential": "1/m", "address": None}
    token = make_token(officers.a_admin)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    assert client.get(ORGS).status_code == 200
    assert "throttled" in client.get(ORGS).json()["detail"]


def test_concurrent_requests_never_pass_the_limit(settings, redis_cache):
    """20 threads at once against a limit of 10: exactly 10 pass (the count is an atomic
    increment in Redis, not a read-then-write)."""
    settings.API_RATE_LIMITS = {"credential": None, "address": "10/m"}
    factory = RequestFactory()
    start = threading.Barrier(20)
    allowed = []

    def one():
        request = factory.get(ORGS, REMOTE_ADDR="10.9.9.9")
        start.wait()
        allowed.append(AddressRateThrottle().allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 10 + [True] * 10


def test_the_schema_documents_the_429_on_every_operation(client):
    schema = client.get("/api/schema/?format=json").json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 50
    for path, method, operation in operations:
        answer = operation["responses"].get("429")
        assert answer is not None, (path, method)
        assert "Retry-After" in answer["headers"], (path, method)
