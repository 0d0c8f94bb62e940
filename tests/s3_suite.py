"""`pytest -p tests.s3_suite` (`make test-s3`): the whole suite with S3 as the media storage.

Imported as a plugin, before Django's settings are read: it starts moto's S3 in server mode on
loopback (a real HTTP server speaking the S3 protocol), makes the bucket and puts the `S3_*`
variables in the environment, so the settings choose django-storages' S3 backend, and every
live worker and server the tests start (they inherit the environment) stores there too. The
`s3_server` fixture hands out this same server."""

from __future__ import annotations

import atexit
import logging
import os

import boto3
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
