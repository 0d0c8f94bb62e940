"""Nano Banana 2 (Gemini image) through `generateContent`:

    POST {base}/v1beta/models/<model>:generateContent   x-goog-api-key: <key>
      {"contents": [{"role": "user", "parts": [{"text"}, {"inline_data": {"mime_type", "data"}}…]}],
       "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio"},
                            "seed"}}
      → {"candidates": [{"content": {"parts": [{"inlineData": {"mimeType", "data"}}]},
                         "finishReason", "finishMessage"}],
         "promptFeedback": {"blockReason", "blockReasonMessage"}, "modelVersion"}
    errors: {"error": {"code", "message", "status", "details": [RetryInfo, ErrorInfo…]}}

The call is synchronous and the image comes back inline as base64, so `submit` returns the
result itself and there is nothing to poll or cancel.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from executions.providers.base import Job, OutputFile, Provider, ProviderError, Result
from executions.providers.http import Http, VendorError, output_file, require_key

# google.rpc status names whose meaning is sharper than the HTTP status they come with.
STATUS_KINDS = {"RESOURCE_EXHAUSTED": "rate_limited", "UNAVAILABLE": "server",
                "DEADLINE_EXCEEDED": "timeout", "UNAUTHENTICATED": "config",
                "PERMISSION_DENIED": "config"}


def describe_error(status: int, body: Any) -> VendorError:
    """Google's `{"error": {code, message, status, details}}`, RetryInfo and a bad key included."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return VendorError(str(body).strip()[:500] or f"HTTP {status}")
    name = str(error.get("status") or "")
    kind = STATUS_KINDS.get(name)
    retry_after = None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("@type", "").endswith("RetryInfo"):
            retry_after = _seconds(detail.get("retryDelay"))
        if detail.get("reason") == "API_KEY_INVALID":
            kind = "config"
    message = f"{name} {error.get('message', '')}".strip()
    return VendorError(message[:500], kind=kind, retry_after=retry_after)


def _seconds(value: Any) -> float | None:
    """A protobuf Duration as JSON ("37s", "1.5s") in seconds."""
    try:
        return max(0.0, float(str(value).rstrip("s")))
    except ValueError:
        return None


def build_request(job: Job) -> dict[str, Any]:
    """The generateContent body: the prompt, the reference images inline, the image settings."""
    parts: list[dict[str, Any]] = [{"text": job.text("prompt")}]
    for media in job.media("reference_images"):
        parts.append({"inline_data": {"mime_type": media.mime, "data": media.base64()}})
    generation: dict[str, Any] = {
        "responseModalities": ["IMAGE"],
        "imageConfig": {"aspectRatio": job.config.get("aspect_ratio") or "1:1"},
    }
    if job.seed is not None:
        generation["seed"] = job.seed
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": generation}


def parse_response(payload: dict[str, Any]) -> OutputFile:
    """The first inline image of the answer. A blocked prompt, a withheld answer or an answer
    without an image is 'moderated', with Google's reason."""
    feedback = payload.get("promptFeedback") or {}
    if feedback.get("blockReason"):
        why = feedback.get("blockReasonMessage") or ""
        raise ProviderError(f"Gemini blocked the prompt ({feedback['blockReason']})"
                            + (f": {why}" if why else ""), kind="moderated")
    reasons: list[str] = []
    for candidate in payload.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if inline and inline.get("data"):
                return _image(inline)
        finish = candidate.get("finishReason")
        said = candidate.get("finishMessage") or _text(candidate)
        if finish or said:
            reasons.append(": ".join(str(item) for item in (finish, said) if item))
    why = "; ".join(reasons) or "no reason given"
    raise ProviderError(f"Gemini returned no image ({why[:300]})", kind="moderated")


def _image(inline: dict[str, Any]) -> OutputFile:
    try:
        data = base64.b64decode(inline["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderError("Gemini sent an image that is not valid base64",
                            kind="failed") from exc
    declared = inline.get("mimeType") or inline.get("mime_type") or ""
    return output_file(data, declared, vendor="Gemini")


def _text(candidate: dict[str, Any]) -> str:
    parts = (candidate.get("content") or {}).get("parts") or []
    return " ".join(part["text"] for part in parts if part.get("text")).strip()[:200]


class GoogleProvider(Provider):
    alias = "google"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get(
            "base_url", "https://generativelanguage.googleapis.com").rstrip("/")
        self.http = Http(vendor="Gemini", timeout=float(options.get("timeout", 120)),
                         describe=describe_error)

    def submit(self, job: Job) -> Result:
        require_key(self.api_key, env="GEMINI_API_KEY", model="Nano Banana 2",
                    vendor="Google Gemini")
        payload = self.http.send_json(
            "POST", f"{self.base_url}/v1beta/models/{job.model}:generateContent",
            headers={"x-goog-api-key": self.api_key}, json=build_request(job),
        )
        meta = {"model_version": payload["modelVersion"]} if payload.get("modelVersion") else {}
        return Result({"image": parse_response(payload)}, meta=meta)

    def close(self) -> None:
        self.http.close()
