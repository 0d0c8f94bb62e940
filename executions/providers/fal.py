"""The fal queue API: one provider for every fal model the library declares
(graph/catalog/models_*.py); the request body and the output come from the declaration.

    POST {base}/<model id>     Authorization: Key <key>    <model input JSON>
      → {"request_id", "status_url", "response_url", "cancel_url"}
    GET <status_url>   → {"status": "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED", "error"?, …}
    GET <response_url> → the model's output, e.g. {"image": {"url"}} or {"video": {"url"}};
                         a failed request answers 4xx/5xx {"detail": …} here instead
    PUT <cancel_url>   → 202 CANCELLATION_REQUESTED (400 ALREADY_COMPLETED, 404 NOT_FOUND)

The URLs fal returns are used as they are; the input image travels as a data URI. A model
with an edit app (FLUX.2 [pro]) sends a request with reference images there; fal bills their
megapixels, so one over the field's `max_pixels` is scaled down first and the megapixels sent
are the run's usage, as BFL's are.
"""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

from executions import imaging
from executions.providers import bfl
from executions.providers.base import (
    Job,
    Media,
    OutputFile,
    Pending,
    Provider,
    ProviderError,
    Result,
)
from executions.providers.http import Http, VendorError, output_file, plain_error, require_key
from graph.catalog import catalog
from graph.catalog.library import MEDIA_KINDS, MEGAPIXEL, Answer, Field, Model

logger = logging.getLogger(__name__)

POLL_AFTER = 1.0
HANDLE_KEYS = ("request_id", "status_url", "response_url", "cancel_url")


def _media(job: Job, item: Field) -> list[Media]:
    media = job.media(item.input_id)
    if not media and item.required:
        raise ProviderError(f"No {MEDIA_KINDS[item.kind]} arrived on the "
                            f"{item.input_id} input", kind="invalid")
    return media


def _data_uri(media: Media, item: Field) -> str:
    """A medium as a data URI, converted to the first of the field's `formats` (PNG) when the
    vendor takes only those and it is not one of them."""
    if not item.formats or media.mime in item.formats:
        return media.data_uri()
    with imaging.open_image(media.read()) as image:
        buffer = io.BytesIO()
        image.save(buffer, format=item.formats[0].split("/", 1)[1].upper())
    return f"data:{item.formats[0]};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def _images(job: Job, item: Field, sent: list[float]) -> list[str] | None:
    """An `images` field's data URIs; one over the field's `max_pixels` scaled down to it, and
    the megapixels of each sent added to `sent` (the vendor bills them)."""
    media = _media(job, item)
    if item.max_pixels is None:
        return [m.data_uri() for m in media] if media else None
    uris = []
    for one in media[:item.max_items] if item.max_items else media:
        data, mime, pixels = bfl.within_pixels(one, item.max_pixels)
        uris.append(f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")
        sent.append(round(pixels / MEGAPIXEL, 6))
    return uris or None


def _value(job: Job, item: Field, sent: list[float]) -> Any:
    """One field's value for the body, or None to leave it out (the vendor's default)."""
    if item.kind == "prompt":
        text = job.text(item.input_id).strip()
        if not text and item.required:
            raise ProviderError(f"{job.node_type} needs {item.input_id!r}: wire a text output "
                                "into it or type it in", kind="invalid")
        return text or None
    if item.kind in ("image", "video", "audio"):
        media = _media(job, item)
        return _data_uri(media[0], item) if media else None
    if item.kind == "images":
        return _images(job, item, sent)
    if item.kind == "seed":
        return job.seed
    if item.kind == "size":  # fal's custom size, from the node's width and height
        width, height = job.config.get("width"), job.config.get("height")
        return {"width": int(width), "height": int(height)} if width and height else None
    value = job.config.get(item.input_id)
    if value is None or (value == "" and not item.required):
        return None
    return str(value) if item.as_string else value


def declaration(job: Job) -> Model:
    """The declaration the job's request is built from: the node's own, or that of the route
    its vendor setting picks (FLUX.2 [pro] on fal); its edit app's when images arrived on an
    image port only that app takes."""
    spec = catalog.get(job.node_type)
    model = spec.route(job.config).declaration if spec is not None else None
    if not isinstance(model, Model):
        raise ProviderError(f"The fal provider cannot run {job.node_type}", kind="config")
    return model.for_media(lambda port: bool(job.media(port)))


def build_request(job: Job) -> dict[str, Any]:
    """The model's input JSON, field by field from its declaration: each setting and port goes
    to the vendor field it declares; empty optional values are left to the vendor's default."""
    return request_and_megapixels(job)[0]


def request_and_megapixels(job: Job) -> tuple[dict[str, Any], list[float]]:
    """The input JSON (build_request) and the megapixels of each image in it whose megapixels
    fal bills (a field with `max_pixels`)."""
    model = declaration(job)
    declared = {item.input_id for item in model.fields}
    unused = sorted(port for port, values in job.inputs.items() if values and port not in declared)
    if unused:  # a route that takes less than the node offers (FLUX.2 [pro] on fal)
        raise ProviderError(f"{model.label} takes no {unused[0]}: disconnect it, or choose "
                            "another vendor", kind="invalid")
    body: dict[str, Any] = {}
    sent: list[float] = []
    for item in model.offered():
        value = _value(job, item, sent)
        if value is not None:
            body[item.name] = value
    return body, sent


def characters_sent(job: Job, body: dict[str, Any]) -> int | None:
    """The characters of the text a per-character price bills (what was sent)."""
    price = declaration(job).price
    text = body.get(price.text) if price.unit == "kchars" else None
    return len(text) if isinstance(text, str) else None


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


def parse_output(payload: dict[str, Any], answer: Answer) -> list[str]:
    """The file URLs of a finished request, where the model's declaration says they are."""
    found = payload.get(answer.key)
    items = found if isinstance(found, list) else [found]
    urls = [item["url"] for item in items if isinstance(item, dict) and item.get("url")]
    if not urls:
        said = plain_error(200, payload).message
        raise ProviderError(f"fal finished without an output file: {said}", kind="failed")
    return urls if answer.many else urls[:1]


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


def usage(model: Model, files: list[OutputFile], handle: dict[str, Any]) -> dict[str, Any]:
    """What fal bills beyond the settings: the images delivered, each one's megapixels where
    the price is per megapixel, the characters sent where it is per character."""
    said: dict[str, Any] = {}
    if model.answer.type == "image":
        said["images"] = len(files)
        if model.price.unit == "megapixel":
            said["megapixels"] = [megapixels_of(f.data) for f in files]
    if handle.get("characters") is not None:
        said["characters"] = handle["characters"]
    if handle.get("references"):
        said["references"] = handle["references"]
    return said


def megapixels_of(data: bytes) -> float:
    """An image's size in megapixels (1024²), read from its header."""
    try:
        _, width, height = imaging.image_info(data)
    except ProviderError as exc:
        raise ProviderError("fal sent an image that cannot be read", kind="failed") from exc
    return width * height / MEGAPIXEL


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
        model = declaration(job)
        require_key(self.api_key, env="FAL_KEY", model=model.label, vendor="fal")
        body, references = request_and_megapixels(job)
        # The declaration's own app: the route's model id, or its edit app for reference images.
        payload = self.http.send_json("POST", f"{self.base_url}/{model.endpoint}",
                                      headers=self._headers(), json=body, billed_if_lost=True)
        handle = parse_submit(payload)
        if references:  # the charge follows the megapixels sent, as BFL's does
            handle["references"] = references
        characters = characters_sent(job, body)
        if characters is not None:  # the charge follows the text sent; polls no longer see it
            handle["characters"] = characters
        return Pending(handle=handle, poll_after=POLL_AFTER)

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
        answer = declaration(job).answer
        files = []
        for url in parse_output(output, answer):
            data, mime = self.http.download(url)
            files.append(output_file(data, mime, vendor="fal"))
        return Result({answer.output_port: files if answer.many else files[0]},
                      meta={"vendor_id": handle["request_id"],
                            "usage": usage(declaration(job), files, handle)})

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
