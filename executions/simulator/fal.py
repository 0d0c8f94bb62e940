"""The fal queue (queue.fal.run) for every fal model the library declares
(graph/catalog/models_*.py):

    POST /<app id>                           Authorization: Key <key id UUID>:<32 hex secret>
      → {"request_id", "response_url", "status_url", "cancel_url", "queue_position"}
    GET  /<owner>/<alias>/requests/<id>/status[?logs=1]
      → 202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED (+ metrics, error, error_type); always "logs"
    GET  /<owner>/<alias>/requests/<id>          → the app's output, or 4xx {"detail"}
    PUT  /<owner>/<alias>/requests/<id>/cancel   → 202 / 400 ALREADY_COMPLETED / 404

Inputs are checked against each app's declared schema (its `Field`s, hidden ones included):
422 with a pydantic detail list for a missing required field, a wrong type, a value out of
range or not among the options, a string or list too long, media that is not a readable data
URI. A field outside the schema is ignored, as fal's apps ignore it, and listed as `ignored` in
the request log (tests hold our provider to sending none). Answers carry real media of the
declared shape: images of the requested size (an upscale is the client's own image enlarged),
MP4 video, MP3 audio. These are the endpoints
fal-client 1.0.3 calls (submit, status, result, cancel; `subscribe` and `iter_events` poll the
status endpoint).
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from executions.simulator import keys, media
from executions.simulator.state import SimJob, triggers
from graph.catalog.library import FAL_IMAGE_SIZES, MEDIA_KINDS, Field, Model, image_size
from graph.catalog.registry import MODELS, catalog

if TYPE_CHECKING:
    from executions.simulator.server import Handler

TRIGGERED = {"402": 403, "429": 429, "500": 500}  # fal locks an exhausted account with a 403
MESSAGES = {403: "User is locked. Reason: Exhausted balance. Top up your balance at "
                 "fal.ai/dashboard/billing.",
            405: "Method Not Allowed", 429: "Too many concurrent requests, retry later",
            500: "Internal server error", 502: "Bad gateway",
            503: "Service temporarily unavailable"}
APPS: dict[str, Model] = {model.endpoint: model for model in MODELS
                          if model.provider == "fal"}
# Models another node type runs on fal by its vendor setting (FLUX.2 [pro]), and the edit
# apps a declaration sends requests with images to (fal-ai/flux-2-pro/edit).
APPS.update({route.declaration.endpoint: route.declaration for spec in catalog.all()
             for route in spec.routes if route.provider == "fal" and route.declaration})
APPS.update({model.edit.endpoint: model.edit for model in list(APPS.values()) if model.edit})
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
    """(the input with defaults filled in, problems), against the app's declared fields."""
    if not isinstance(body, dict):
        return {}, [{"loc": ["body"], "msg": "Input should be a valid dictionary",
                     "type": "dict_type"}]
    model = APPS[app]
    problems: list[dict] = []
    values: dict[str, Any] = {}
    for item in model.fields:
        value = body.get(item.name)
        if value is None:
            if item.required:
                problems.append({"loc": ["body", item.name], "msg": "Field required",
                                 "type": "missing"})
            values[item.name] = item.default
            continue
        said = _problem(item, value)
        if said:
            problems.append({"loc": ["body", item.name], "msg": said[1], "type": said[0],
                             "input": _shown(value)})
        values[item.name] = value
    return values, problems


def _shown(value: Any) -> Any:
    if isinstance(value, str):
        return value[:100]
    if isinstance(value, list):
        return f"<a list of {len(value)}>"
    return value


def _problem(item: Field, value: Any) -> tuple[str, str] | None:
    kind = item.kind
    if kind in ("string", "prompt"):
        if not isinstance(value, str):
            return "string_type", "Input should be a valid string"
        if kind == "prompt" and item.required and not value.strip():
            return "string_too_short", "String should have at least 1 character"
        if item.max_length and len(value) > item.max_length:
            return "string_too_long", f"String should have at most {item.max_length} characters"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else ("bool_type",
                                                     "Input should be a valid boolean")
    if kind == "enum":
        if any(type(value) is type(o) and value == o for o in item.options):
            return None
        return "literal_error", "Input should be " + " or ".join(
            repr(o) if not isinstance(o, str) else f"'{o}'" for o in item.options)
    if kind in MEDIA_KINDS:
        return _media_problem(kind, value, item.max_items) or _format_problem(item, value)
    if kind == "size":  # a named size, or {"width", "height"} in whole pixels
        if isinstance(value, str):  # fal's presets, and the app's own names ("auto")
            names = (*FAL_IMAGE_SIZES, *item.options)
            return None if value in names else (
                "literal_error", "Input should be " + " or ".join(f"'{n}'" for n in names))
        sides = [value.get(side) for side in ("width", "height")] \
            if isinstance(value, dict) else []
        if len(sides) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                      for v in sides):
            return "model_attributes_type", ("Input should be a valid ImageSize: a whole "
                                             "width and height")
        if item.min is not None and min(sides) < item.min:
            return "greater_than_equal", f"Each side should be at least {item.min:g}"
        if item.max is not None and max(sides) > item.max:
            return "less_than_equal", f"Each side should be at most {item.max:g}"
        return None
    integer = kind in ("integer", "seed")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            integer and value != int(value)):
        return f"{'int' if integer else 'float'}_type", (
            f"Input should be a valid {'integer' if integer else 'number'}")
    if item.min is not None and value < item.min:
        return "greater_than_equal", f"Input should be greater than or equal to {item.min:g}"
    if item.max is not None and value > item.max:
        return "less_than_equal", f"Input should be less than or equal to {item.max:g}"
    return None


def _media_problem(kind: str, value: Any, max_items: int | None) -> tuple[str, str] | None:
    values = value if kind == "images" else [value]
    if kind == "images":
        if not isinstance(value, list):
            return "list_type", "Input should be a valid list"
        if not value:
            return "too_short", "List should have at least 1 item after validation"
        if max_items and len(value) > max_items:
            return "too_long", f"List should have at most {max_items} items after validation"
    for one in values:
        if not isinstance(one, str):
            return "string_type", "Input should be a valid string"
        try:
            if MEDIA_KINDS[kind] == "image":
                media.decode_data_uri(one)
            else:
                media.data_uri_bytes(one)
        except ValueError as exc:
            return "value_error", f"Value error, {exc}"
    return None


def _format_problem(item: Field, value: Any) -> tuple[str, str] | None:
    """An image of a type the app does not take (Recraft's crisp upscale: PNG only), by the
    data URI's type and the file's own signature."""
    if not item.formats:
        return None
    signatures = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff",
                  "image/webp": b"RIFF"}
    for one in value if isinstance(value, list) else [value]:
        mime = one[5:].split(";", 1)[0]
        data = media.data_uri_bytes(one)
        if mime not in item.formats or not any(data.startswith(signatures[f])
                                                for f in item.formats if f in signatures):
            return "value_error", (f"Value error, the image must be "
                                   f"{' or '.join(f.split('/')[1].upper() for f in item.formats)}")
    return None


# --- the queue ---------------------------------------------------------------------------------
def urls(h: Handler, root: str, job_id: str) -> dict[str, str]:
    base = f"{h.base}/{root}/requests/{job_id}"
    return {"request_id": job_id, "response_url": base, "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel"}


def submit(h: Handler, app: str) -> None:
    values, problems = check(app, h.body)
    known = {item.name for item in APPS[app].fields}
    h.ignored = sorted(set(h.body) - known) if isinstance(h.body, dict) else []
    if problems:
        return h.reply(422, {"detail": problems})
    media_fields = {f.name for f in APPS[app].fields if f.kind in MEDIA_KINDS}
    marks = triggers({k: v for k, v in h.body.items() if k not in media_fields})
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
    model = APPS[job.request["app"]]
    if job.file is None:
        try:
            outputs = _outputs(h, model, job.request)
        except ValueError as exc:
            return h.reply(422, {"detail": [{"loc": ["body", model.size.field if model.size
                                                     else "body"],
                                             "msg": str(exc), "type": "value_error"}]})
        for item in model.fields:  # inputs can be megabytes: keep them no longer
            if item.kind in MEDIA_KINDS:
                job.request.pop(item.name, None)
        job.request["outputs"] = outputs
        job.file = outputs[0]["url"].rsplit("/", 1)[-1]
    outputs = [{**o, "url": f"{h.base}/delivery/{o['url'].rsplit('/', 1)[-1]}"}
               for o in job.request["outputs"]]
    answer = model.answer
    h.reply(200, {answer.key: outputs if answer.many else outputs[0],
                  **({"seed": job.request.get("seed")} if "seed" in job.request else {})})


def _outputs(h: Handler, model: Model, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Make and store the files the model answers with: file objects as fal sends them."""
    kind = model.answer.type
    if kind == "image":
        made = _images(model, request, h.state.oversize)
    elif kind == "video":
        seconds = _seconds(model, request)
        data = media.video(round(seconds), _aspect(request))
        if model.task == "audio":  # video to audio: the same video, with a soundtrack
            data = media.with_soundtrack(data, seconds)
        made = [(data, "video/mp4", "mp4", {})]
    else:
        seconds = _seconds(model, request)
        style = "speech" if model.price.unit == "kchars" else \
            "effects" if "effect" in model.node_type else "music"
        made = [(media.audio(seconds, style), "audio/mpeg", "mp3", {})]
    outputs = []
    for data, mime, extension, extra in made:
        token = h.state.store_file(data, mime, extension)
        outputs.append({"url": f"/delivery/{token}", "content_type": mime,
                        "file_name": f"output.{extension}", "file_size": len(data), **extra})
    return outputs


def _images(model: Model, request: dict[str, Any],
            oversize: float = 1.0) -> list[tuple[bytes, str, str, dict]]:
    fmt = request.get("output_format") if isinstance(request.get("output_format"), str) \
        else "png"
    count = request.get("num_images") if isinstance(request.get("num_images"), int) else 1
    source = request.get(model.size.field) if model.size and model.size.rule == "input" \
        else None
    if isinstance(source, list):
        source = source[0]
    base = media.decode_data_uri(source) if isinstance(source, str) else None
    size = image_size(model, request, base.size if base is not None else None) or \
        _first_input_size(model, request) or (1024, 1024)
    if oversize != 1:  # a vendor delivering a larger image than asked (tests: /__sim/config)
        size = (max(1, round(size[0] * oversize)), max(1, round(size[1] * oversize)))
    prompt = next((request[f.name] for f in model.fields
                   if f.kind == "prompt" and isinstance(request.get(f.name), str)), "")
    seed = request.get("seed") if isinstance(request.get("seed"), int) else 0
    made = []
    for index in range(count):
        if base is not None:
            image = media.enlarged(base, size, transparent=model.answer.transparent)
        else:
            image = media.picture(prompt, *size, seed=seed + index)
        data, mime = media.encode(image, "png" if model.answer.transparent else fmt)
        made.append((data, mime, "png" if mime == "image/png" else "jpg",
                     {"width": size[0], "height": size[1]}))
    return made


def _first_input_size(model: Model, request: dict[str, Any]) -> tuple[int, int] | None:
    """The size of the first input image: what an edit app makes at image_size "auto"."""
    for item in model.fields:
        value = request.get(item.name) if item.kind in ("image", "images") else None
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, str):
            return media.decode_data_uri(first).size
    return None


def _seconds(model: Model, request: dict[str, Any]) -> float:
    answer = model.answer
    name = answer.seconds or ("duration" if model.field("duration") else None)
    value = request.get(name) if name else None
    if isinstance(value, str):
        value = value.removesuffix("s")
        value = float(value) if value.replace(".", "", 1).isdigit() else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    text = next((request[f.name] for f in model.fields
                 if f.kind == "prompt" and isinstance(request.get(f.name), str)), "")
    if model.price.unit == "kchars":  # speech: about 15 characters a second
        return max(1.0, round(len(text) / 15, 1))
    return answer.default_seconds


def _aspect(request: dict[str, Any]) -> str:
    ratio = request.get("aspect_ratio")
    return ratio if ratio in media.VIDEO_SIZES else "16:9"
