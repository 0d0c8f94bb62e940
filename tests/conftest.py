"""Shared fixtures: teams, members, API keys and an API client per principal."""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count(1)


@pytest.fixture
def make_team(db):
    from accounts.services import team_create

    def make(plan: str = "pro", credits: int = 0, **kwargs):
        from accounts.services import credits_grant

        n = next(_counter)
        team = team_create(name=kwargs.get("name", f"Team {n}"), slug=f"team-{n}", plan=plan)
        if credits:
            credits_grant(team=team, amount=credits)
        return team

    return make


@pytest.fixture
def make_user(db):
    from accounts.models import User
    from accounts.services import membership_set

    def make(team=None, role: str = "editor", **kwargs):
        n = next(_counter)
        user = User.objects.create_user(username=kwargs.get("username", f"user{n}"), password="pw")
        if team is not None:
            membership_set(team=team, user=user, role=role)
        return user

    return make


@pytest.fixture
def make_key(db):
    from accounts.services import api_key_create

    def make(team, scopes=None, **kwargs):
        return api_key_create(team=team, name=kwargs.pop("name", "test"), scopes=scopes, **kwargs)

    return make


@pytest.fixture
def team(make_team):
    return make_team()


@pytest.fixture
def other_team(make_team):
    return make_team()


@pytest.fixture
def key_client(make_key):
    """An APIClient authenticated with a new key of `team` (all scopes unless given)."""
    from rest_framework.test import APIClient

    def make(team, scopes=None):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(team, scopes=scopes).raw_key}")
        return client

    return make


@pytest.fixture
def api(team, key_client):
    return key_client(team)


@pytest.fixture
def member(make_user):
    """A client signed in as a new member of `team` with `role` (an APIClient, which is also
    Django's test Client for pages): `client, user = member(team, "admin", username="ann")`."""
    from rest_framework.test import APIClient

    def make(team, role: str = "editor", **kwargs):
        user = make_user(team=team, role=role, **kwargs)
        client = APIClient()
        client.force_login(user)
        return client, user

    return make


@pytest.fixture
def session_client(make_user):
    """An APIClient logged in as a member with `role`, enforcing CSRF like a browser."""
    from rest_framework.test import APIClient

    def make(team, role: str = "editor"):
        user = make_user(team=team, role=role)
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        return client, user

    return make


@pytest.fixture(scope="session")
def simulator_server():
    """The provider simulator on loopback, shared by the suite (reset per test by `simulator`)."""
    from executions.simulator import SimulatorServer

    with SimulatorServer(latency=0.3) as server:
        yield server


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Where browser tests' daphne listens; the worker builds output URLs from it.
LIVE_SERVER_URL = f"http://127.0.0.1:{_free_port()}"

# The worker's remote providers talk to the simulator, with the small BFL concurrency limit
# of wireflow_site.test_settings, so the limit itself is exercised.
WORKER_BFL_LIMIT = 3


@pytest.fixture(scope="session")
def live_worker(django_db_setup, django_db_blocker, simulator_server):
    """A real Celery worker process (prefork, 2 children) plus beat running the reaper."""
    from tests.live import LiveWorker

    url = simulator_server.url
    worker = LiveWorker(extra_env={
        "SIMULATE": "1", "SIMULATOR_URL": url, "PUBLIC_BASE_URL": LIVE_SERVER_URL,
        "BFL_MAX_CONCURRENCY": str(WORKER_BFL_LIMIT), "BFL_TIMEOUT": "5",
    }).start()
    _LIVE.append(worker)
    yield worker
    _LIVE.clear()
    worker.stop()


_LIVE: list = []


@pytest.fixture(scope="session")
def daphne_server(live_worker):
    """daphne at LIVE_SERVER_URL (where the live worker's output links point), one for the
    suite: starting it costs seconds, and the database it reads is flushed between tests
    anyway. A test that kills it starts it again (`.start()`)."""
    from tests.live import LiveServer

    live = LiveServer(url=LIVE_SERVER_URL).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def s3_live_worker(django_db_setup, django_db_blocker, simulator_server, s3_server):
    """A second live worker whose media storage is the loopback S3 server, on queues of its
    own (`<queue>-s3`, `<queue>-s3.remote`), so only what a test sends there reaches it."""
    from django.conf import settings

    from tests.live import LiveWorker

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-s3"
    worker = LiveWorker(beat=False, hostname=f"test-s3-{os.getpid()}@localhost", extra_env={
        "SIMULATE": "1", "SIMULATOR_URL": simulator_server.url,
        "PUBLIC_BASE_URL": LIVE_SERVER_URL, "CELERY_QUEUE": queue, **s3_server.env,
    }).start()
    worker.queue = queue
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _settle_runs_before_flush(request, django_db_blocker):
    """With a live worker about, a test that leaves runs going would race the table flush of
    transactional tests: cancel what is left and wait until the worker is idle."""
    yield
    if not _LIVE or "transactional_db" not in request.fixturenames and not any(
        m.kwargs.get("transaction") for m in request.node.iter_markers("django_db")
    ):
        return
    import time

    from executions.models import Execution, ExecutionStatus
    from executions.services import execution_cancel
    from wireflow_site.celery import app

    with django_db_blocker.unblock():
        for execution in Execution.objects.filter(
            status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        ):
            execution_cancel(execution=execution)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        active = app.control.inspect(timeout=0.5,
                                     destination=[_LIVE[0].hostname]).active() or {}
        if not any(active.values()):
            return
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in Redis, outside the test transaction: start each test clean
    (row ids are reused between tests on SQLite)."""
    from wireflow_site.redis_client import client

    keys = list(client().scan_iter("wireflow:rl:*", count=1000))
    if keys:
        client().delete(*keys)


# --- media storage: the file system and a real S3-protocol server --------------------------

class S3Server:
    """moto's S3 in server mode on loopback: a real HTTP server speaking the S3 protocol (no
    patched client). `env` is what a process needs to use it as its storage."""

    access_key = "wireflow-test"
    secret_key = "wireflow-test-secret"
    region = "us-east-1"

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket

    @property
    def env(self) -> dict[str, str]:
        return {"S3_BUCKET": self.bucket, "S3_ENDPOINT_URL": self.endpoint,
                "S3_REGION": self.region, "S3_ACCESS_KEY_ID": self.access_key,
                "S3_SECRET_ACCESS_KEY": self.secret_key}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key)

    def storage_options(self, **extra) -> dict:
        from wireflow_site.settings import s3_options

        return {**s3_options(bucket=self.bucket, endpoint_url=self.endpoint, region=self.region,
                             access_key=self.access_key, secret_key=self.secret_key), **extra}

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server():
    """One S3 server for the suite, with the bucket the app writes to (under
    `-p tests.s3_suite`, the server the whole suite already stores its media in)."""
    import logging

    if os.environ.get("WIREFLOW_TEST_S3_ENDPOINT"):
        yield S3Server(os.environ["WIREFLOW_TEST_S3_ENDPOINT"], os.environ["S3_BUCKET"])
        return

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = S3Server(f"http://{host}:{port}", "wireflow-test-media")
    s3.client().create_bucket(Bucket=s3.bucket)
    yield s3
    server.stop()


class MediaStore:
    """The storage backend a test runs on, and what it holds."""

    def __init__(self, kind: str, names, s3: S3Server | None = None) -> None:
        self.kind = kind
        self.names = names  # () -> sorted list of stored file names
        self.s3 = s3

    def __repr__(self) -> str:
        return f"MediaStore({self.kind})"


FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"
S3_STORAGE = "wireflow_site.storage.S3Storage"  # settings.S3_STORAGE


@pytest.fixture(params=["filesystem", "s3"])
def media_storage(request, settings, tmp_path):
    """Run the test on each media backend: the file system (in a temporary folder) and S3 (the
    loopback S3 server, under a prefix of this test's own). Code under test only ever sees
    Django's storage API: on S3, MEDIA_ROOT is a folder that cannot exist (beneath a regular
    file), so a write or read through a local path fails."""
    if request.param == "filesystem":
        settings.MEDIA_ROOT = tmp_path
        settings.STORAGES = {**settings.STORAGES,
                             "default": {"BACKEND": FILESYSTEM_STORAGE, "OPTIONS": {}}}
        return MediaStore("filesystem", lambda: sorted(
            str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()))
    import uuid

    s3 = request.getfixturevalue("s3_server")
    (tmp_path / "not-a-folder").touch()
    settings.MEDIA_ROOT = tmp_path / "not-a-folder" / "media"
    location = f"test-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": S3_STORAGE, "OPTIONS": s3.storage_options(location=location)}}
    return MediaStore("s3", lambda: [k.removeprefix(location + "/")
                                     for k in s3.keys(location + "/")], s3)
