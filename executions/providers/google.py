"""Nano Banana 2 (Gemini image) through `generateContent`:

    POST {base}/v1beta/models/<model>:generateContent   x-goog-api-key: <key>
      {"contents": [{"parts": [{"text"}, {"inline_data": {"mime_type", "data"}}…]}],
       "generationConfig": {"responseModalities": ["TEXT", "IMAGE"],
                            "imageConfig": {"aspectRatio"}}}
      → {"candidates": [{"content": {"parts": [{"inlineData": {"mimeType", "data"}}]},
                         "finishReason"}], "promptFeedback": {"blockReason"}}

The answer is synchronous and the image comes back inline as base64, so `submit` returns the
result itself.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx

from executions.providers.base import Job, OutputFile, Provider, ProviderError, Result
from executions.providers.http import EXTENSIONS, Http, require_key

BLOCKED_FINISH = {"SAFETY", "PROHIBITED_CONTENT", "IMAGE_SAFETY", "BLOCKLIST", "SPII",
                  "RECITATION", "IMAGE_PROHIBITED_CONTENT"}


def google_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return response.text.strip()[:300]
    return f"{error.get('status', '')} {error.get('message', '')}".strip()[:300]


def build_request(job: Job) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": job.text("prompt")}]
    for media in job.media("reference_images"):
        parts.append({"inline_data": {"mime_type": media.mime, "data": media.base64()}})
    generation: dict[str, Any] = {
        "responseModalities": ["TEXT", "IMAGE"],
        "candidateCount": int(job.config.get("num_images", 1)),
        "imageConfig": {"aspectRatio": job.config.get("aspect_ratio", "1:1")},
    }
    if job.seed is not None:
        generation["seed"] = job.seed
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": generation}


def parse_images(payload: dict[str, Any]) -> list[OutputFile]:
    """Every inline image in the answer; a blocked prompt or answer is 'moderated'."""
    block = (payload.get("promptFeedback") or {}).get("blockReason")
    if block:
        raise ProviderError(f"Gemini blocked the prompt ({block})", kind="moderated")
    images: list[OutputFile] = []
    reasons: list[str] = []
    for candidate in payload.get("candidates") or []:
        reason = candidate.get("finishReason")
        if reason in BLOCKED_FINISH:
            reasons.append(reason)
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if not inline:
                continue
            mime = inline.get("mimeType") or inline.get("mime_type") or "image/png"
            try:
                data = base64.b64decode(inline.get("data", ""), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ProviderError("Gemini sent an image that is not valid base64",
                                    kind="failed") from exc
            images.append(OutputFile(data=data, mime=mime, extension=EXTENSIONS.get(mime, "png")))
    if not images:
        if reasons:
            raise ProviderError(f"Gemini withheld the image ({', '.join(reasons)})",
                                kind="moderated")
        raise ProviderError("Gemini answered without an image", kind="failed")
    return images


class GoogleProvider(Provider):
    alias = "google"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get(
            "base_url", "https://generativelanguage.googleapis.com").rstrip("/")
        self.http = Http(vendor="Gemini", timeout=float(options.get("timeout", 120)),
                         message=google_message)

    def submit(self, job: Job) -> Result:
        require_key(self.api_key, env="GEMINI_API_KEY", what="Nano Banana 2 (Google Gemini)")
        response = self.http.send(
            "POST", f"{self.base_url}/v1beta/models/{job.model}:generateContent",
            headers={"x-goog-api-key": self.api_key}, json=build_request(job),
        )
        images = parse_images(response.json())
        return Result({"image": images[0]}, meta={"images": len(images)})
