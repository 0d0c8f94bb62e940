"""What private media cost: making one signed URL (ours, and an S3 presigned one), storing
and reading back a 1 MB output through Django's storage API on the file system and on a
loopback S3 server (moto in server mode), and what the first S3 call of a new thread costs
(under ASGI every request runs in a thread of its own) with django-storages' own backend (a
boto3 session and client per thread) and with ours (one client per process,
wireflow_site/storage.py). Medians; prints figures, asserts nothing about time.

Run from the repository root: python bench/bench_media.py.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
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
from storages.backends import s3 as django_storages_s3  # noqa: E402

from executions.media_urls import media_url  # noqa: E402
from wireflow_site.settings import s3_options  # noqa: E402
from wireflow_site.storage import S3Storage  # noqa: E402

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


def new_threads_ms(storage, name: str, together: int, rounds: int) -> tuple[float, float]:
    """Request-like threads, `together` at a time, each making its first storage calls (a
    presigned URL and a small file read back): the median wall time of a round and the median
    CPU time of one thread."""
    walls, cpus = [], []
    counter = iter(range(10**9))

    def request() -> None:
        cpu = time.thread_time()
        storage.url(f"assets/{next(counter):032x}.png")
        with storage.open(name, "rb") as handle:
            handle.read()
        cpus.append(time.thread_time() - cpu)

    for _ in range(rounds):
        threads = [threading.Thread(target=request) for _ in range(together)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


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
        name = s3.save("assets/small.txt", ContentFile(b"x" * 1000))
        for label, storage in (("django-storages' S3Storage (a client per thread)",
                                django_storages_s3.S3Storage(**options)),
                               ("ours (one client per process)", S3Storage(**options))):
            storage.url("warm")  # made by the process before the requests come
            one, cpu = new_threads_ms(storage, name, together=1, rounds=20)
            eight, _ = new_threads_ms(storage, name, together=8, rounds=5)
            print(f"a new thread's first presigned URL + 1 kB read on S3, {label}: "
                  f"{one:.1f} ms ({cpu:.1f} ms CPU; median of 20), 8 threads at once "
                  f"{eight:.0f} ms (median of 5)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
