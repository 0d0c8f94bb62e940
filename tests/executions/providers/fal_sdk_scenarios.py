"""fal-client, unchanged, against the simulator over HTTPS. Run as a script: fal_client reads
FAL_QUEUE_RUN_HOST when it is imported, so each run gets its own process.

    FAL_QUEUE_RUN_HOST=127.0.0.1:<port> SSL_CERT_FILE=<cert> SIM_URL=https://127.0.0.1:<port>
    FAL_SAMPLE_KEY=<key> python fal_sdk_scenarios.py   → one JSON object, scenario → outcome
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
from collections.abc import Callable

import fal_client
import httpx
from PIL import Image

ESRGAN = "fal-ai/esrgan"
KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"
SIM = os.environ["SIM_URL"]
client = fal_client.SyncClient(key=os.environ["FAL_SAMPLE_KEY"])
picture = fal_client.encode_image(Image.new("RGB", (40, 30), (200, 40, 90)), format="png")
SCENARIOS: dict[str, Callable[[], dict]] = {}


def scenario(fn: Callable[[], dict]) -> Callable[[], dict]:
    SCENARIOS[fn.__name__] = fn
    return fn


def http_error(call: Callable[[], object]) -> dict:
    """What a FalClientHTTPError said: status, message (the `detail`) and error type."""
    try:
        call()
    except fal_client.FalClientHTTPError as error:
        return {"status": error.status_code, "detail": error.message,
                "error_type": error.error_type}
    return {"status": None}


def sim_requests(path_start: str) -> list[dict]:
    log = httpx.get(f"{SIM}/__sim/requests").json()
    return [entry for entry in log if entry["path"].startswith(path_start)]


@scenario
def esrgan_with_logs() -> dict:
    handle = client.submit(ESRGAN, {"image_url": picture, "scale": 3})
    events = list(handle.iter_events(with_logs=True, interval=0.05))
    result = handle.get()
    image = Image.open(io.BytesIO(httpx.get(result["image"]["url"]).content))
    last = events[-1]
    return {"kinds": [type(event).__name__ for event in events],
            "in_progress_logs": [event.logs for event in events
                                 if isinstance(event, fal_client.InProgress)],
            "completed_logs": last.logs, "metrics": last.metrics, "error": last.error,
            "size": list(image.size), "result": result,
            "status_without_logs": client.status(ESRGAN, handle.request_id).logs}


@scenario
def kling_subscribe() -> dict:
    updates: list[str] = []
    result = client.subscribe(
        KLING, {"prompt": "a slow pan", "image_url": picture, "duration": "5",
                "aspect_ratio": "16:9"},
        with_logs=True, interval=0.05,
        on_queue_update=lambda status: updates.append(type(status).__name__))
    video = httpx.get(result["video"]["url"])
    sent = sim_requests("/fal-ai/kling-video/v2.1")[-1]
    return {"updates": updates, "result": result, "mime": video.headers["content-type"],
            "bytes": len(video.content), "ignored": sent["ignored"], "body": sent["body"]}


@scenario
def cancel_a_slow_job() -> dict:
    handle = client.submit(KLING, {"prompt": "sim:slow", "image_url": picture})
    first = http_error(handle.cancel)
    status = handle.status()
    again = http_error(lambda: client.cancel(KLING, handle.request_id))
    return {"first": first, "status": type(status).__name__, "error": status.error,
            "again": again, "result": http_error(handle.get)}


@scenario
def missing_kling_prompt() -> dict:
    return http_error(lambda: client.submit(KLING, {"image_url": picture}))


@scenario
def unknown_app() -> dict:
    return http_error(lambda: client.submit("fal-ai/no-such-app", {"prompt": "x"}))


@scenario
def malformed_key() -> dict:
    bad = fal_client.SyncClient(key="not-a-fal-key")
    return http_error(lambda: bad.submit(ESRGAN, {"image_url": picture}))


@scenario
def retried_after_429() -> dict:
    httpx.post(f"{SIM}/__sim/script",
               json={"path_prefix": "/fal-ai/esrgan", "responses": [429]}).raise_for_status()
    before = len(sim_requests("/fal-ai/esrgan"))
    handle = client.submit(ESRGAN, {"image_url": picture})
    statuses = [entry["status"] for entry in sim_requests("/fal-ai/esrgan")[before:]
                if entry["method"] == "POST"]
    return {"request_id": handle.request_id, "statuses": statuses}


@scenario
def server_error() -> dict:
    before = len(sim_requests("/fal-ai/esrgan"))
    said = http_error(lambda: client.submit(ESRGAN, {"image_url": picture, "face": True,
                                                     "model": "RealESRGAN_x4plus",
                                                     "output_format": "png",
                                                     "tile": 0, "note": "sim:500"}))
    return {**said, "attempts": len(sim_requests("/fal-ai/esrgan")) - before}


@scenario
def moderated() -> dict:
    handle = client.submit(KLING, {"prompt": "sim:content-moderated", "image_url": picture})
    list(handle.iter_events(interval=0.05))
    return http_error(handle.get)


if __name__ == "__main__":
    outcomes = {}
    for name in sys.argv[1:] or SCENARIOS:
        try:
            outcomes[name] = SCENARIOS[name]()
        except Exception:  # report every scenario, so one failure does not hide the others
            outcomes[name] = {"crashed": traceback.format_exc()}
    print(json.dumps(outcomes))
