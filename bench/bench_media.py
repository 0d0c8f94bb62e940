"""What private media cost: making one signed URL (ours, and an S3 presigned one), and storing
and reading back a 1 MB output through Django's storage API on the file system and on a
loopback S3 server (moto in server mode). Medians; prints figures, asserts nothing about time.

Run from the repository root: python bench/bench_media.py.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-media-"))

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import FileSystemStorage  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from storages.backends.s3 import S3Storage  # noqa: E402

from executions.media_urls import media_url  # noqa: E402
from wireflow_site.settings import s3_options  # noqa: E402

URLS = 5000
FILES = 30
DATA = os.urandom(1024 * 1024)


def per_call_us(call, runs: int) -> float:
    start = time.perf_counter()
    for index in range(runs):
        call(index)
    return (time.perf_counter() - start) / runs * 1e6


def round_trip_ms(storage) -> tuple[float, float]:
    writes, reads = [], []
    for index in range(FILES):
        start = time.perf_counter()
        name = storage.save(f"assets/bench-{index:04d}.bin", ContentFile(DATA))
        writes.append(time.perf_counter() - start)
        start = time.perf_counter()
        with storage.open(name, "rb") as handle:
            assert len(handle.read()) == len(DATA)
        reads.append(time.perf_counter() - start)
    return statistics.median(writes) * 1000, statistics.median(reads) * 1000


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = s3_options(bucket="bench-media", endpoint_url=f"http://{host}:{port}",
                         region="us-east-1", access_key="bench", secret_key="bench-secret")
    s3 = S3Storage(**options)
    s3.connection.meta.client.create_bucket(Bucket="bench-media")
    try:
        ours = per_call_us(lambda i: media_url(f"assets/{i:032x}.png"), URLS)
        presigned = per_call_us(lambda i: s3.url(f"assets/{i:032x}.png"), URLS)
        print(f"one media URL: signed by us {ours:.1f} µs, S3 presigned {presigned:.1f} µs "
              f"({URLS} each)")
        fs = FileSystemStorage(location=os.environ["MEDIA_ROOT"])
        for label, storage in (("file system", fs), ("S3 (moto, loopback)", s3)):
            write, read = round_trip_ms(storage)
            print(f"1 MB through the storage API on {label}: write {write:.1f} ms, "
                  f"read {read:.1f} ms (median of {FILES})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
