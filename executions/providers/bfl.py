"""Black Forest Labs FLUX.2 ([pro], [flex]) as BFL documents it:

    POST {base}/v1/<model>   x-key: <key>   {"prompt", "width", "height", "seed", …}
      → {"id", "polling_url", …}
    GET <polling_url>        x-key: <key>
      → {"status": "Ready" | "Pending" | "Request Moderated" | "Content Moderated" | "Error"
                   | "Task not found", "result": {"sample": <signed URL, valid 10 min>}, …}

The polling URL is used exactly as returned (BFL routes jobs to regional endpoints).
"""

from __future__ import annotations

from typing import Any

from executions.providers.base import Job, OutputFile, Pending, Provider, ProviderError, Result
from executions.providers.http import EXTENSIONS, Http, require_key

MAX_REFERENCES = 8
MODERATED = {"Request Moderated", "Content Moderated"}


def build_request(job: Job) -> dict[str, Any]:
    """The JSON body BFL expects for this node's settings and inputs."""
    config = job.config
    body: dict[str, Any] = {
        "prompt": job.text("prompt"),
        "width": int(config["width"]),
        "height": int(config["height"]),
        "seed": job.seed,
        "output_format": config.get("output_format", "jpeg"),
        "safety_tolerance": int(config.get("safety_tolerance", 2)),
        "prompt_upsampling": bool(config.get("prompt_upsampling", False)),
    }
    if job.model == "flux-2-flex":
        body["steps"] = int(config.get("steps", 50))
        body["guidance"] = float(config.get("guidance", 4.5))
    for index, media in enumerate(job.media("reference_images")[:MAX_REFERENCES]):
        body["input_image" if index == 0 else f"input_image_{index + 1}"] = media.base64()
    return body


def parse_poll(payload: dict[str, Any]) -> tuple[str, Any]:
    """('ready', sample URL) | ('pending', progress) — or raise the node's ProviderError."""
    status = payload.get("status")
    if status == "Ready":
        sample = (payload.get("result") or {}).get("sample")
        if not sample:
            raise ProviderError("BFL said Ready but sent no result URL", kind="failed")
        return "ready", sample
    if status == "Pending":
        progress = payload.get("progress")
        return "pending", float(progress) if isinstance(progress, (int, float)) else None
    if status in MODERATED:
        reasons = (payload.get("details") or {}).get("Moderation Reasons") or []
        why = f": {', '.join(map(str, reasons))}" if reasons else ""
        raise ProviderError(f"BFL {status.lower()}{why}", kind="moderated")
    if status == "Task not found":
        raise ProviderError("BFL no longer knows this task (Task not found)", kind="not_found")
    if status == "Error":
        detail = (payload.get("details") or {}) or payload.get("result") or ""
        raise ProviderError(f"BFL reported an error: {detail or 'no details'}", kind="failed")
    raise ProviderError(f"BFL answered an unknown status {status!r}", kind="failed")


class BflProvider(Provider):
    alias = "bfl"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get("base_url", "https://api.bfl.ai").rstrip("/")
        self.http = Http(vendor="BFL", timeout=float(options.get("timeout", 60)))

    def _headers(self) -> dict[str, str]:
        return {"x-key": self.api_key, "accept": "application/json"}

    def submit(self, job: Job) -> Pending:
        require_key(self.api_key, env="BFL_API_KEY", what="FLUX.2 (Black Forest Labs)")
        response = self.http.send("POST", f"{self.base_url}/v1/{job.model}",
                                  headers=self._headers(), json=build_request(job))
        payload = response.json()
        if not payload.get("id") or not payload.get("polling_url"):
            raise ProviderError("BFL accepted the job but sent no polling_url", kind="failed")
        return Pending(handle={"id": payload["id"], "polling_url": payload["polling_url"]},
                       poll_after=0.5)

    def poll(self, job: Job, handle: dict[str, Any]) -> Result | Pending:
        response = self.http.send("GET", handle["polling_url"], headers=self._headers())
        state, value = parse_poll(response.json())
        if state == "pending":
            return Pending(handle=handle, progress=value, poll_after=0.5)
        data, mime = self.http.download(value)
        if mime not in EXTENSIONS:
            mime = "image/png" if job.config.get("output_format") == "png" else "image/jpeg"
        return Result({"image": OutputFile(data=data, mime=mime, extension=EXTENSIONS[mime])},
                      meta={"seed": job.seed, "vendor_id": handle["id"]})
