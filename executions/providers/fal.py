"""The fal queue API, for the remote upscaler (ESRGAN) and image-to-video (Kling):

    POST {base}/<model id>            Authorization: Key <key>    <model input JSON>
      → {"request_id", "status_url", "response_url", "cancel_url"}
    GET <status_url>   → {"status": "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED", …}
    GET <response_url> → the model's output, e.g. {"image": {"url"}} or {"video": {"url"}}
    PUT <cancel_url>   → 202 {"status": "CANCELLATION_REQUESTED"} (400 when already done)

The URLs fal returns are used as they are.
"""

from __future__ import annotations

from typing import Any

from executions.providers.base import Job, OutputFile, Pending, Provider, ProviderError, Result
from executions.providers.http import EXTENSIONS, Http, require_key


def build_request(job: Job) -> dict[str, Any]:
    images = job.media("image")
    if not images:
        raise ProviderError("No image arrived on the image input", kind="invalid")
    body: dict[str, Any] = {"image_url": images[0].data_uri()}
    config = job.config
    if "esrgan" in (job.model or ""):
        body["scale"] = int(config.get("scale", 2))
    else:
        body.update(prompt=job.text("prompt"), duration=str(config.get("duration", 5)),
                    aspect_ratio=config.get("aspect_ratio", "16:9"))
        if config.get("negative_prompt"):
            body["negative_prompt"] = config["negative_prompt"]
    return body


def parse_output(payload: dict[str, Any]) -> tuple[str, str]:
    """(output port, file URL) from a finished job's response."""
    for port in ("video", "image"):
        item = payload.get(port)
        if isinstance(item, dict) and item.get("url"):
            return port, item["url"]
    images = payload.get("images")
    if isinstance(images, list) and images and isinstance(images[0], dict):
        return "image", images[0].get("url", "")
    detail = payload.get("detail") or payload.get("error") or payload
    raise ProviderError(f"fal finished without an output: {str(detail)[:300]}", kind="failed")


class FalProvider(Provider):
    alias = "fal"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get("base_url", "https://queue.fal.run").rstrip("/")
        self.http = Http(vendor="fal", timeout=float(options.get("timeout", 60)))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key}"}

    def submit(self, job: Job) -> Pending:
        require_key(self.api_key, env="FAL_KEY", what="fal models (ESRGAN, Kling)")
        response = self.http.send("POST", f"{self.base_url}/{job.model}",
                                  headers=self._headers(), json=build_request(job))
        payload = response.json()
        missing = [k for k in ("request_id", "status_url", "response_url") if not payload.get(k)]
        if missing:
            raise ProviderError(f"fal accepted the job but sent no {missing[0]}", kind="failed")
        handle = {key: payload.get(key) for key in
                  ("request_id", "status_url", "response_url", "cancel_url")}
        return Pending(handle=handle, poll_after=1.0)

    def poll(self, job: Job, handle: dict[str, Any]) -> Result | Pending:
        status = self.http.send("GET", handle["status_url"], headers=self._headers(),
                                ok=(200, 202)).json()
        state = status.get("status")
        if state in ("IN_QUEUE", "IN_PROGRESS"):
            return Pending(handle=handle, poll_after=1.0)
        if state != "COMPLETED":
            raise ProviderError(f"fal answered an unknown status {state!r}", kind="failed")
        output = self.http.send("GET", handle["response_url"], headers=self._headers()).json()
        port, url = parse_output(output)
        data, mime = self.http.download(url)
        if mime not in EXTENSIONS:
            mime = "video/mp4" if port == "video" else "image/png"
        return Result({port: OutputFile(data=data, mime=mime, extension=EXTENSIONS[mime])},
                      meta={"vendor_id": handle["request_id"]})

    def cancel(self, handle: dict[str, Any]) -> None:
        if not handle or not handle.get("cancel_url"):
            return
        try:
            self.http.send("PUT", handle["cancel_url"], headers=self._headers(),
                           ok=(200, 202, 400))
        except ProviderError:
            pass  # best effort: the job may be gone already
