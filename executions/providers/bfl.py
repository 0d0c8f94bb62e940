"""Black Forest Labs FLUX.2 ([pro], [max], [flex], [klein] 4B / 9B) as BFL documents it:

    POST {base}/v1/<model>   x-key: <key>   {"prompt", "width", "height", "seed", …}
      → {"id", "polling_url", "cost", "input_mp", "output_mp"}
    GET <polling_url>        x-key: <key>
      → {"status": "Ready" | "Pending" | "Request Moderated" | "Content Moderated" | "Error"
                   | "Task not found", "result": {"sample": <signed URL, valid 10 min>, "seed"},
         "progress", "details"}

The polling URL is used exactly as returned (BFL routes jobs to regional endpoints), and the
sample is downloaded inside the poll that sees it Ready, before it expires. BFL bills the
megapixels of each reference image too: one larger than 4 MP is scaled down to 4 MP before it is
sent, and the megapixels sent are reported as the job's usage, from which it is charged. The
`cost` BFL quotes on submit (in its credits, worth $0.01 as ours) is kept with the job.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

from executions import imaging
from executions.providers.base import Job, Media, Pending, Provider, ProviderError, Result
from executions.providers.http import Http, output_file, require_key

MAX_REFERENCES = {"flux-2-klein-4b": 4, "flux-2-klein-9b": 4}  # the others take 8
MEGAPIXEL = 1024 * 1024
MAX_REFERENCE_PIXELS = 4 * MEGAPIXEL
POLL_AFTER = 0.5


@dataclass(frozen=True)
class Ready:
    """A finished BFL task: where its image is, and what BFL told us about it."""

    sample: str
    meta: dict[str, Any]


def within_pixels(media: Media, max_pixels: int = MAX_REFERENCE_PIXELS
                  ) -> tuple[bytes, str, int]:
    """An image as it is, or scaled down to `max_pixels` (as a PNG) when larger: its bytes,
    its MIME type and its pixels (what a vendor billing input megapixels bills)."""
    data = media.read()
    width, height = media.width, media.height
    if not (width and height):
        with imaging.open_image(data) as image:
            width, height = image.size
    if width * height <= max_pixels:
        return data, media.mime, width * height
    scale = math.sqrt(max_pixels / (width * height))
    width, height = max(1, int(width * scale)), max(1, int(height * scale))
    with imaging.open_image(data) as image:
        smaller = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    smaller.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png", width * height


def reference(media: Media) -> tuple[str, float]:
    """A reference image as BFL takes it (base64), and the megapixels it will bill: the image
    as it is, or scaled down to 4 MP when larger."""
    data, _, pixels = within_pixels(media)
    return base64.b64encode(data).decode("ascii"), pixels / MEGAPIXEL


def build_request(job: Job) -> tuple[dict[str, Any], list[float]]:
    """The JSON body BFL expects for this node's settings and inputs, and the megapixels of
    each reference image in it."""
    config = job.config
    body: dict[str, Any] = {
        "prompt": job.text("prompt"),
        "width": int(config["width"]),
        "height": int(config["height"]),
        "output_format": config.get("output_format") or "jpeg",
        "safety_tolerance": int(config.get("safety_tolerance", 2)),
    }
    if job.seed is not None:
        body["seed"] = job.seed
    if job.model == "flux-2-flex":
        body["steps"] = int(config.get("steps", 50))
        body["guidance"] = float(config.get("guidance", 4.5))
        body["prompt_upsampling"] = bool(config.get("prompt_upsampling", False))
    megapixels = []
    limit = MAX_REFERENCES.get(job.model or "", 8)
    for index, media in enumerate(job.media("reference_images")[:limit]):
        data, size = reference(media)
        body["input_image" if index == 0 else f"input_image_{index + 1}"] = data
        megapixels.append(size)
    return body, megapixels


def parse_submit(payload: dict[str, Any]) -> dict[str, Any]:
    """The handle kept on the node run: BFL's task id, the polling URL it gave us and the cost
    it quoted (BFL sends `cost` here, not with the result)."""
    if not payload.get("id") or not payload.get("polling_url"):
        raise ProviderError("BFL accepted the job but sent no id / polling_url", kind="failed")
    handle = {"id": payload["id"], "polling_url": payload["polling_url"]}
    if isinstance(payload.get("cost"), (int, float)):
        handle["cost"] = payload["cost"]
    return handle


def parse_poll(payload: dict[str, Any], handle: dict[str, Any]) -> Pending | Ready:
    """Still running, or finished with a sample URL; any other status raises the node's error."""
    status = payload.get("status")
    if status == "Pending":
        return Pending(handle=handle, progress=_progress(payload.get("progress")),
                       poll_after=POLL_AFTER)
    if status == "Ready":
        result = payload.get("result") or {}
        if not result.get("sample"):
            raise ProviderError("BFL said Ready but sent no result URL", kind="failed")
        meta = {"vendor_id": handle.get("id"), "seed": result.get("seed"),
                "cost": handle.get("cost"),
                "usage": {"references": handle.get("references") or []}}
        return Ready(sample=result["sample"],
                     meta={key: value for key, value in meta.items() if value is not None})
    if status in ("Request Moderated", "Content Moderated"):
        raise ProviderError(f"BFL: {status}{_reason(payload)}", kind="moderated")
    if status == "Task not found":
        raise ProviderError("BFL no longer knows this task (Task not found)", kind="not_found")
    if status == "Error":
        raise ProviderError(f"BFL reported an error{_reason(payload)}", kind="failed")
    raise ProviderError(f"BFL answered an unknown status {status!r}", kind="failed")


def _progress(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return min(1.0, max(0.0, value / 100 if value > 1 else float(value)))


def _reason(payload: dict[str, Any]) -> str:
    """': <the vendor's reasons>' from `details` (e.g. "Moderation Reasons") or `error`."""
    details = payload.get("details") or payload.get("error") or ""
    if isinstance(details, dict):
        parts = []
        for key, value in details.items():
            value = ", ".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{key}: {value}" if value else str(key))
        details = "; ".join(parts)
    return f": {str(details)[:300]}" if details else ""


class BflProvider(Provider):
    """FLUX.2 on BFL. BFL has no cancel endpoint, so `cancel` stays the base no-op: an
    abandoned task finishes on their side and is simply never downloaded."""

    alias = "bfl"
    external = True
    vendor_name = "BFL"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get("base_url", "https://api.bfl.ai").rstrip("/")
        self.http = Http(vendor="BFL", timeout=float(options.get("timeout", 60)))

    def _headers(self) -> dict[str, str]:
        return {"x-key": self.api_key, "accept": "application/json"}

    def submit(self, job: Job) -> Pending:
        require_key(self.api_key, env="BFL_API_KEY", model="FLUX.2", vendor="Black Forest Labs")
        body, references = build_request(job)
        payload = self.http.send_json("POST", f"{self.base_url}/v1/{job.model}",
                                      headers=self._headers(), json=body, billed_if_lost=True)
        handle = parse_submit(payload)
        if references:
            handle["references"] = [round(mp, 6) for mp in references]
        return Pending(handle=handle, poll_after=POLL_AFTER)

    def model_check(self, model: str) -> str | None:
        """None when the key works and BFL serves the model. An empty body costs nothing: BFL
        checks the key, then the model (404), then the body (422) before it makes a job."""
        return self.http.refusal_of_empty(f"{self.base_url}/v1/{model}", self._headers())

    def poll(self, job: Job, handle: dict[str, Any]) -> Result | Pending:
        payload = self.http.send_json("GET", handle["polling_url"], headers=self._headers(),
                                      gone="BFL no longer knows this task")
        state = parse_poll(payload, handle)
        if isinstance(state, Pending):
            return state
        data, mime = self.http.download(state.sample)
        return Result({"image": output_file(data, mime, vendor="BFL")}, meta=state.meta)

    def close(self) -> None:
        self.http.close()
