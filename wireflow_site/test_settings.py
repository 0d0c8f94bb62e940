"""Settings for the test suite: production settings, served over plain HTTP, fast hashing."""

import os
import uuid
from pathlib import Path

# A queue of this test run's own (its worker processes inherit the name), so two suites on
# one machine and one Redis never take each other's tasks. Set before the settings read it.
os.environ.setdefault("CELERY_QUEUE", f"wireflow-test-{uuid.uuid4().hex[:8]}")
# A small BFL limit, so the limit itself is exercised. Every process of the suite must agree
# on it (the process that enqueues a node takes its slot too); workers inherit the variable.
os.environ.setdefault("BFL_MAX_CONCURRENCY", "3")


def _redis_of_xdist_worker() -> None:
    """Under `pytest -n N` each xdist worker (gw0, gw1, …) is a suite of its own: its own
    Redis database (rate-limit windows, provider slots, plans, broker queues are keyed by row
    ids, which two test databases reuse) and its own pub/sub prefix (channels are not per
    database). Set once in the environment, so the live workers and daphne it starts agree."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or os.environ.get("WIREFLOW_TEST_XDIST_WORKER") == worker:
        return
    from urllib.parse import urlsplit, urlunsplit

    base = os.environ.get("REDIS_URL")
    if not base:  # run outside `make test` / the embedded runner: one Redis database for all
        return
    parts = urlsplit(base)
    db = int(parts.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw") or 0)
    os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{db}"))
    os.environ["CHANNEL_LAYER_PREFIX"] = f"wireflow-test-{worker}:channels"
    os.environ["WIREFLOW_TEST_XDIST_WORKER"] = worker


_redis_of_xdist_worker()

from wireflow_site.settings import *  # noqa: E402, F403

HTTPS = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

# Live workers run in other processes, so even SQLite tests use a database file they can open.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405
# tests/s3_suite.py points it where nothing can be written, to catch code that assumes a disk.
MEDIA_ROOT = Path(os.environ.get("WIREFLOW_TEST_MEDIA_ROOT") or VAR_DIR / "test-media")  # noqa: F405
# Short engine intervals so recovery paths finish within a test (a test that measures them
# at the production defaults sets the variables for its processes).
ENGINE = {**ENGINE, "backoff_base": 0.2, "backoff_cap": 2.0}  # noqa: F405
if "ENGINE_LOST_AFTER" not in os.environ:
    ENGINE["lost_after"] = 4.0
if "ENGINE_REAP_EVERY" not in os.environ:
    ENGINE["reap_every"] = 1.0
CELERY_BEAT_SCHEDULE = beat_schedule(ENGINE["reap_every"])  # noqa: F405

# The suite leaves tasks in its queue with no worker to take them: no back-pressure unless a
# test asks for it (tests/api/test_intake.py).
INTAKE_QUEUE_LIMIT = int(os.environ.get("INTAKE_QUEUE_LIMIT", "0"))
