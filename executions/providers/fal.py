"""The fal queue API, for the remote upscaler (ESRGAN) and image-to-video (Kling):

    POST {base}/<model id>     Authorization: Key <key>    <model input JSON>
      → {"request_id", "status_url", "response_url", "cancel_url"}
    GET <status_url>   → {"status": "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED", "error"?, …}
    GET <response_url> → the model's output, e.g. {"image": {"url"}} or {"video": {"url"}};
                         a failed request answers 4xx/5xx {"detail": …} here instead
    PUT <cancel_url>   → 202 CANCELLATION_REQUESTED (400 ALREADY_COMPLETED, 404 NOT_FOUND)

The URLs fal returns are used as they are; the input image travels as a data URI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from executions.providers.base import Job, Pending, Provider, ProviderError, Result
from executions.providers.http import Http, VendorError, output_file, plain_error, require_key

logger = logging.getLogger(__name__)

POLL_AFTER = 1.0
HANDLE_KEYS = ("request_id", "status_url", "response_url", "cancel_url")


def _image_url(job: Job) -> str:
    images = job.media("image")
    if not images:
        raise ProviderError("No image arrived on the image input", kind="invalid")
    return images[0].data_uri()


def _esrgan_input(job: Job) -> dict[str, Any]:
    return {"image_url": _image_url(job), "scale": int(job.config.get("scale", 2))}


def _kling_input(job: Job) -> dict[str, Any]:
    """Kling 2.1's input schema on fal: a prompt is required; the video takes the image's
    aspect ratio (the schema has no aspect_ratio)."""
    config = job.config
    prompt = job.text("prompt").strip()
    if not prompt:
        raise ProviderError("Kling needs a prompt describing the motion", kind="invalid")
    body = {"image_url": _image_url(job), "prompt": prompt,
            "duration": str(config.get("duration", 5))}
    if config.get("negative_prompt"):
        body["negative_prompt"] = config["negative_prompt"]
    if isinstance(config.get("cfg_scale"), (int, float)):
        body["cfg_scale"] = float(config["cfg_scale"])
    return body


INPUTS: dict[str, Callable[[Job], dict[str, Any]]] = {
    "process:upscale_esrgan": _esrgan_input,
    "generate:kling_video": _kling_input,
}


def build_request(job: Job) -> dict[str, Any]:
    """The model input JSON for this node type."""
    builder = INPUTS.get(job.node_type)
    if builder is None:
        raise ProviderError(f"The fal provider cannot run {job.node_type}", kind="config")
    return builder(job)


def parse_submit(payload: dict[str, Any]) -> dict[str, Any]:
    """The handle kept on the node run: the request id and the three URLs fal gave us."""
    missing = [key for key in HANDLE_KEYS[:3] if not payload.get(key)]
    if missing:
        raise ProviderError(f"fal accepted the job but sent no {missing[0]}", kind="failed")
    return {key: payload.get(key) for key in HANDLE_KEYS}


def parse_status(payload: dict[str, Any], handle: dict[str, Any]) -> Pending | None:
    """Pending while queued or running, None once COMPLETED; a failed request raises."""
    status = payload.get("status")
    if status in ("IN_QUEUE", "IN_PROGRESS"):
        return Pending(handle=handle, poll_after=POLL_AFTER)
    if status == "COMPLETED" and not payload.get("error"):
        return None
    detail = payload.get("error") or f"status {status!r}"
    kind = "moderated" if payload.get("error_type") == "content_policy_violation" else "failed"
    raise ProviderError(f"fal: the request failed ({str(detail)[:300]})", kind=kind)


def parse_output(payload: dict[str, Any]) -> tuple[str, str]:
    """(output port, file URL) from a finished request's response."""
    for port in ("video", "image"):
        item = payload.get(port)
        if isinstance(item, dict) and item.get("url"):
            return port, item["url"]
    images = payload.get("images")
    if isinstance(images, list) and images and isinstance(images[0], dict) and \
            images[0].get("url"):
        return "image", images[0]["url"]
    said = plain_error(200, payload).message
    raise ProviderError(f"fal finished without an output file: {said}", kind="failed")


def describe_error(status: int, body: Any) -> VendorError:
    """fal's `{"detail": …}`; a `content_policy_violation` in it is a moderation, and a 403
    "User is locked … Exhausted balance" is the account out of credit (fal sends no 402)."""
    said = plain_error(status, body)
    details = body.get("detail") if isinstance(body, dict) else None
    flagged = isinstance(details, list) and any(
        isinstance(item, dict) and item.get("type") == "content_policy_violation"
        for item in details)
    if flagged:
        return VendorError(said.message, kind="moderated")
    if status == 403 and "balance" in said.message.lower():
        return VendorError(said.message, kind="payment")
    return VendorError(said.message)


class FalProvider(Provider):
    alias = "fal"
    external = True
    vendor_name = "fal"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get("base_url", "https://queue.fal.run").rstrip("/")
        self.http = Http(vendor="fal", timeout=float(options.get("timeout", 60)),
                         describe=describe_error)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key}"}

    def submit(self, job: Job) -> Pending:
        require_key(self.api_key, env="FAL_KEY", model="ESRGAN / Kling", vendor="fal")
        payload = self.http.send_json("POST", f"{self.base_url}/{job.model}",
                                      headers=self._headers(), json=build_request(job),
                                      billed_if_lost=True)
        return Pending(handle=parse_submit(payload), poll_after=POLL_AFTER)

    def model_check(self, model: str) -> str | None:
        """None when the key works and fal serves the app: an empty body is refused (422) by
        the app's input schema before any request is queued; an unknown app answers 404."""
        return self.http.refusal_of_empty(f"{self.base_url}/{model}", self._headers())

    def poll(self, job: Job, handle: dict[str, Any]) -> Result | Pending:
        status = self.http.send_json("GET", handle["status_url"], headers=self._headers(),
                                     ok=(200, 202), gone="fal no longer knows this request")
        pending = parse_status(status, handle)
        if pending is not None:
            return pending
        output = self.http.send_json("GET", handle["response_url"], headers=self._headers())
        port, url = parse_output(output)
        data, mime = self.http.download(url)
        return Result({port: output_file(data, mime, vendor="fal")},
                      meta={"vendor_id": handle["request_id"]})

    def cancel(self, handle: dict[str, Any]) -> None:
        """PUT the cancel URL. Already completed (400) or unknown (404) is fine; any other
        failure is logged, never raised: cancelling is best effort."""
        if not handle or not handle.get("cancel_url"):
            return
        try:
            self.http.send("PUT", handle["cancel_url"], headers=self._headers(),
                           ok=(200, 202, 400, 404))
        except ProviderError as error:
            logger.warning("fal cancel of %s failed: %s", handle.get("request_id"), error)

    def close(self) -> None:
        self.http.close()
