"""Operational endpoints: `/healthz/` for load balancers and process supervisors, and
`/metrics` for Prometheus. Neither shows any personal data or any tenant's figures.

The health check asks the database for one row, pings Redis (the Celery broker) and looks
for a fresh heartbeat of at least one Celery worker (`unionhub.celery.Heartbeat` writes one
every few seconds with an expiry). It answers 200 when all hold and 503 otherwise, with the
state of each part, so a supervisor restarts the right process and an operator sees why.
"""

from __future__ import annotations

import ipaddress
import secrets
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

HEARTBEAT_PREFIX = "unionhub:worker-heartbeat:"


def redis_client():
    import redis

    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )


def check_database() -> dict:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_redis() -> dict:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "detail": "no broker: tasks run in the web process"}
    started = time.monotonic()
    redis_client().ping()
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_workers() -> dict:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "detail": "no broker: tasks run in the web process"}
    client = redis_client()
    now = time.time()
    ages = []
    for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=100):
        value = client.get(key)
        if value is not None:
            ages.append(now - float(value))
    fresh = [age for age in ages if age <= settings.HEALTH_WORKER_MAX_AGE]
    result = {"ok": bool(fresh), "workers": len(fresh)}
    if ages:
        result["newest_heartbeat_s"] = round(min(ages), 1)
    return result


CHECKS = {"database": check_database, "redis": check_redis, "workers": check_workers}


@never_cache
def health(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as error:  # a failed part is reported, not raised
            results[name] = {"ok": False, "error": type(error).__name__}
    ok = all(part["ok"] for part in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": results}, status=200 if ok else 503
    )


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return secrets.compare_digest(sent.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
def metrics(request):
    """Prometheus metrics: for the bearer of METRICS_TOKEN, or without one from this host."""
    if not _metrics_allowed(request):
        raise PermissionDenied
    return ExportToDjangoView(request)
