"""The S3 media storage: django-storages' S3Storage with one boto3 client per process.

django-storages makes a boto3 session and an S3 resource (and with it a client) the first time
each thread touches the storage. Making one costs 60–170 ms of CPU (botocore loads and parses
the service model and the endpoint rules). A worker's threads pay it once each, but under ASGI
every request runs in a thread of its own, so every request that presigns a URL or reads a file
paid it again. boto3's own advice is followed here instead: a low-level client is thread-safe
and is made once per process (and again in a forked child, whose parent's connections it must
not share); a resource is not, so each thread gets its own, a cheap wrapper around that one
client (boto3's `ServiceResource(client=…)`, what `Session.resource` does itself).

A file smaller than the multipart threshold (8 MB by default: every image and thumbnail) is
written with one PutObject on that client. django-storages' own path, `bucket.Object(name)
.upload_fileobj(…)`, sends the same request, but first builds an S3 Object resource class
from its JSON definition (boto3 does that on every call) and a transfer manager that starts
threads of its own for one request: ~4.5 ms of CPU per file against ~1 ms
(bench/bench_scale.py, SCALE_PHASES=1). Larger files (videos) and gzip take its path."""

from __future__ import annotations

import os
import threading

import botocore
from botocore.config import Config
from storages import utils
from storages.backends import s3

# The process's S3 resources (each holding its client), by what the client is made of: every
# storage instance with the same connection settings shares one (tests and `override_settings`
# make new instances with the same store). A forked child drops its parent's.
_resources: dict[tuple, object] = {}
_made = threading.Lock()  # making a client: boto3 sessions are not thread-safe


class S3Storage(s3.S3Storage):
    """`storages.backends.s3.S3Storage`, same options, its clients made once per process."""

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        # A client_config given in the options (or AWS_S3_CLIENT_CONFIG) is keyed by itself;
        # the one django-storages builds, by what it is built from.
        self._config_key = (("config", id(self.client_config), self.client_config)
                            if settings.get("client_config") or s3.setting("AWS_S3_CLIENT_CONFIG")
                            else (self.addressing_style, self.signature_version,
                                  repr(self.proxies)))
        self._bucket_pid = 0

    def __setstate__(self, state):
        super().__setstate__(state)
        self._bucket_pid = 0

    def _process_resource(self, signed: bool):
        """This process's S3 resource, signed or unsigned: made once, by the first thread that
        needs it."""
        pid = os.getpid()
        key = (pid, signed, self.session_profile, self.access_key, self.secret_key,
               self.security_token, self.region_name, self.use_ssl, self.endpoint_url,
               repr(self.verify), self._config_key)
        resource = _resources.get(key)
        if resource is None:
            with _made:
                resource = _resources.get(key)
                if resource is None:
                    config = self.client_config if signed else self.client_config.merge(
                        Config(signature_version=botocore.UNSIGNED))
                    resource = self._create_session().resource(
                        "s3", region_name=self.region_name, use_ssl=self.use_ssl,
                        endpoint_url=self.endpoint_url, config=config, verify=self.verify)
                    for other in [k for k in _resources if k[0] != pid]:
                        del _resources[other]  # a forked child's entries are its parent's
                    _resources[key] = resource
        return resource

    def _thread_resource(self, local: threading.local, signed: bool):
        """This thread's resource around the process's client (resources are not
        thread-safe; what they wrap, the client, is)."""
        held = getattr(local, "connection", None)
        pid = os.getpid()
        if held is None or getattr(local, "pid", None) != pid:
            shared = self._process_resource(signed)
            held = type(shared)(client=shared.meta.client)
            local.connection, local.pid = held, pid
        return held

    @property
    def connection(self):
        return self._thread_resource(self._connections, signed=True)

    @property
    def unsigned_connection(self):
        return self._thread_resource(self._unsigned_connections, signed=False)

    @property
    def bucket(self):
        if self._bucket is None or self._bucket_pid != os.getpid():
            self._bucket = self.connection.Bucket(self.bucket_name)
            self._bucket_pid = os.getpid()
        return self._bucket

    def _save(self, name, content):
        size = getattr(content, "size", None)
        if self.gzip or size is None or size >= self.transfer_config.multipart_threshold:
            return super()._save(name, content)
        cleaned = utils.clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)  # the same ContentType, ACL, …
        if utils.is_seekable(content):
            content.seek(0, os.SEEK_SET)
        body = utils.ReadBytesWrapper(content).read()
        self.connection.meta.client.put_object(Bucket=self.bucket_name, Key=key, Body=body,
                                               **params)
        return cleaned
