"""The fal queue (queue.fal.run) for the two apps Wireflow runs there:

    POST /<app id>                           Authorization: Key <key id UUID>:<32 hex secret>
      → {"request_id", "response_url", "status_url", "cancel_url", "queue_position"}
    GET  /<owner>/<alias>/requests/<id>/status[?logs=1]
      → 202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED (+ metrics, error, error_type); always "logs"
    GET  /<owner>/<alias>/requests/<id>          → the app's output, or 4xx {"detail"}
    PUT  /<owner>/<alias>/requests/<id>/cancel   → 202 / 400 ALREADY_COMPLETED / 404

Inputs are checked against each app's schema (422 with a pydantic detail list); fields outside
it are ignored, as fal's apps ignore them. These are the endpoints fal-client 1.0.3 calls
(submit, status, result, cancel; `subscribe` and `iter_events` poll the status endpoint).
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from executions.simulator import keys, media
from executions.simulator.state import SimJob, triggers

if TYPE_CHECKING:
    from executions.simulator.server import Handler

TRIGGERED = {"402": 403, "429": 429, "500": 500}  # fal locks an exhausted account with a 403
MESSAGES = {403: "User is locked. Reason: Exhausted balance. Top up your balance at "
                 "fal.ai/dashboard/billing.",
            405: "Method Not Allowed", 429: "Too many concurrent requests, retry later",
            500: "Internal server error", 502: "Bad gateway",
            503: "Service temporarily unavailable"}
ESRGAN_MODELS = ("RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B",
                 "RealESRGAN_x4_v3", "RealESRGAN_x4_wdn_v3", "RealESRGAN_x4_anime_v3")
KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"
# Per app: field → (kind, required, constraint, default); kinds: str, number, int, bool, enum.
APPS: dict[str, dict[str, tuple[str, bool, Any, Any]]] = {
    "fal-ai/esrgan": {
        "image_url": ("str", True, None, None), "scale": ("number", False, (1, 8), 2),
        "tile": ("int", False, (0, 10**6), 0), "face": ("bool", False, None, False),
        "model": ("enum", False, ESRGAN_MODELS, ESRGAN_MODELS[0]),
        "output_format": ("enum", False, ("png", "jpeg"), "png"),
    },
    KLING: {
        "prompt": ("str", True, 2500, None), "image_url": ("str", True, None, None),
        "duration": ("enum", False, ("5", "10"), "5"),
        "negative_prompt": ("str", False, 2500, "blur, distort, and low quality"),
        "cfg_scale": ("number", False, (0, 1), 0.5),
    },
}
ROOTS = {"/".join(app.split("/")[:2]) for app in APPS}  # where an app's requests live


def fail(h: Handler, status: int, message: str | None = None) -> None:
    headers = {"Retry-After": "1"} if status == 429 else {}
    h.reply(status, {"detail": message or MESSAGES.get(status, "Simulated failure")},
            headers=headers)


def authorise(h: Handler, query: dict[str, list[str]]) -> bool:
    scheme, _, key = (h.headers.get("Authorization") or "").partition(" ")
    if scheme == "Key" and keys.well_formed("fal", key.strip()):
        return True
    fail(h, 401, "Authentication is required to access this application." if not key else
         "Invalid authentication credentials: expected 'Key <key_id>:<key_secret>'.")
    return False


def route(h: Handler, method: str, path: str, query: dict[str, list[str]]) -> None:
    segments = [s for s in path.split("/") if s]
    if "requests" in segments:
        index = segments.index("requests")
        root = "/".join(segments[:index])
        if root not in ROOTS:
            return fail(h, 404, f"Application '{root}' not found")
        return request(h, method, root, segments[index + 1:], query)
    app = "/".join(segments)
    if app not in APPS or app in h.state.retired:
        return fail(h, 404, f"Application '{app}' not found")
    if method != "POST":
        return fail(h, 405)
    submit(h, app)


# --- validation, pydantic style ----------------------------------------------------------------
def check(app: str, body: Any) -> tuple[dict[str, Any], list[dict]]:
    """(the input with defaults filled in, problems)."""
    if not isinstance(body, dict):
        return {}, [{"loc": ["body"], "msg": "Input should be a valid dictionary",
                     "type": "dict_type"}]
    problems: list[dict] = []
    values: dict[str, Any] = {}
    for name, (kind, required, rule, default) in APPS[app].items():
        value = body.get(name)
        if value is None:
            if required:
                problems.append({"loc": ["body", name], "msg": "Field required",
                                 "type": "missing"})
            values[name] = default
            continue
        said = _problem(kind, rule, value)
        if said:
            problems.append({"loc": ["body", name], "msg": said[1], "type": said[0],
                             "input": value if not isinstance(value, str) else value[:100]})
        values[name] = value
    return values, problems


def _problem(kind: str, rule: Any, value: Any) -> tuple[str, str] | None:
    if kind == "str":
        if not isinstance(value, str):
            return "string_type", "Input should be a valid string"
        if not value.strip():
            return "string_too_short", "String should have at least 1 character"
        if rule and len(value) > rule:
            return "string_too_long", f"String should have at most {rule} characters"
    elif kind == "bool":
        if not isinstance(value, bool):
            return "bool_type", "Input should be a valid boolean"
    elif kind == "enum":
        if value not in rule:
            return "literal_error", "Input should be " + " or ".join(f"'{v}'" for v in rule)
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind == "int" and value != int(value)):
        return f"{'int' if kind == 'int' else 'float'}_type", (
            f"Input should be a valid {'integer' if kind == 'int' else 'number'}")
    elif value < rule[0]:
        return "greater_than_equal", f"Input should be greater than or equal to {rule[0]}"
    elif value > rule[1]:
        return "less_than_equal", f"Input should be less than or equal to {rule[1]}"
    return None


# --- the queue ---------------------------------------------------------------------------------
def urls(h: Handler, root: str, job_id: str) -> dict[str, str]:
    base = f"{h.base}/{root}/requests/{job_id}"
    return {"request_id": job_id, "response_url": base, "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel"}


def submit(h: Handler, app: str) -> None:
    values, problems = check(app, h.body)
    h.ignored = sorted(set(h.body or {}) - set(APPS[app])) if isinstance(h.body, dict) else []
    if problems:
        return h.reply(422, {"detail": problems})
    marks = triggers({k: v for k, v in h.body.items() if k != "image_url"})
    if h.refuse_submission("fal", marks):
        return
    job = h.state.submit("fal", marks, {"app": app, **values})
    h.extra_headers["x-fal-request-id"] = job.id
    h.reply(200, {**urls(h, "/".join(app.split("/")[:2]), job.id), "queue_position": 0})


def request(h: Handler, method: str, root: str, rest: list[str],
            query: dict[str, list[str]]) -> None:
    job = h.state.job(rest[0]) if rest else None
    app = job.request["app"] if job is not None and job.provider == "fal" else ""
    if not (app == root or app.startswith(root + "/")):
        return fail(h, 404, "Request not found")
    h.extra_headers["x-fal-request-id"] = job.id
    now, action = time.time(), rest[1:]
    if action == ["cancel"]:
        if method != "PUT":
            return fail(h, 405)
        if job.done(now) or job.cancelled:
            return h.reply(400, {"status": "ALREADY_COMPLETED"})
        job.cancelled = True
        job.ready_at = now
        h.state.settle(job)
        h.state.count("fal.cancel")
        return h.reply(202, {"status": "CANCELLATION_REQUESTED"})
    if method != "GET" or action not in ([], ["status"]):
        return fail(h, 405)
    if action == ["status"]:
        with_logs = (query.get("logs") or ["0"])[0].lower() in ("1", "true")
        return status(h, root, job, now, with_logs)
    result(h, job, now)


def status(h: Handler, root: str, job: SimJob, now: float, with_logs: bool) -> None:
    h.state.count("fal.poll")
    answer: dict[str, Any] = {**urls(h, root, job.id),
                              "logs": logs(job, now) if with_logs else None}
    if job.done(now):
        answer.update(status="COMPLETED",
                      metrics={"inference_time": round(job.ready_at - job.submitted, 3)})
        if job.cancelled:
            answer.update(error="Request was cancelled", error_type="request_cancelled")
        elif "error" in job.marks:
            answer.update(error="Simulated model error", error_type="runner_error")
        return h.reply(200, answer)
    if now - job.submitted < min(0.2, (job.ready_at - job.submitted) / 3):
        return h.reply(202, {**answer, "status": "IN_QUEUE", "queue_position": 0})
    h.reply(202, {**answer, "status": "IN_PROGRESS"})


def logs(job: SimJob, now: float) -> list[dict[str, str]]:
    """What the app printed so far: one line when it started, one when it finished."""
    def line(message: str, at: float) -> dict[str, str]:
        stamp = datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat()
        return {"message": message, "level": "INFO", "source": "user", "timestamp": stamp}

    lines = []
    started = job.submitted + min(0.2, (job.ready_at - job.submitted) / 3)
    if now >= started:
        lines.append(line(f"Running {job.request['app']}", started))
    if job.done(now) and not job.cancelled:
        lines.append(line("Finished", job.ready_at))
    return lines


def result(h: Handler, job: SimJob, now: float) -> None:
    if not job.done(now):
        return fail(h, 400, "Request is still in progress")
    h.state.settle(job)
    h.state.count("fal.result")
    if job.cancelled:
        return fail(h, 400, "Request was cancelled")
    if "error" in job.marks:
        return fail(h, 422, "Simulated model error")
    if job.marks & {"request-moderated", "content-moderated"}:
        return h.reply(422, {"detail": [{
            "loc": ["body", "prompt"], "type": "content_policy_violation",
            "msg": "The content could not be processed because it contained material "
                   "flagged by a content checker.",
            "url": "https://docs.fal.ai/errors#content_policy_violation"}]})
    request = job.request
    if job.file is None:
        if request["app"] == KLING:
            data = media.video(int(request["duration"]), "16:9")
            job.file = h.state.store_file(data, "video/mp4", "mp4")
            request["output"] = {"content_type": "video/mp4", "file_name": "output.mp4",
                                 "file_size": len(data)}
        else:
            try:
                data, mime, width, height = media.upscaled(
                    request["image_url"], float(request["scale"]), request["output_format"])
            except ValueError as exc:
                return h.reply(422, {"detail": [{"loc": ["body", "image_url"],
                                                 "msg": str(exc), "type": "value_error"}]})
            extension = "png" if mime == "image/png" else "jpg"
            job.file = h.state.store_file(data, mime, extension)
            request["output"] = {"content_type": mime, "file_name": f"output.{extension}",
                                 "file_size": len(data), "width": width, "height": height}
        request.pop("image_url", None)  # the input can be megabytes: keep it no longer
    output = {"url": f"{h.base}/delivery/{job.file}", **request["output"]}
    if request["app"] == KLING:
        return h.reply(200, {"video": output})
    h.reply(200, {"image": output})
