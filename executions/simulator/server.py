"""A provider simulator on loopback: speaks the BFL, Gemini generateContent and fal queue
protocols closely enough that the real provider code runs against it unchanged, and returns
real images and videos.

Jobs finish `latency` seconds after they were submitted (no thread waits for them), so a few
hundred can be in flight at once. Behaviour is steered from the prompt (or any string input):

    sim:request-moderated  sim:content-moderated  sim:error   (BFL statuses at poll)
    sim:402  sim:429  sim:500                                  (answer to the submission)
    sim:slow  (the job takes 30 s)    sim:hang  (the HTTP answer itself waits 10 s)

and from control endpoints: POST /__sim/script {"path_prefix", "responses": [429, 500]} makes
the next matching requests answer those statuses; POST /__sim/reset; GET /__sim/stats.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from executions import imaging

DELIVERY_LIFETIME = 600  # BFL's signed result URLs expire after 10 minutes
SLOW_SECONDS = 30
HANG_SECONDS = 10


class State:
    def __init__(self, latency: float, fail_rate: float) -> None:
        self.latency = latency
        self.fail_rate = fail_rate
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[bytes, str, float]] = {}
        self.scripts: list[tuple[str, int]] = []
        self.stats: dict[str, int] = {}
        self.video: bytes | None = None
        self.rng = random.Random(7)
        self.active: set[str] = set()  # submitted, result not yet collected

    def activate(self, job_id: str) -> None:
        with self.lock:
            self.active.add(job_id)
            self.stats["max_active"] = max(self.stats.get("max_active", 0), len(self.active))

    def settle(self, job_id: str) -> None:
        with self.lock:
            self.active.discard(job_id)

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + 1

    def scripted(self, path: str) -> int | None:
        with self.lock:
            for index, (prefix, status) in enumerate(self.scripts):
                if path.startswith(prefix):
                    del self.scripts[index]
                    return status
        return None

    def store_file(self, data: bytes, mime: str, ext: str) -> str:
        token = f"{uuid.uuid4().hex}.{ext}"
        with self.lock:
            self.files[token] = (data, mime, time.time() + DELIVERY_LIFETIME)
        return token

    def kling_video(self) -> bytes:
        with self.lock:
            if self.video is None:
                still = picture("simulated video", 320, 180, seed=5)
                self.video = imaging.pan_zoom_video(still, duration=5, fps=12, zoom=1.3,
                                                    direction="in")
            return self.video


def picture(prompt: str, width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A real, decodable image for a prompt, marked SIMULATED."""
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    image = Image.new("RGB", (width, height), tuple(digest[:3]))
    draw = ImageDraw.Draw(image)
    for i in range(0, 12, 3):
        x, y = digest[i + 3] / 255 * width, digest[i + 4] / 255 * height
        r = (digest[i + 5] / 255 * 0.3 + 0.05) * min(width, height)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(digest[i + 6:i + 9]))
    size = max(10, min(width, height) // 14)
    draw.text((size, size), "SIMULATED", font=imaging.font(size), fill=(255, 255, 255))
    draw.text((size, height - 2 * size), prompt[:60], font=imaging.font(size * 0.7),
              fill=(255, 255, 255))
    return image


def encode(image: Image.Image, fmt: str) -> tuple[bytes, str, str]:
    output = imaging.encode_image(image, fmt="png" if fmt == "png" else "jpeg")
    return output.data, output.mime, output.extension


def triggers(body: Any) -> set[str]:
    text = json.dumps(body) if not isinstance(body, str) else body
    return {word for word in ("request-moderated", "content-moderated", "error", "402", "429",
                              "500", "slow", "hang") if f"sim:{word}" in text}


def decode_data_uri(value: str) -> Image.Image:
    data = value.split(",", 1)[1] if value.startswith("data:") else value
    return imaging.decode(base64.b64decode(data))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimulatorHttpServer

    # --- plumbing -------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.server.state

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, body: Any = None, *, raw: bytes | None = None,
              mime: str = "application/json", headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def failure(self, path: str, marks: set[str]) -> bool:
        """Answer a scripted, triggered or random failure instead of the real thing."""
        status = self.state.scripted(path)
        if status is None:
            status = next((int(m) for m in ("402", "429", "500") if m in marks), None)
        if status is None and self.state.fail_rate and \
                self.state.rng.random() < self.state.fail_rate:
            status = 503
        if status is None:
            return False
        headers = {"Retry-After": "1"} if status == 429 else {}
        messages = {402: "Insufficient credits", 429: "Too many active tasks",
                    500: "Internal server error", 503: "Service temporarily unavailable"}
        self.reply(status, {"detail": messages.get(status, "Simulated failure")},
                   headers=headers)
        return True

    def new_job(self, provider: str, marks: set[str], **fields: Any) -> str:
        job_id = uuid.uuid4().hex
        delay = SLOW_SECONDS if "slow" in marks else self.state.latency
        with self.state.lock:
            self.state.jobs[job_id] = {"provider": provider, "ready_at": time.time() + delay,
                                       "submitted": time.time(), "marks": marks,
                                       "cancelled": False, **fields}
        self.state.count(f"{provider}.submit")
        self.state.activate(job_id)
        return job_id

    # --- routing ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PUT(self) -> None:
        self.route("PUT")

    def route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/__sim/"):
            return self.control(method, path)
        if method == "GET" and path.startswith("/delivery/"):
            return self.delivery(path.rsplit("/", 1)[1])
        if path.startswith("/v1/"):
            return self.bfl(method, path, parse_qs(parts.query))
        if path.startswith("/v1beta/models/"):
            return self.google(method, path)
        return self.fal(method, path)

    def control(self, method: str, path: str) -> None:
        if path == "/__sim/script" and method == "POST":
            body = self.body() or {}
            with self.state.lock:
                self.state.scripts += [(body.get("path_prefix", "/"), int(s))
                                       for s in body.get("responses", [])]
            return self.reply(200, {"queued": len(body.get("responses", []))})
        if path == "/__sim/reset" and method == "POST":
            with self.state.lock:
                self.state.jobs.clear()
                self.state.scripts.clear()
                self.state.stats.clear()
                self.state.active.clear()
            return self.reply(200, {"ok": True})
        if path == "/__sim/stats":
            with self.state.lock:
                return self.reply(200, {"stats": dict(self.state.stats),
                                        "jobs": len(self.state.jobs)})
        return self.reply(404, {"detail": "Not found"})

    def delivery(self, token: str) -> None:
        with self.state.lock:
            item = self.state.files.get(token)
        if item is None or item[2] < time.time():
            return self.reply(404, {"detail": "Expired or unknown"})
        self.reply(200, raw=item[0], mime=item[1])

    # --- Black Forest Labs --------------------------------------------------------------------
    def bfl(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if not self.headers.get("x-key"):
            return self.reply(403, {"detail": "Not authenticated - Invalid Authentication"})
        if method == "GET" and path == "/v1/get_result":
            return self.bfl_result(query.get("id", [""])[0])
        if method != "POST":
            return self.reply(405, {"detail": "Method Not Allowed"})
        body = self.body()
        if not isinstance(body, dict) or not body.get("prompt"):
            return self.reply(422, {"detail": [{"loc": ["body", "prompt"],
                                                "msg": "Field required"}]})
        marks = triggers(body)
        if "hang" in marks:
            time.sleep(HANG_SECONDS)
        if self.failure(path, marks):
            return
        job_id = self.new_job("bfl", marks, width=int(body.get("width", 1024)),
                              height=int(body.get("height", 1024)), prompt=body["prompt"],
                              fmt=body.get("output_format", "jpeg"), seed=body.get("seed") or 0)
        self.reply(200, {"id": job_id, "polling_url": f"{self.base}/v1/get_result?id={job_id}",
                         "cost": 3.0})

    def bfl_result(self, job_id: str) -> None:
        self.state.count("bfl.poll")
        with self.state.lock:
            job = self.state.jobs.get(job_id)
        if job is None:
            return self.reply(200, {"id": job_id, "status": "Task not found"})
        if time.time() < job["ready_at"]:
            done = (time.time() - job["submitted"]) / max(0.001, job["ready_at"] - job["submitted"])
            return self.reply(200, {"id": job_id, "status": "Pending",
                                    "progress": round(min(0.99, done), 2)})
        marks = job["marks"]
        self.state.settle(job_id)
        for mark, status in (("request-moderated", "Request Moderated"),
                             ("content-moderated", "Content Moderated"), ("error", "Error")):
            if mark in marks:
                details = {"Moderation Reasons": ["Simulated"]} if mark != "error" else {}
                return self.reply(200, {"id": job_id, "status": status, "details": details})
        if "file" not in job:
            data, mime, ext = encode(picture(job["prompt"], job["width"], job["height"],
                                             seed=job["seed"]), job["fmt"])
            job["file"] = self.state.store_file(data, mime, ext)
        self.reply(200, {"id": job_id, "status": "Ready",
                         "result": {"sample": f"{self.base}/delivery/{job['file']}",
                                    "prompt": job["prompt"], "seed": job["seed"]}})

    # --- Google Gemini ----------------------------------------------------------------------
    def google(self, method: str, path: str) -> None:
        if not self.headers.get("x-goog-api-key"):
            return self.reply(403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                              "message": "Method doesn't allow unregistered "
                                                         "callers"}})
        body = self.body() or {}
        marks = triggers(body)
        status = self.state.scripted(path) or next(
            (int(m) for m in ("429", "500") if m in marks), None)
        if status:
            names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
            return self.reply(status, {"error": {"code": status, "status": names.get(
                status, "UNAVAILABLE"), "message": "Simulated failure"}},
                headers={"Retry-After": "1"} if status == 429 else {})
        self.state.count("google.submit")
        time.sleep(min(self.state.latency, 5))  # generateContent answers when the image is done
        if "request-moderated" in marks or "content-moderated" in marks:
            return self.reply(200, {"promptFeedback": {"blockReason": "SAFETY"}})
        parts = (body.get("contents") or [{}])[0].get("parts") or [{}]
        prompt = next((p.get("text", "") for p in parts if "text" in p), "")
        ratio = ((body.get("generationConfig") or {}).get("imageConfig") or {}).get(
            "aspectRatio", "1:1")
        w, h = (int(x) for x in ratio.split(":")) if ":" in ratio else (1, 1)
        width, height = (1024, round(1024 * h / w)) if w >= h else (round(1024 * w / h), 1024)
        data, mime, _ = encode(picture(prompt, width, height), "png")
        self.reply(200, {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Here is your image."},
            {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}]},
            "finishReason": "STOP"}]})

    # --- fal queue ----------------------------------------------------------------------------
    def fal(self, method: str, path: str) -> None:
        if not (self.headers.get("Authorization") or "").startswith("Key "):
            return self.reply(401, {"detail": "Missing or invalid Authorization header"})
        segments = [s for s in path.split("/") if s]
        if "requests" in segments:
            index = segments.index("requests")
            app, rest = "/".join(segments[:index]), segments[index + 1:]
            return self.fal_request(method, app, rest)
        if method != "POST" or len(segments) < 2:
            return self.reply(404, {"detail": "Application not found"})
        body = self.body()
        if not isinstance(body, dict) or not body.get("image_url"):
            return self.reply(422, {"detail": [{"loc": ["body", "image_url"],
                                                "msg": "field required"}]})
        marks = triggers({k: v for k, v in body.items() if k != "image_url"})
        if self.failure(path, marks):
            return
        app = "/".join(segments[:2])
        model = "/".join(segments)
        job_id = self.new_job("fal", marks, model=model, input=body)
        root = f"{self.base}/{app}/requests/{job_id}"
        self.reply(200, {"request_id": job_id, "status_url": f"{root}/status",
                         "response_url": root, "cancel_url": f"{root}/cancel",
                         "queue_position": 0})

    def fal_request(self, method: str, app: str, rest: list[str]) -> None:
        job_id = rest[0] if rest else ""
        with self.state.lock:
            job = self.state.jobs.get(job_id)
        if job is None:
            return self.reply(404, {"detail": "Request not found"})
        done = time.time() >= job["ready_at"]
        if rest[1:] == ["cancel"] and method == "PUT":
            if done:
                return self.reply(400, {"status": "ALREADY_COMPLETED"})
            job["cancelled"] = True
            self.state.settle(job_id)
            self.state.count("fal.cancel")
            return self.reply(202, {"status": "CANCELLATION_REQUESTED"})
        if rest[1:] == ["status"]:
            self.state.count("fal.poll")
            status = "COMPLETED" if done else ("IN_PROGRESS" if time.time() - job["submitted"]
                                               > 0.2 else "IN_QUEUE")
            return self.reply(200 if done else 202, {"status": status, "request_id": job_id,
                                                     "response_url": f"{self.base}/{app}/"
                                                                     f"requests/{job_id}"})
        if not done:
            return self.reply(400, {"detail": "Request is still in progress"})
        self.state.settle(job_id)
        if "error" in job["marks"]:
            return self.reply(422, {"detail": "Simulated model error"})
        return self.reply(200, self.fal_output(job))

    def fal_output(self, job: dict[str, Any]) -> dict[str, Any]:
        if "file" not in job:
            if "video" in job["model"]:
                data, mime, ext = self.state.kling_video(), "video/mp4", "mp4"
            else:
                source = decode_data_uri(job["input"]["image_url"])
                scaled = imaging.upscale(source, scale=int(job["input"].get("scale", 2)))
                buffer = io.BytesIO()
                scaled.save(buffer, "PNG")
                data, mime, ext = buffer.getvalue(), "image/png", "png"
            job["file"] = self.state.store_file(data, mime, ext)
            job["mime"] = mime
        url = f"{self.base}/delivery/{job['file']}"
        if job["mime"] == "video/mp4":
            return {"video": {"url": url, "content_type": "video/mp4"}}
        return {"image": {"url": url, "content_type": "image/png"}}


class SimulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address, state: State) -> None:
        self.state = state
        super().__init__(address, Handler)


class SimulatorServer:
    """Run the simulator in a background thread: `with SimulatorServer() as sim: sim.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 1.0,
                 fail_rate: float = 0.0) -> None:
        self.state = State(latency, fail_rate)
        self.httpd = SimulatorHttpServer((host, port), self.state)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name="provider-simulator")
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
