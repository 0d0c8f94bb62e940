"""What thumbnails, the assets zip and retention cost, and what thumbnails save:

- making one image's two WebP thumbnails (768 and 256 px) from a stored PNG of 1024², 2048² and
  4096², against decoding it alone, and the bytes a preview then loads instead of the file;
- a video's poster frame and its thumbnails (a 3 s 1280×720 H.264 MP4);
- building one poll item (its signed URLs) with and without thumbnails, file system and S3;
- the zip of 50 files of 1 MB streamed from the file system and from S3 (moto, loopback);
- a retention pass deleting 1,000 expired runs, each with an image and its two thumbnails.

Medians; prints figures, asserts nothing about time. Run from the repository root:
python bench/bench_assets.py (SQLite in a temporary folder; no Redis, no worker).
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_TMP = tempfile.mkdtemp(prefix="bench-assets-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
os.environ["MEDIA_ROOT"] = os.path.join(_TMP, "media")
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/bench.sqlite3"
os.environ["S3_BUCKET"] = ""

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from PIL import Image  # noqa: E402

from executions import imaging, provenance, retention  # noqa: E402
from executions.assets import asset_api  # noqa: E402
from executions.models import Asset, Execution, NodeRun  # noqa: E402
from wireflow_site.settings import s3_options  # noqa: E402

logging.disable(logging.INFO)


def median_ms(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def png(side: int) -> bytes:
    """A picture with grain, so its PNG is as large as a generated one's (~1.5 B a pixel; a
    flat procedural preview compresses 20 times better than a photo-like image)."""
    picture = imaging.preview_image(prompt="a lighthouse at dusk, bench", seed=1, width=1024,
                                    height=1024)
    picture = Image.blend(picture, Image.effect_noise((1024, 1024), 40).convert("RGB"), 0.25)
    picture = picture.resize((side, side), Image.Resampling.BICUBIC)
    picture = Image.blend(picture, Image.effect_noise((side, side), 30).convert("RGB"), 0.15)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()


def renditions() -> None:
    """What storing an image adds: its two thumbnails, made from the image the type check
    (media_types.media_detect) decoded anyway; and, for an upload thumbnailed later by a
    worker, from the stored bytes (decoding included)."""
    for side in (1024, 2048, 4096):
        data = png(side)
        decode = median_ms(lambda data=data: imaging.open_image(data), 5)
        decoded = imaging.open_image(data)
        made = {}

        def from_decoded(made=made, decoded=decoded):
            made.update(imaging.renditions(imaging.upright(decoded)))

        added = median_ms(from_decoded, 5)
        from_bytes = median_ms(
            lambda data=data: imaging.renditions(imaging.image_for_renditions(data)), 5)
        print(f"thumbnails of a {side}² PNG ({len(data) / 1e6:.1f} MB): {added:.0f} ms on top "
              f"of the type check's decode ({decode:.0f} ms); from the stored bytes "
              f"{from_bytes:.0f} ms; 768 px WebP {len(made[768]) / 1e3:.0f} kB, 256 px "
              f"{len(made[256]) / 1e3:.1f} kB ({len(data) / len(made[768]):.0f}× fewer bytes "
              f"for a preview)")
    still = imaging.preview_image(prompt="bench", seed=2, width=1280, height=720)
    clip = imaging.pan_zoom_video(still, duration=3, fps=24, zoom=1.3, direction="in")
    poster = median_ms(lambda: imaging.renditions(imaging.video_poster(clip)), 5)
    print(f"poster frame and thumbnails of a 3 s 1280×720 MP4 ({len(clip) / 1e6:.1f} MB): "
          f"{poster:.0f} ms")


def item_cost(storage_label: str) -> None:
    """One poll item's signed URLs: a file seen for the first time (every name new), and again
    (S3 presigned URLs are reused for a step, executions.media_urls)."""
    counter = iter(range(10**9))

    def asset(thumbs: bool, fresh: bool) -> Asset:
        tag = f"{next(counter) if fresh else 0:032x}"
        return Asset(kind="image", file=f"assets/{tag}.png", mime="image/png", size=1,
                     thumbnail=f"assets/{tag}.t.webp" if thumbs else "",
                     thumbnail_small=f"assets/{tag}.s.webp" if thumbs else "")

    runs = 500
    figures = []
    for fresh in (True, False):
        for thumbs in (False, True):
            items = [asset(thumbs, fresh) for _ in range(runs * 3)]
            batches = iter([items[i * runs:(i + 1) * runs] for i in range(3)])
            cost = median_ms(lambda batches=batches: [asset_api(a) for a in next(batches)],
                             3) / runs * 1000
            figures.append(cost)
    print(f"one poll item's URLs on {storage_label}: a new file {figures[0]:.0f} µs, with "
          f"thumbnails {figures[1]:.0f} µs; again {figures[2]:.0f} / {figures[3]:.0f} µs "
          f"(100 new files with thumbnails: +{(figures[1] - figures[0]) / 10:.1f} ms)")


def zip_rate(storage_label: str) -> None:
    data = os.urandom(1024 * 1024)
    assets = []
    for index in range(50):
        name = default_storage.save(f"assets/zip-{index:03d}.bin", ContentFile(data))
        assets.append(Asset(kind="image", file=name, mime="image/png", size=len(data),
                            created_at=timezone.now()))
    start = time.perf_counter()
    size = sum(len(chunk) for chunk in provenance.zip_stream(assets))
    took = time.perf_counter() - start
    print(f"zip of 50 × 1 MB from {storage_label}: {took * 1000:.0f} ms, "
          f"{size / took / 1e6:.0f} MB/s")


def retention_pass() -> None:
    from accounts.models import Team

    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="bench", slug=f"bench-{os.getpid()}", plan="free")
    old = timezone.now() - timezone.timedelta(days=30)
    runs = [Execution(team=team, status="COMPLETED", created_at=old) for _ in range(1000)]
    Execution.objects.bulk_create(runs)
    node_runs = [NodeRun(execution=run, node_id="gen", node_type="generate:local_preview",
                         status="COMPLETED") for run in runs]
    NodeRun.objects.bulk_create(node_runs)
    tiny = b"x" * 1000
    assets = []
    for node_run in node_runs:
        names = [default_storage.save(f"assets/r{ext}", ContentFile(tiny))
                 for ext in (".png", ".webp", ".webp")]
        assets.append(Asset(team=team, node_run=node_run, kind="image", file=names[0],
                            thumbnail=names[1], thumbnail_small=names[2], mime="image/png",
                            size=1000, sha256="0" * 64, created_at=old))
    Asset.objects.bulk_create(assets)
    start = time.perf_counter()
    pruned = retention.retention_prune(batch=100, budget=600)
    took = time.perf_counter() - start
    print(f"retention pass, file system, SQLite: {pruned.executions} runs and {pruned.files} "
          f"files deleted in {took:.1f} s ({pruned.executions / took:.0f} runs/s, batches of "
          f"100)")


def main() -> None:
    renditions()
    item_cost("the file system")
    zip_rate("the file system")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = s3_options(bucket="bench-assets", endpoint_url=f"http://{host}:{port}",
                         region="us-east-1", access_key="bench", secret_key="bench-secret")
    try:
        from wireflow_site.storage import S3Storage

        S3Storage(**options).connection.meta.client.create_bucket(Bucket="bench-assets")
        s3 = {"BACKEND": "wireflow_site.storage.S3Storage", "OPTIONS": options}
        with override_settings(STORAGES={"default": s3, "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):
            item_cost("S3 (presigned)")
            zip_rate("S3 (moto, loopback)")
    finally:
        server.stop()
    retention_pass()


if __name__ == "__main__":
    main()
