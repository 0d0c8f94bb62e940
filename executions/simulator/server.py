"""A provider simulator on loopback. It speaks the BFL, Gemini `generateContent` and fal queue
protocols closely enough that the real providers run against it unchanged (base URL and key are
all that differ), and it returns real images and videos.

Jobs finish `latency` seconds after they were submitted; no thread waits for them, so hundreds
can be in flight and polled cheaply. Result URLs point back at the simulator and expire after
10 minutes, like BFL's. Steering, from any string in a request (usually the prompt):

    sim:request-moderated  sim:content-moderated  sim:error   the job fails that way
    sim:402  sim:429  sim:500    the submission is answered with that status (429: Retry-After 1)
    sim:slow   the job takes 30 s          sim:hang   the HTTP answer itself waits 10 s

`fail_rate` answers that fraction of submissions with a 503.

Control endpoints: POST /__sim/script {"path_prefix", "responses": [429, 500]} (the next
matching requests answer those statuses), POST /__sim/reset, POST /__sim/config {"latency",
"fail_rate"}, GET /__sim/stats (submissions per provider, polls, max_active, …).
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from executions.simulator import media
from executions.simulator.state import SLOW_SECONDS, SimJob, State, triggers

HANG_SECONDS = 10.0
TRIGGER_STATUSES = (402, 429, 500)
MESSAGES = {401: "Not authenticated", 402: "Insufficient credits", 403: "Forbidden",
            429: "Too many active tasks, retry later", 500: "Internal server error",
            502: "Bad gateway", 503: "Service temporarily unavailable"}
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION",
                 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                 500: "INTERNAL", 503: "UNAVAILABLE"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients poll cheaply
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms ACK stalls
    timeout = 120  # drop idle keep-alive connections
    server: SimulatorHttpServer
    body: Any = None  # the request's JSON, read before routing so every answer drains it

    # --- plumbing ----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.server.state

    @property
    def base(self) -> str:
        """Our own absolute URL, as the client addressed us."""
        host = self.headers.get("Host")
        if not host:
            address, port = self.server.server_address[:2]
            host = f"{address}:{port}"
        return f"http://{host}"

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: Any = None, *, raw: bytes | None = None,
              mime: str = "application/json", headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def fail(self, vendor: str, status: int, message: str | None = None) -> None:
        """An error answer in the vendor's own format."""
        message = message or MESSAGES.get(status, "Simulated failure")
        headers = {"Retry-After": "1"} if status == 429 else {}
        if vendor == "google":
            error: dict[str, Any] = {"code": status, "message": message,
                                     "status": GOOGLE_STATUS.get(status, "UNKNOWN")}
            if status == 429:
                error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                     "retryDelay": "1s"}]
            return self.reply(status, {"error": error}, headers=headers)
        self.reply(status, {"detail": message}, headers=headers)

    def refuse_submission(self, vendor: str, marks: frozenset[str]) -> bool:
        """Answer a hang's late reply, a triggered or a random failure instead of accepting
        the job. A hang outlived by a reset answers 503, so it leaks into no later test."""
        if "hang" in marks:
            epoch = self.state.epoch
            time.sleep(HANG_SECONDS)
            if epoch != self.state.epoch:
                self.fail(vendor, 503, "The simulator was reset meanwhile")
                return True
        status = next((s for s in TRIGGER_STATUSES if str(s) in marks), None)
        if status is None and self.state.random_failure():
            status = 503
        if status is None:
            return False
        self.state.count(f"{vendor}.rejected")
        self.fail(vendor, status)
        return True

    # --- routing -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.route(self.command)

    do_POST = do_PUT = do_GET

    def route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        self.body = self.read_json() if method in ("POST", "PUT") else None
        if path.startswith("/__sim/"):
            return self.control(method, path)
        self.state.count("requests")
        if path.startswith("/delivery/"):
            return self.delivery(path.rsplit("/", 1)[1])
        vendor = "bfl" if path.startswith("/v1/") else (
            "google" if path.startswith("/v1beta/") else "fal")
        if not self.authorised(vendor):
            return self.fail(vendor, 401 if vendor == "fal" else 403, "Missing or invalid key")
        scripted = self.state.scripted(path)
        if scripted is not None:
            self.state.count(f"{vendor}.rejected")
            return self.fail(vendor, scripted, f"Scripted {scripted}")
        try:
            if vendor == "bfl":
                return self.bfl(method, path, parse_qs(parts.query))
            if vendor == "google":
                return self.google(method, path)
            return self.fal(method, path)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            return self.fail(vendor, 400, f"Malformed request: {exc!r}")

    def authorised(self, vendor: str) -> bool:
        if vendor == "bfl":
            return bool(self.headers.get("x-key"))
        if vendor == "google":
            return bool(self.headers.get("x-goog-api-key"))
        key = self.headers.get("Authorization") or ""
        return key.startswith("Key ") and len(key) > 4

    def control(self, method: str, path: str) -> None:
        body = self.body if isinstance(self.body, dict) else {}
        try:
            if method == "POST" and path == "/__sim/script":
                statuses = [int(status) for status in body.get("responses") or []]
                self.state.script(str(body.get("path_prefix") or "/"), statuses)
                return self.reply(200, {"queued": len(statuses)})
            if method == "POST" and path == "/__sim/config":
                latency = float(body.get("latency", self.state.latency))
                fail_rate = float(body.get("fail_rate", self.state.fail_rate))
                with self.state.lock:
                    self.state.latency, self.state.fail_rate = latency, fail_rate
                return self.reply(200, {"ok": True})
        except (TypeError, ValueError) as exc:
            return self.reply(400, {"detail": f"Malformed control request: {exc}"})
        if method == "POST" and path == "/__sim/reset":
            self.state.reset()
            return self.reply(200, {"ok": True})
        if method == "GET" and path == "/__sim/stats":
            return self.reply(200, self.state.snapshot())
        self.reply(404, {"detail": "Unknown control endpoint"})

    def delivery(self, token: str) -> None:
        self.state.count("delivery")
        item = self.state.file(token)
        if item is None:
            return self.reply(404, {"detail": "Expired or unknown delivery URL"})
        self.reply(200, raw=item[0], mime=item[1])

    # --- Black Forest Labs -----------------------------------------------------------------------
    def bfl(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if method == "GET" and path == "/v1/get_result":
            return self.bfl_result(query.get("id", [""])[0])
        if method != "POST":
            return self.fail("bfl", 405, "Method Not Allowed")
        body = self.body
        if not isinstance(body, dict) or not body.get("prompt"):
            return self.reply(422, {"detail": [{"loc": ["body", "prompt"],
                                                "msg": "Field required", "type": "missing"}]})
        marks = triggers(body)
        if self.refuse_submission("bfl", marks):
            return
        width, height = int(body.get("width") or 1024), int(body.get("height") or 1024)
        if not (64 <= width <= 4096 and 64 <= height <= 4096):
            return self.reply(422, {"detail": [{"loc": ["body", "width"], "type": "value_error",
                                                "msg": "width and height must be 64..4096"}]})
        request = {"prompt": body["prompt"], "width": width, "height": height,
                   "seed": int(body.get("seed") or 0),
                   "format": body.get("output_format") or "jpeg"}
        megapixels = request["width"] * request["height"] / 1e6
        request["cost"] = round(3 + 1.5 * max(0.0, megapixels - 1), 2)  # FLUX.2 [pro] pricing
        job = self.state.submit("bfl", marks, request)
        self.reply(200, {"id": job.id, "polling_url": f"{self.base}/v1/get_result?id={job.id}",
                         "cost": request["cost"], "input_mp": 0,
                         "output_mp": round(megapixels, 2)})

    def bfl_result(self, job_id: str) -> None:
        self.state.count("bfl.poll")
        job = self.state.job(job_id)
        if job is None:
            return self.reply(200, {"id": job_id, "status": "Task not found"})
        now = time.time()
        if not job.done(now):
            return self.reply(200, {"id": job.id, "status": "Pending", "result": None,
                                    "progress": job.progress(now)})
        self.state.settle(job)
        if "request-moderated" in job.marks or "content-moderated" in job.marks:
            status = ("Request Moderated" if "request-moderated" in job.marks
                      else "Content Moderated")
            return self.reply(200, {"id": job.id, "status": status, "result": None,
                                    "details": {"Moderation Reasons": ["Simulated"]}})
        if "error" in job.marks:
            return self.reply(200, {"id": job.id, "status": "Error", "result": None,
                                    "details": {"error": "Simulated generation failure"}})
        request = job.request
        if job.file is None:
            image = media.picture(request["prompt"], request["width"], request["height"],
                                  seed=request["seed"])
            data, mime = media.encode(image, request["format"])
            job.file = self.state.store_file(data, mime, "png" if mime == "image/png" else "jpg")
        self.reply(200, {"id": job.id, "status": "Ready", "progress": None,
                         "cost": request["cost"],
                         "result": {"sample": f"{self.base}/delivery/{job.file}",
                                    "prompt": request["prompt"], "seed": request["seed"]}})

    # --- Google Gemini ---------------------------------------------------------------------------
    def google(self, method: str, path: str) -> None:
        if method != "POST" or not path.endswith(":generateContent"):
            return self.fail("google", 404, f"{path} is not found for API version v1beta")
        body = self.body
        if not isinstance(body, dict) or not body.get("contents"):
            return self.fail("google", 400, "* GenerateContentRequest.contents: contents is "
                                            "not specified")
        marks = triggers(body)
        if self.refuse_submission("google", marks):
            return
        self.state.count("google.submit")
        # generateContent answers when the image exists: this wait *is* the job.
        time.sleep(SLOW_SECONDS if "slow" in marks else self.state.latency)
        if "request-moderated" in marks:
            return self.reply(200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})
        if "content-moderated" in marks or "error" in marks:
            reason = "IMAGE_SAFETY" if "content-moderated" in marks else "OTHER"
            return self.reply(200, {"candidates": [{
                "content": {"role": "model", "parts": [{"text": "I can't make that image."}]},
                "finishReason": reason, "finishMessage": f"Simulated {reason}"}]})
        parts = body["contents"][-1].get("parts") or []
        prompt = " ".join(part["text"] for part in parts if part.get("text"))
        config = body.get("generationConfig") or {}
        ratio = (config.get("imageConfig") or {}).get("aspectRatio") or "1:1"
        width, height = media.GEMINI_SIZES.get(ratio, media.GEMINI_SIZES["1:1"])
        data, mime = media.encode(media.picture(prompt, width, height,
                                                seed=int(config.get("seed") or 0)), "png")
        self.reply(200, {"candidates": [{"content": {"role": "model", "parts": [
            {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}]},
            "finishReason": "STOP", "index": 0}],
            "modelVersion": path.rsplit("/", 1)[1].split(":")[0]})

    # --- fal queue -------------------------------------------------------------------------------
    def fal(self, method: str, path: str) -> None:
        segments = [s for s in path.split("/") if s]
        if "requests" in segments:
            index = segments.index("requests")
            return self.fal_request(method, "/".join(segments[:index]),
                                    segments[index + 1:])
        if method != "POST" or len(segments) < 2:
            return self.fail("fal", 404, "Application not found")
        body = self.body
        if not isinstance(body, dict) or not body.get("image_url"):
            return self.reply(422, {"detail": [{"loc": ["body", "image_url"],
                                                "msg": "field required", "type": "missing"}]})
        marks = triggers({k: v for k, v in body.items() if k != "image_url"})
        if self.refuse_submission("fal", marks):
            return
        job = self.state.submit("fal", marks, {"model": "/".join(segments), **body})
        root = f"{self.base}/{'/'.join(segments[:2])}/requests/{job.id}"
        self.reply(200, {"request_id": job.id, "status_url": f"{root}/status",
                         "response_url": root, "cancel_url": f"{root}/cancel",
                         "queue_position": 0})

    def fal_request(self, method: str, app: str, rest: list[str]) -> None:
        job = self.state.job(rest[0]) if rest else None
        if job is None:
            return self.fail("fal", 404, "Request not found")
        now, action = time.time(), rest[1:]
        if method == "PUT" and action == ["cancel"]:
            if job.done(now) or job.cancelled:
                return self.reply(400, {"status": "ALREADY_COMPLETED"})
            job.cancelled = True
            self.state.settle(job)
            self.state.count("fal.cancel")
            return self.reply(202, {"status": "CANCELLATION_REQUESTED"})
        if method != "GET" or action not in ([], ["status"]):
            return self.fail("fal", 405, "Method Not Allowed")
        root = f"{self.base}/{app}/requests/{job.id}"
        if action == ["status"]:
            self.state.count("fal.poll")
            if job.cancelled or job.done(now):
                status: dict[str, Any] = {"status": "COMPLETED", "request_id": job.id,
                                          "response_url": root}
                if job.cancelled or "error" in job.marks:
                    status.update(error="Request was cancelled" if job.cancelled
                                  else "Simulated model error", error_type="runner_error")
                return self.reply(200, status)
            if now - job.submitted < 0.2:
                return self.reply(202, {"status": "IN_QUEUE", "queue_position": 0,
                                        "request_id": job.id, "response_url": root})
            return self.reply(202, {"status": "IN_PROGRESS", "request_id": job.id,
                                    "response_url": root})
        self.fal_response(job, now)

    def fal_response(self, job: SimJob, now: float) -> None:
        if not (job.done(now) or job.cancelled):
            return self.fail("fal", 400, "Request is still in progress")
        self.state.settle(job)
        self.state.count("fal.result")
        if job.cancelled:
            return self.fail("fal", 400, "Request was cancelled")
        if "error" in job.marks:
            return self.fail("fal", 422, "Simulated model error")
        if job.marks & {"request-moderated", "content-moderated"}:
            return self.reply(422, {"detail": [{
                "loc": ["body", "prompt"], "type": "content_policy_violation",
                "msg": "The content could not be processed because it contained material "
                       "flagged by a content checker."}]})
        request = job.request
        if job.file is None:
            if "video" in request["model"]:
                data = media.video(int(request.get("duration") or 5),
                                   str(request.get("aspect_ratio") or "16:9"))
                job.file = self.state.store_file(data, "video/mp4", "mp4")
            else:
                try:
                    data = media.upscaled_png(request["image_url"],
                                              int(request.get("scale") or 2))
                except ValueError as exc:
                    return self.reply(422, {"detail": [{"loc": ["body", "image_url"],
                                                        "msg": str(exc), "type": "value_error"}]})
                job.file = self.state.store_file(data, "image/png", "png")
            request.pop("image_url", None)  # the input can be megabytes: keep it no longer
        url = f"{self.base}/delivery/{job.file}"
        if job.file.endswith(".mp4"):
            return self.reply(200, {"video": {"url": url, "content_type": "video/mp4",
                                              "file_name": "output.mp4"}})
        self.reply(200, {"image": {"url": url, "content_type": "image/png",
                                   "file_name": "output.png"}})


class SimulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], state: State) -> None:
        self.state = state
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (e.g. after its own timeout) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


class SimulatorServer:
    """The simulator in a background thread: `with SimulatorServer() as sim: sim.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 1.0,
                 fail_rate: float = 0.0) -> None:
        self.state = State(latency=latency, fail_rate=fail_rate)
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
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join()
            self.thread = None
        self.httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
