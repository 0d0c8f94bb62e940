"""Nano Banana 2 and Nano Banana Pro (Gemini image models) through `generateContent`:

    POST {base}/v1beta/models/<model>:generateContent   x-goog-api-key: <key>
      {"contents": [{"role": "user", "parts": [{"text"}, {"inline_data": {"mime_type", "data"}}…]}],
       "generationConfig": {"responseModalities": ["IMAGE"],
                            "imageConfig": {"aspectRatio", "imageSize"}, "seed"}}
      → {"candidates": [{"content": {"parts": [{"text", "thought": true}, {"inlineData", …}]},
                         "finishReason", "finishMessage"}],
         "promptFeedback": {"blockReason", "blockReasonMessage"}, "modelVersion"}
    errors: {"error": {"code", "message", "status", "details": [RetryInfo, ErrorInfo…]}}

The call is synchronous and answers one image, inline as base64: `submit` returns the result
itself and there is nothing to poll or cancel. `num_images` images are that many requests, sent
at once; each image that arrives is delivered and charged, and the node fails only when none
does. Google bills a generation that answered, so a call whose answer was lost (no answer in
`timeout` seconds, 180 by default: a 4K image can take over a minute) is never retried.
"""

from __future__ import annotations

import base64
import binascii
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from executions.providers.base import Job, OutputFile, Provider, ProviderError, Result
from executions.providers.http import Http, VendorError, output_file, require_key

log = logging.getLogger(__name__)

TIMEOUT = 180.0
# google.rpc status names whose meaning is sharper than the HTTP status they come with.
STATUS_KINDS = {"RESOURCE_EXHAUSTED": "rate_limited", "UNAVAILABLE": "server",
                "DEADLINE_EXCEEDED": "timeout", "UNAUTHENTICATED": "config",
                "PERMISSION_DENIED": "config", "NOT_FOUND": "not_found"}
# Candidate.finishReason, as Google documents them. Content filters: moderated. An answer that
# simply came without an image (the model drew none, or broke off): a retry may work, and no
# image was billed. A refusal for the language: the request itself.
MODERATED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                       "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
                       "MODEL_ARMOR"})
RETRYABLE = frozenset({"NO_IMAGE", "IMAGE_OTHER", "OTHER", "MAX_TOKENS", "MALFORMED_RESPONSE",
                       "FINISH_REASON_UNSPECIFIED", "UNEXPECTED_TOOL_CALL",
                       "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE",
                       "MALFORMED_FUNCTION_CALL"})
# Which error wins when no image of several arrived: the one a user can act on first.
PRECEDENCE = ("config", "not_found", "invalid", "payment", "moderated", "failed", "retryable",
              "rate_limited", "server", "network", "timeout")


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


def build_request(job: Job, index: int = 0) -> dict[str, Any]:
    """The generateContent body for the `index`-th image: the prompt, the reference images
    inline, the image settings. Each image of a `num_images` node gets its own seed."""
    parts: list[dict[str, Any]] = [{"text": job.text("prompt")}]
    for media in job.media("reference_images"):
        parts.append({"inline_data": {"mime_type": media.mime, "data": media.base64()}})
    image_config = {"aspectRatio": job.config.get("aspect_ratio") or "1:1"}
    if job.config.get("image_size"):
        image_config["imageSize"] = job.config["image_size"]
    generation: dict[str, Any] = {"responseModalities": ["IMAGE"], "imageConfig": image_config}
    if job.seed is not None:
        generation["seed"] = (job.seed + index) % 2**31
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": generation}


def parse_response(payload: dict[str, Any]) -> OutputFile:
    """The final image of the answer (a `thought` part is a draft, never the result). Without
    one, the error its promptFeedback / finishReason means (see MODERATED, RETRYABLE)."""
    feedback = payload.get("promptFeedback") or {}
    if feedback.get("blockReason"):
        why = feedback.get("blockReasonMessage") or ""
        raise ProviderError(f"Gemini blocked the prompt ({feedback['blockReason']})"
                            + (f": {why}" if why else ""), kind="moderated")
    reasons: list[str] = []
    kind = "failed"
    for candidate in payload.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if inline and inline.get("data") and not part.get("thought"):
                return _image(inline)
        finish = str(candidate.get("finishReason") or "")
        if finish in MODERATED:
            kind = "moderated"
        elif finish in RETRYABLE and kind != "moderated":
            kind = "retryable"
        elif finish == "LANGUAGE" and kind == "failed":
            kind = "invalid"
        said = candidate.get("finishMessage") or _text(candidate)
        if finish or said:
            reasons.append(": ".join(str(item) for item in (finish, said) if item))
    if not payload.get("candidates"):
        kind = "retryable"
    why = "; ".join(reasons) or "no reason given"
    raise ProviderError(f"Gemini returned no image ({why[:300]})", kind=kind)


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
    return " ".join(part["text"] for part in parts
                    if part.get("text") and not part.get("thought")).strip()[:200]


def _worst(errors: list[ProviderError]) -> ProviderError:
    return min(errors, key=lambda e: PRECEDENCE.index(e.kind) if e.kind in PRECEDENCE
               else len(PRECEDENCE))


class GoogleProvider(Provider):
    alias = "google"
    external = True
    vendor_name = "Gemini"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key = options.get("api_key", "")
        self.base_url = options.get(
            "base_url", "https://generativelanguage.googleapis.com").rstrip("/")
        self.api_version = options.get("api_version", "v1beta")
        self.http = Http(vendor="Gemini", timeout=float(options.get("timeout", TIMEOUT)),
                         describe=describe_error)

    def _url(self, model: str, action: str = "") -> str:
        return f"{self.base_url}/{self.api_version}/models/{model}{action}"

    def _headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key}

    def generate(self, job: Job, index: int = 0) -> tuple[OutputFile, str | None]:
        """One image: its file and the model version that made it."""
        payload = self.http.send_json("POST", self._url(job.model, ":generateContent"),
                                      headers=self._headers(), json=build_request(job, index),
                                      billed_if_lost=True)
        return parse_response(payload), payload.get("modelVersion")

    def submit(self, job: Job) -> Result:
        require_key(self.api_key, env="GEMINI_API_KEY", model=job.model or "Gemini",
                    vendor="Google Gemini")
        wanted = max(1, min(4, int(job.config.get("num_images") or 1)))
        if wanted == 1:
            outcomes: list[Any] = [self._attempt(job, 0)]
        else:
            with ThreadPoolExecutor(max_workers=wanted, thread_name_prefix="gemini") as pool:
                outcomes = list(pool.map(lambda index: self._attempt(job, index),
                                         range(wanted)))
        made = [outcome for outcome in outcomes if not isinstance(outcome, ProviderError)]
        failed = [outcome for outcome in outcomes if isinstance(outcome, ProviderError)]
        if not made:
            raise _worst(failed)
        meta: dict[str, Any] = {"usage": {"images": len(made)}}
        versions = {version for _, version in made if version}
        if versions:
            meta["model_version"] = sorted(versions)[0]
        if failed:
            meta["missing"] = [error.message for error in failed]
            log.info("Gemini delivered %d of %d images: %s", len(made), wanted,
                     "; ".join(meta["missing"]))
        return Result({"image": [file for file, _ in made]}, meta=meta)

    def _attempt(self, job: Job, index: int) -> tuple[OutputFile, str | None] | ProviderError:
        try:
            return self.generate(job, index)
        except ProviderError as error:
            return error

    def model_check(self, model: str) -> str | None:
        """None when the key works and Google knows the model, else what Google said."""
        try:
            self.http.send_json("GET", self._url(model), headers=self._headers())
        except ProviderError as error:
            return error.message
        return None

    def close(self) -> None:
        self.http.close()
