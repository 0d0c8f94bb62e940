"""Black Forest Labs FLUX.2 as api.bfl.ai answers it:

    POST /v1/<model>   x-key: <UUID>   → {"id", "polling_url", "cost", "input_mp", "output_mp"}
    GET  /v1/get_result?id=<id>        → {"id", "status", "result", "progress", "details"}

The body is checked like BFL's FastAPI models check it (422 with a pydantic detail list), an
unknown model is a 404, and the cost follows BFL's published per-megapixel prices. The polling
URL names the other loopback host (127.0.0.1 ↔ localhost), as BFL routes polls to a regional
host: a client must use the URL it was given. Polls carry no cost, as BFL's don't.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from executions.simulator import keys, media
from executions.simulator.state import SimJob, triggers

if TYPE_CHECKING:
    from executions.simulator.server import Handler

MEGAPIXEL = 1024 * 1024
MAX_PIXELS = 4 * MEGAPIXEL
TRIGGERED = {"402": 402, "429": 429, "500": 500}
MESSAGES = {402: "Insufficient credits", 403: "Not authenticated", 404: "Not Found",
            405: "Method Not Allowed",
            429: "You have exceeded the number of active tasks. Please wait for a task to "
                 "finish before submitting another.",
            500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service temporarily unavailable"}
COMMON_FIELDS = {"prompt", "width", "height", "seed", "safety_tolerance", "output_format",
                 "webhook_url", "webhook_secret"}
FLEX_FIELDS = {"steps", "guidance", "prompt_upsampling"}


@dataclass(frozen=True)
class Model:
    first: float  # credits for the first output megapixel
    extra: float  # credits for each further output megapixel and each input megapixel
    references: int  # input_image … input_image_<references>
    flex: bool = False  # takes steps, guidance and prompt_upsampling

    def fields(self) -> set[str]:
        images = {"input_image"} | {f"input_image_{n}" for n in range(2, self.references + 1)}
        return COMMON_FIELDS | images | (FLEX_FIELDS if self.flex else set())


MODELS = {
    "flux-2-klein-4b": Model(1.4, 0.1, 4),
    "flux-2-klein-9b": Model(1.5, 0.2, 4),
    "flux-2-pro": Model(3, 1.5, 8),
    "flux-2-max": Model(7, 3, 8),
    "flux-2-flex": Model(5, 5, 8, flex=True),
}


def fail(h: Handler, status: int, message: str | None = None) -> None:
    headers = {"Retry-After": "1"} if status == 429 else {}
    h.reply(status, {"detail": message or MESSAGES.get(status, "Simulated failure")},
            headers=headers)


def authorise(h: Handler, query: dict[str, list[str]]) -> bool:
    key = h.headers.get("x-key") or ""
    if keys.well_formed("bfl", key):
        return True
    fail(h, 403, "Not authenticated" if not key else "Invalid API key")
    return False


def route(h: Handler, method: str, path: str, query: dict[str, list[str]]) -> None:
    if path == "/v1/get_result":
        if method != "GET":
            return fail(h, 405)
        return poll(h, query.get("id", [""])[0])
    name = path.removeprefix("/v1/")
    model = MODELS.get(name) if name not in h.state.retired else None
    if model is None:
        return fail(h, 404)
    if method != "POST":
        return fail(h, 405)
    submit(h, path.removeprefix("/v1/"), model)


# --- validation, FastAPI style ---------------------------------------------------------------
def problem(loc: str | None, kind: str, msg: str, value: Any = None, **ctx: Any) -> dict:
    item = {"type": kind, "loc": ["body", loc] if loc else ["body"], "msg": msg,
            "input": value if not isinstance(value, str) or len(value) < 100 else value[:100]}
    return {**item, "ctx": ctx} if ctx else item


def number(body: dict, name: str, problems: list, *, integer: bool, low: float, high: float
           ) -> Any:
    """body[name] checked as a number in [low, high]; a problem noted when it is not."""
    value = body[name]
    kind = "int" if integer else "float"
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or (integer and value != int(value)):
        problems.append(problem(name, f"{kind}_type",
                                f"Input should be a valid {'integer' if integer else 'number'}",
                                value))
        return None
    if value < low:
        problems.append(problem(name, "greater_than_equal",
                                f"Input should be greater than or equal to {low:g}", value,
                                ge=low))
    elif value > high:
        problems.append(problem(name, "less_than_equal",
                                f"Input should be less than or equal to {high:g}", value, le=high))
    return int(value) if integer else float(value)


def check(h: Handler, body: Any, model: Model) -> tuple[dict, list] | None:
    """(the request as the model reads it, problems); None when the body is not an object."""
    if not isinstance(body, dict):
        return None
    problems: list[dict] = []
    h.ignored = sorted(set(body) - model.fields())
    prompt = body.get("prompt")
    if prompt is None:
        problems.append(problem("prompt", "missing", "Field required"))
    elif not isinstance(prompt, str):
        problems.append(problem("prompt", "string_type", "Input should be a valid string", prompt))
    elif not prompt.strip():
        problems.append(problem("prompt", "string_too_short",
                                "String should have at least 1 character", prompt, min_length=1))
    request: dict[str, Any] = {"prompt": prompt, "seed": None, "format": "jpeg",
                               "references": []}
    for name in ("width", "height"):
        if body.get(name) is not None:
            value = number(body, name, problems, integer=True, low=64, high=MAX_PIXELS)
            if value is not None and value % 16:
                problems.append(problem(name, "multiple_of", "Input should be a multiple of 16",
                                        value, multiple_of=16))
            request[name] = value
    if body.get("seed") is not None:
        request["seed"] = number(body, "seed", problems, integer=True, low=0, high=2**63)
    if body.get("safety_tolerance") is not None:
        number(body, "safety_tolerance", problems, integer=True, low=0, high=6)
    if body.get("output_format") is not None:
        if body["output_format"] not in ("jpeg", "png"):
            problems.append(problem("output_format", "enum", "Input should be 'jpeg' or 'png'",
                                    body["output_format"], expected="'jpeg' or 'png'"))
        request["format"] = body["output_format"]
    if model.flex:
        if body.get("steps") is not None:
            number(body, "steps", problems, integer=True, low=1, high=50)
        if body.get("guidance") is not None:
            number(body, "guidance", problems, integer=False, low=1.5, high=10)
        if body.get("prompt_upsampling") is not None and not isinstance(
                body["prompt_upsampling"], bool):
            problems.append(problem("prompt_upsampling", "bool_type",
                                    "Input should be a valid boolean", body["prompt_upsampling"]))
    for name in sorted(model.fields() & set(body), key=_reference_order):
        if name.startswith("input_image") and body[name] is not None:
            size = reference_size(h, body[name])
            if size is None:
                problems.append(problem(name, "value_error",
                                        "Value error, the image could not be decoded",
                                        body[name]))
            else:
                request["references"].append(size)
    return request, problems


def _reference_order(name: str) -> int:
    return 1 if name == "input_image" else int(name.rsplit("_", 1)[-1]) if name[-1].isdigit() \
        else 0


def reference_size(h: Handler, value: Any) -> tuple[int, int] | None:
    """The pixel size of a reference image: base64 or a data URI decoded with Pillow; a URL of
    one of our own delivery files measured, any other URL taken as one megapixel (the
    simulator fetches nothing)."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(("http://", "https://")):
        item = h.state.file(value.rsplit("/", 1)[-1]) if "/delivery/" in value else None
        if item is None:
            return 1024, 1024
        try:
            return media.data_size(item[0])
        except ValueError:
            return None
    try:
        return media.image_size(value)
    except ValueError:
        return None


def output_size(request: dict) -> tuple[int, int]:
    """The requested size; without one, the first reference's (on the 16-px grid, ≤ 4 MP),
    else 1024×1024."""
    width, height = request.get("width"), request.get("height")
    if width and height:
        return width, height
    base = request["references"][0] if request["references"] else (1024, 1024)
    scale = min(1.0, math.sqrt(MAX_PIXELS / (base[0] * base[1])))
    snapped = [max(64, int(side * scale) // 16 * 16) for side in base]
    return width or snapped[0], height or snapped[1]


# --- submit and poll -------------------------------------------------------------------------
def submit(h: Handler, name: str, model: Model) -> None:
    checked = check(h, h.body, model)
    if checked is None:
        return h.reply(422, {"detail": [problem(None, "model_attributes_type",
                                                "Input should be a valid dictionary or object "
                                                "to extract fields from", h.body)]})
    request, problems = checked
    if not problems:
        width, height = output_size(request)
        if width * height > MAX_PIXELS:
            problems.append(problem(None, "value_error",
                                    f"Value error, width × height must be at most {MAX_PIXELS} "
                                    f"pixels (4 MP), got {width}×{height}",
                                    {"width": width, "height": height}))
    if problems:
        return h.reply(422, {"detail": problems})
    marks = triggers(h.body)
    if h.refuse_submission("bfl", marks):
        return
    request.update(model=name, width=width, height=height)
    if request["seed"] is None:
        request["seed"] = zlib.crc32(request["prompt"].encode())
    output_mp = width * height / MEGAPIXEL
    input_mps = [w * ht / MEGAPIXEL for w, ht in request.pop("references")]
    cost = model.first + model.extra * (
        (math.ceil(output_mp) - 1) + sum(math.ceil(mp) for mp in input_mps))
    job = h.state.submit("bfl", marks, request)
    h.reply(200, {"id": job.id, "polling_url": f"{h.other_base}/v1/get_result?id={job.id}",
                  "cost": round(cost, 2), "input_mp": round(sum(input_mps), 2),
                  "output_mp": round(output_mp, 2)})


def poll(h: Handler, job_id: str) -> None:
    h.state.count("bfl.poll")
    job = h.state.job(job_id)
    if job is None or job.provider != "bfl":
        return h.reply(200, {"id": job_id, "status": "Task not found"})
    now = time.time()
    if not job.done(now):
        return h.reply(200, {"id": job.id, "status": "Pending", "result": None,
                             "progress": job.progress(now), "details": None})
    h.state.settle(job)
    if job.marks & {"request-moderated", "content-moderated"}:
        status = ("Request Moderated" if "request-moderated" in job.marks
                  else "Content Moderated")
        return h.reply(200, {"id": job.id, "status": status, "result": None, "progress": None,
                             "details": {"Moderation Reasons": ["Simulated"]}})
    if "error" in job.marks:
        return h.reply(200, {"id": job.id, "status": "Error", "result": None, "progress": None,
                             "details": {"error": "Simulated generation failure"}})
    h.reply(200, {"id": job.id, "status": "Ready", "progress": None, "details": None,
                  "result": ready_result(h, job)})


def ready_result(h: Handler, job: SimJob) -> dict:
    request = job.request
    if job.file is None:
        image = media.picture(request["prompt"], request["width"], request["height"],
                              seed=request["seed"])
        data, mime = media.encode(image, request["format"])
        job.file = h.state.store_file(data, mime, "png" if mime == "image/png" else "jpg")
    return {"sample": f"{h.base}/delivery/{job.file}", "prompt": request["prompt"],
            "seed": request["seed"], "start_time": job.submitted, "end_time": job.ready_at,
            "duration": round(job.ready_at - job.submitted, 3)}
