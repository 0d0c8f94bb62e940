"""Gemini image models (Nano Banana 2 and Pro) as generativelanguage.googleapis.com answers:

    POST /{v1,v1beta}/models/<model>:generateContent   x-goog-api-key: AIza… (or ?key=)
    GET  /{v1,v1beta}/models/<model>    GET /{v1,v1beta}/models

Field names are read in camelCase or snake_case, as Google's JSON mapping does; an unknown
field, a bad aspect ratio or image size, several candidates or missing contents are a 400
INVALID_ARGUMENT, an unknown or retired model a 404 NOT_FOUND, all in google.rpc's error shape.
The answer is synchronous: the wait before it *is* the job.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import TYPE_CHECKING, Any

from executions.simulator import keys, media
from executions.simulator.state import SLOW_SECONDS, triggers

if TYPE_CHECKING:
    from executions.simulator.server import Handler

TRIGGERED = {"429": 429, "500": 500}  # Google never answers 402
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
          404: "NOT_FOUND", 405: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
          503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
MESSAGES = {429: "Resource has been exhausted (e.g. check quota).",
            500: "An internal error has occurred. Please retry or report in "
                 "https://developers.generativeai.google/guide/troubleshooting",
            503: "The model is overloaded. Please try again later.",
            504: "Deadline expired before operation could complete."}
MAX_IMAGES = 14
BASE_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
MODELS: dict[str, dict[str, Any]] = {
    "gemini-3.1-flash-image": {
        "displayName": "Nano Banana 2", "sizes": ("512", "1K", "2K", "4K"),
        "ratios": BASE_RATIOS + ("1:4", "1:8", "4:1", "8:1"),
        "tokens": {"512": 560, "1K": 1120, "2K": 1680, "4K": 2520}},
    "gemini-3-pro-image": {
        "displayName": "Nano Banana Pro", "sizes": ("1K", "2K", "4K"), "ratios": BASE_RATIOS,
        "tokens": {"1K": 1120, "2K": 1120, "4K": 2000}},
}
# Fields Google's JSON parser knows at each level (camelCase; snake_case is folded to it).
REQUEST_FIELDS = {"contents", "tools", "toolConfig", "safetySettings", "systemInstruction",
                  "generationConfig", "cachedContent", "model"}
GENERATION_FIELDS = {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
                     "responseModalities", "candidateCount", "maxOutputTokens", "temperature",
                     "topP", "topK", "seed", "presencePenalty", "frequencyPenalty",
                     "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers",
                     "speechConfig", "thinkingConfig", "imageConfig", "mediaResolution"}
IMAGE_FIELDS = {"aspectRatio", "imageSize"}
THINKING_FIELDS = {"includeThoughts", "thinkingBudget", "thinkingLevel"}


class Invalid(Exception):
    """A request Google refuses with 400 INVALID_ARGUMENT."""


def fail(h: Handler, status: int, message: str | None = None,
         details: list[dict] | None = None) -> None:
    error: dict[str, Any] = {"code": status, "message": message or MESSAGES.get(
        status, "Simulated failure"), "status": STATUS.get(status, "UNKNOWN")}
    headers = {}
    if status == 429:
        details = [*(details or []), {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                      "retryDelay": "1s"}]
        headers["Retry-After"] = "1"
    if details:
        error["details"] = details
    h.reply(status, {"error": error}, headers=headers)


def authorise(h: Handler, query: dict[str, list[str]]) -> bool:
    key = h.headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
    if not key:
        fail(h, 403, "Method doesn't allow unregistered callers (callers without established "
                     "identity). Please use API Key or other form of API consumer identity to "
                     "call this API.")
        return False
    if not keys.well_formed("google", key):
        message = "API key not valid. Please pass a valid API key."
        fail(h, 400, message, [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": message}])
        return False
    return True


def route(h: Handler, method: str, path: str, query: dict[str, list[str]]) -> None:
    version, _, rest = path.strip("/").partition("/")
    name, _, action = rest.removeprefix("models").strip("/").partition(":")
    if method == "GET" and not action and rest == "models":
        return h.reply(200, {"models": [describe(model) for model in MODELS]})
    verb = action or "get"
    if name not in MODELS or name in h.state.retired or (method, verb) not in (("GET", "get"),
                                                    ("POST", "generateContent")):
        return fail(h, 404, f"models/{name} is not found for API version {version}, or is not "
                            f"supported for {verb}. Call ListModels to see the list of "
                            "available models and their supported methods.")
    if verb == "get":
        return h.reply(200, describe(name))
    try:
        request = check(name, h.body)
    except Invalid as exc:
        return fail(h, 400, str(exc))
    generate(h, name, request)


def describe(name: str) -> dict[str, Any]:
    return {"name": f"models/{name}", "version": "3.0", "displayName": MODELS[name]["displayName"],
            "description": f"{MODELS[name]['displayName']} (simulated)",
            "inputTokenLimit": 65536, "outputTokenLimit": 32768,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "temperature": 1.0, "topP": 0.95, "maxTemperature": 2.0, "thinking": True}


# --- reading the request -----------------------------------------------------------------------
def camel(value: Any) -> Any:
    """Keys folded to camelCase (inline_data → inlineData), as Google's JSON mapping accepts."""
    if isinstance(value, dict):
        return {_camel(key): camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


def _camel(key: str) -> str:
    head, *tail = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in tail)


def known(obj: Any, fields: set[str], where: str) -> dict:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise Invalid(f"Invalid JSON payload received. Expected an object at '{where}'.")
    for key in obj:
        if key not in fields:
            at = f" at '{where}'" if where else ""
            raise Invalid(f'Invalid JSON payload received. Unknown name "{key}"{at}: '
                          "Cannot find field.")
    return obj


def check(name: str, raw: Any) -> dict[str, Any]:
    """What the model will make, or Invalid with Google's wording."""
    if not isinstance(raw, dict):
        raise Invalid("Invalid JSON payload received. Expected an object.")
    body = known(camel(raw), REQUEST_FIELDS, "")
    spec = MODELS[name]
    config = known(body.get("generationConfig"), GENERATION_FIELDS, "generation_config")
    image = known(config.get("imageConfig"), IMAGE_FIELDS, "generation_config.image_config")
    thinking = known(config.get("thinkingConfig"), THINKING_FIELDS,
                     "generation_config.thinking_config")
    contents = body.get("contents")
    if not contents:
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    texts, images = [], 0
    for c, content in enumerate(contents):
        parts = content.get("parts") if isinstance(content, dict) else None
        if not parts:
            raise Invalid(f"* GenerateContentRequest.contents[{c}].parts: contents.parts must "
                          "not be empty.")
        for p, part in enumerate(parts):
            if part.get("text"):
                texts.append(part["text"])
            inline = part.get("inlineData")
            if inline is not None:
                images += 1
                _check_inline(inline, f"contents[{c}].parts[{p}].inline_data")
    if images > MAX_IMAGES:
        raise Invalid(f"Too many input images: {images}; {name} takes at most {MAX_IMAGES}.")
    if int(config.get("candidateCount") or 1) > 1:
        raise Invalid(f"Multiple candidates is not enabled for models/{name}")
    modalities = config.get("responseModalities") or ["TEXT", "IMAGE"]
    if any(m not in ("TEXT", "IMAGE") for m in modalities):
        raise Invalid(f"The requested combination of response modalities ({', '.join(modalities)})"
                      f" is not supported by the model {name}.")
    ratio, size = image.get("aspectRatio") or "1:1", image.get("imageSize") or "1K"
    if ratio not in spec["ratios"]:
        raise Invalid(f"* GenerateContentRequest.generation_config.image_config.aspect_ratio: "
                      f"unsupported value {ratio!r}; {name} supports {', '.join(spec['ratios'])}")
    if size not in spec["sizes"]:
        raise Invalid(f"* GenerateContentRequest.generation_config.image_config.image_size: "
                      f"unsupported value {size!r}; {name} supports {', '.join(spec['sizes'])}")
    return {"prompt": " ".join(texts), "images": images, "ratio": ratio, "size": size,
            "image": "IMAGE" in modalities, "thoughts": bool(thinking.get("includeThoughts")),
            "seed": int(config.get("seed") or 0)}


def _check_inline(inline: Any, where: str) -> None:
    if not isinstance(inline, dict) or not inline.get("mimeType"):
        raise Invalid(f"* GenerateContentRequest.{where}.mime_type: mime_type is not specified")
    data = str(inline.get("data") or "")
    try:  # Google's JSON accepts standard and URL-safe base64 for bytes
        base64.b64decode(data.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed "
                      f'for "{data[:20]}…"') from exc
    if not str(inline["mimeType"]).startswith("image/"):
        raise Invalid(f"Unsupported MIME type: {inline['mimeType']}")


# --- answering ---------------------------------------------------------------------------------
def generate(h: Handler, name: str, request: dict[str, Any]) -> None:
    marks = triggers(h.body)
    if h.refuse_submission("google", marks):
        return
    h.state.count("google.submit")
    time.sleep(SLOW_SECONDS if "slow" in marks else h.state.latency)
    spec = MODELS[name]
    usage = {"promptTokenCount": len(request["prompt"].split()) + 258 * request["images"],
             "candidatesTokenCount": 0, "thoughtsTokenCount": 0}
    answer: dict[str, Any] = {"modelVersion": name, "responseId": secrets.token_urlsafe(16)}
    if "request-moderated" in marks:
        return h.reply(200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                             "usageMetadata": total(usage), **answer})
    if marks & {"content-moderated", "error"}:
        reason = "IMAGE_SAFETY" if "content-moderated" in marks else "NO_IMAGE"
        return h.reply(200, {"candidates": [{
            "finishReason": reason, "index": 0,
            "finishMessage": f"Simulated {reason}: no image was generated."}],
            "usageMetadata": total(usage), **answer})
    parts: list[dict[str, Any]] = []
    if request["thoughts"]:
        parts.append({"text": f"**Composing the image**\n\nLaying out {request['prompt'][:80]!r}"
                              f" at {request['ratio']}.", "thought": True})
        if request["image"]:
            draft = media.gemini_size(request["ratio"], "512")
            parts.append({"inlineData": png(request, *draft, "draft"), "thought": True})
        usage["thoughtsTokenCount"] = 240
    if "text-only" in marks or not request["image"]:
        parts.append({"text": "Here is a description instead of an image: a simulated scene."})
        usage["candidatesTokenCount"] = 12
    else:
        width, height = media.gemini_size(request["ratio"], request["size"])
        parts.append({"inlineData": png(request, width, height, ""),
                      "thoughtSignature": base64.b64encode(secrets.token_bytes(24)).decode()})
        usage["candidatesTokenCount"] = spec["tokens"][request["size"]]
    h.reply(200, {"candidates": [{"content": {"role": "model", "parts": parts},
                                  "finishReason": "STOP", "index": 0}],
                  "usageMetadata": total(usage), **answer})


def png(request: dict[str, Any], width: int, height: int, tag: str) -> dict[str, str]:
    image = media.picture(f"{tag} {request['prompt']}".strip(), width, height,
                          seed=request["seed"])
    data, mime = media.encode(image, "png")
    return {"mimeType": mime, "data": base64.b64encode(data).decode()}


def total(usage: dict[str, int]) -> dict[str, Any]:
    usage = {key: value for key, value in usage.items() if value}
    return {**usage, "totalTokenCount": sum(usage.values())}
