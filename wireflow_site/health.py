"""Health endpoints.

`/livez`: the process is up and serving (what a supervisor or a start-up wait needs).
`/healthz`: it can do its work — the database answers, Redis answers, and at least one Celery
worker answers a ping. 200 when all do, else 503 with what is down and a Retry-After. The checks
are cached for HEALTH_CACHE_SECONDS per process, so a busy probe costs one check per interval.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from wireflow_site.redis_client import client

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
WORKER_PING_TIMEOUT = 0.5

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict]] = {}


def livez(request):
    return JsonResponse({"status": "ok"})


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 — any failure means "down"; the detail goes to the log
        log.warning("health: the database does not answer", exc_info=True)
        return False


def _redis() -> bool:
    try:
        return bool(client().ping())
    except Exception:  # noqa: BLE001
        log.warning("health: Redis does not answer", exc_info=True)
        return False


def _workers() -> int:
    """How many Celery workers answered a ping (the first answer ends the wait)."""
    from wireflow_site.celery import app

    try:
        return len(app.control.ping(timeout=WORKER_PING_TIMEOUT, limit=1) or [])
    except Exception:  # noqa: BLE001 — the broker is down: no worker can be reached
        log.warning("health: no worker can be pinged", exc_info=True)
        return 0


def check() -> dict:
    with _lock:
        cached = _cache.get("health")
        if cached and time.monotonic() - cached[0] < settings.HEALTH_CACHE_SECONDS:
            return cached[1]
        result = {"database": _database(), "redis": _redis(), "workers": _workers()}
        _cache["health"] = (time.monotonic(), result)
        return result


def healthz(request):
    result = check()
    healthy = result["database"] and result["redis"] and result["workers"] > 0
    response = JsonResponse({"status": "ok" if healthy else "unavailable", **result},
                            status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
