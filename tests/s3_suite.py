"""`pytest -p tests.s3_suite …`: any tests (the whole suite) with S3 as the media storage.

Imported as a plugin, before Django's settings are read: it starts moto's S3 in server mode on
loopback (a real HTTP server speaking the S3 protocol), makes the bucket and puts the `S3_*`
variables in the environment, so the settings choose the S3 backend (django-storages',
wireflow_site.storage), and every live worker and server the tests start (they inherit the
environment) stores there too. The `s3_server` fixture hands out this same server.

`make test` runs the tests marked `storage` this way (`-m storage`, pytest.ini). So that code
which went back to a local path fails instead of quietly working on this one machine,
MEDIA_ROOT is a folder that cannot exist (beneath a regular file: every open, write or mkdir
there fails), for this process and every process it starts; the settings must have chosen
S3; and the file-system half of tests that run on both backends (`media_storage`,
`worker_storage`) is left out: the plain pass runs it."""

from __future__ import annotations

import atexit
import logging
import os
import tempfile

import boto3
import pytest
from moto.server import ThreadedMotoServer

BUCKET = "wireflow-suite-media"
ACCESS_KEY, SECRET_KEY, REGION = "wireflow-test", "wireflow-test-secret", "us-east-1"

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
_server.start()
atexit.register(_server.stop)
_host, _port = _server.get_host_and_port()
ENDPOINT = f"http://{_host}:{_port}"
boto3.client("s3", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id=ACCESS_KEY,
             aws_secret_access_key=SECRET_KEY).create_bucket(Bucket=BUCKET)
os.environ.update({"S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": ENDPOINT, "S3_REGION": REGION,
                   "S3_ACCESS_KEY_ID": ACCESS_KEY, "S3_SECRET_ACCESS_KEY": SECRET_KEY,
                   "WIREFLOW_TEST_S3_ENDPOINT": ENDPOINT})

_not_a_folder = tempfile.NamedTemporaryFile(prefix="wireflow-no-local-media-")  # noqa: SIM115
os.environ["WIREFLOW_TEST_MEDIA_ROOT"] = os.path.join(_not_a_folder.name, "media")

BACKENDS = ("media_storage", "worker_storage")  # fixtures parametrized over both backends


def pytest_collection_modifyitems(config, items):
    kept, left_out = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (left_out if any(params.get(f) == "filesystem" for f in BACKENDS) else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _media_is_on_s3():
    from django.conf import settings
    from django.core.files.storage import default_storage

    from wireflow_site.storage import S3Storage

    assert settings.STORAGES["default"]["BACKEND"] == settings.S3_STORAGE, settings.STORAGES
    assert isinstance(default_storage, S3Storage) and default_storage.bucket_name == BUCKET
