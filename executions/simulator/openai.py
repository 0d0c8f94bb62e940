"""OpenAI-compatible chat completions, as three servers answer them:

    /openai/v1/…            api.openai.com/v1          Authorization: Bearer sk-…
    /openrouter/api/v1/…    openrouter.ai/api/v1       Authorization: Bearer sk-or-v1-<64 hex>
    /compatible/v1/…        a self-hosted server (vLLM, Ollama…): any model id, no key needed

    POST …/chat/completions   GET …/models   GET …/models/<id> (OpenAI)
    GET /openrouter/api/v1/key   GET /openrouter/api/v1/models/<author>/<slug>/endpoints

OpenAI's refusals in its own shape, `{"error": {"message", "type", "param", "code"}}`: a
missing or malformed key 401 (invalid_api_key), an unknown model 404 (model_not_found), an
unknown field, bad messages, roles or content parts, out-of-range settings, json_object mode
without the word "json" in the messages, max_tokens past the model's limit or sent to a
reasoning model, a temperature a reasoning model does not take: 400 invalid_request_error.
OpenRouter answers `{"error": {"code": <status>, "message"}}` (an unknown model is its 400
"… is not a valid model ID"). The answer is deterministic
text derived from the prompt: a brief asking for "N prompts" (or lines, ideas, captions…)
gets N lines, JSON mode valid JSON, images a caption naming their size and colour. Tokens
are counted as words and punctuation marks, so never more than the prompt's bytes.

Steering (any string of the request): sim:429 / sim:500 answer that status, sim:402 is
OpenAI's 429 insufficient_quota (OpenRouter: 402), sim:content-moderated ends the choice with
finish_reason "content_filter" and no text, sim:slow / sim:hang as elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from executions.simulator import keys, media
from executions.simulator.state import SLOW_SECONDS, triggers

if TYPE_CHECKING:
    from executions.simulator.server import Handler

PREFIXES = {"/openai/v1": "openai", "/openrouter/api/v1": "openrouter",
            "/compatible/v1": "compatible"}
TRIGGERED = {"429": 429, "500": 500, "402": 402}
# id → (max completion tokens, takes images, reasoning model, the snapshot it answers as)
MODELS: dict[str, dict[str, tuple[int, bool, bool, str]]] = {
    "openai": {
        "gpt-4.1": (32_768, True, False, "gpt-4.1-2025-04-14"),
        "gpt-4.1-mini": (32_768, True, False, "gpt-4.1-mini-2025-04-14"),
        "gpt-4.1-nano": (32_768, True, False, "gpt-4.1-nano-2025-04-14"),
        "gpt-4o": (16_384, True, False, "gpt-4o-2024-08-06"),
        "gpt-4o-mini": (16_384, True, False, "gpt-4o-mini-2024-07-18"),
        "gpt-5": (128_000, True, True, "gpt-5-2025-08-07"),
        "gpt-5-mini": (128_000, True, True, "gpt-5-mini-2025-08-07"),
        "gpt-5-nano": (128_000, True, True, "gpt-5-nano-2025-08-07"),
    },
    "openrouter": {
        "anthropic/claude-sonnet-4.5": (64_000, True, False, "anthropic/claude-sonnet-4.5"),
        "anthropic/claude-haiku-4.5": (64_000, True, False, "anthropic/claude-haiku-4.5"),
        "google/gemini-2.5-flash": (65_535, True, False, "google/gemini-2.5-flash"),
        "meta-llama/llama-3.3-70b-instruct": (16_384, False, False,
                                              "meta-llama/llama-3.3-70b-instruct"),
    },
}
COMPATIBLE_MAX = 8_192
FIELDS = {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
          "n", "stream", "stream_options", "stop", "presence_penalty", "frequency_penalty",
          "logit_bias", "logprobs", "top_logprobs", "response_format", "seed", "tools",
          "tool_choice", "parallel_tool_calls", "user", "metadata", "store", "reasoning_effort",
          "service_tier", "modalities", "audio", "prediction", "verbosity",
          "web_search_options", "prompt_cache_key", "safety_identifier"}
# OpenRouter takes OpenAI's fields plus its own routing ones.
OPENROUTER_FIELDS = FIELDS | {"transforms", "models", "route", "provider", "reasoning",
                              "usage", "plugins", "top_k", "min_p", "repetition_penalty"}
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
PART_TYPES = ("text", "image_url", "input_audio", "refusal", "audio", "file")
OPENAI_KEY = re.compile(r"sk-[A-Za-z0-9_-]{20,}")
MESSAGES = {429: "Rate limit reached for requests. Please try again in 1s.",
            500: "The server had an error while processing your request. Sorry about that!",
            503: "The engine is currently overloaded, please try again later."}


class Invalid(Exception):
    """A request OpenAI refuses with 400 invalid_request_error."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None,
                 status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def flavour_of(path: str) -> tuple[str, str]:
    """("openai" | "openrouter" | "compatible", the path below its /v1)."""
    for prefix, flavour in PREFIXES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return flavour, path[len(prefix):]
    return "openai", path


def fail(h: Handler, status: int, message: str | None = None, *, param: str | None = None,
         code: str | None = None, kind: str | None = None) -> None:
    flavour, _ = flavour_of(h.path.split("?", 1)[0])
    message = message or MESSAGES.get(status, "Simulated failure")
    headers = {"Retry-After": "1"} if status == 429 else {}
    if flavour == "openrouter":
        return h.reply(status, {"error": {"code": status, "message": message}}, headers=headers)
    if status == 402:  # OpenAI has no 402: an exhausted balance is a 429 insufficient_quota
        return h.reply(429, {"error": {
            "message": "You exceeded your current quota, please check your plan and billing "
                       "details.", "type": "insufficient_quota", "param": None,
            "code": "insufficient_quota"}})
    if kind is None:
        kind = {429: "requests", 500: "server_error", 503: "server_error"}.get(
            status, "invalid_request_error")
    if status == 429 and code is None:
        code = "rate_limit_exceeded"
    h.reply(status, {"error": {"message": message, "type": kind, "param": param,
                               "code": code}}, headers=headers)


def _masked(key: str) -> str:
    return f"{key[:8]}{'*' * 12}{key[-4:]}" if len(key) > 12 else key


def authorise(h: Handler, query: dict[str, list[str]]) -> bool:
    flavour, _ = flavour_of(h.path.split("?", 1)[0])
    header = h.headers.get("Authorization") or ""
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if flavour == "compatible":
        return True  # a self-hosted server: no key asked for, any key taken
    if flavour == "openrouter":
        if not key:
            fail(h, 401, "No auth credentials found")
            return False
        if not keys.well_formed("openrouter", key):
            fail(h, 401, "User not found.")
            return False
        return True
    if not key:
        fail(h, 401, "You didn't provide an API key. You need to provide your API key in an "
                     "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                     "YOUR_KEY), or as the password field (with blank username) if you're "
                     "accessing the API from your browser and are prompted for a username and "
                     "password. You can obtain an API key from "
                     "https://platform.openai.com/account/api-keys.")
        return False
    if not keys.well_formed("openai", key):
        fail(h, 401, f"Incorrect API key provided: {_masked(key)}. You can find your API key "
                     "at https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        return False
    return True


def route(h: Handler, method: str, path: str, query: dict[str, list[str]]) -> None:
    flavour, rest = flavour_of(path)
    if method == "GET" and rest == "/models":
        return h.reply(200, {"object": "list", "data": [
            _model(name, flavour) for name in MODELS.get(flavour, {})]})
    if flavour == "openrouter" and method == "GET" and rest == "/key":
        return h.reply(200, {"data": {"label": "sk-or-v1-5e1…", "usage": 0, "limit": None,
                                      "is_free_tier": False}})
    if flavour == "openrouter" and method == "GET" and rest.startswith("/models/"):
        # OpenRouter looks a model up by its endpoints: /models/<author>/<slug>/endpoints.
        name = rest[len("/models/"):].removesuffix("/endpoints")
        if rest.endswith("/endpoints") and name in MODELS["openrouter"]:
            return h.reply(200, {"data": {"id": name, "name": name, "endpoints": [
                {"name": name, "context_length": 200_000,
                 "max_completion_tokens": MODELS["openrouter"][name][0]}]}})
        return fail(h, 404, "Model not found")
    if method == "GET" and rest.startswith("/models/"):
        name = rest[len("/models/"):]
        if flavour == "compatible" or name in MODELS[flavour]:
            return h.reply(200, _model(name, flavour))
        return fail(h, 404, f"The model '{name}' does not exist", param="model",
                    code="model_not_found")
    if rest != "/chat/completions":
        return fail(h, 404, f"Invalid URL ({method} {rest})")
    if method != "POST":
        return fail(h, 405, f"Invalid method for URL ({method} {rest})")
    try:
        request = check(flavour, h.body)
    except Invalid as exc:
        return fail(h, exc.status, exc.message, param=exc.param, code=exc.code)
    complete(h, flavour, request)


def _model(name: str, flavour: str) -> dict[str, Any]:
    owner = name.split("/", 1)[0] if "/" in name else "openai" if flavour == "openai" else \
        "system"
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": owner}


# --- reading the request -----------------------------------------------------------------------
def _number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"Invalid type for '{name}': expected a decimal, but got "
                      f"{type(value).__name__} instead.", name, "invalid_type")
    if value < low:
        raise Invalid(f"Invalid '{name}': decimal below minimum value. Expected a value >= "
                      f"{low:g}, but got {value} instead.", name, "decimal_below_min_value")
    if value > high:
        raise Invalid(f"Invalid '{name}': decimal above maximum value. Expected a value <= "
                      f"{high:g}, but got {value} instead.", name, "decimal_above_max_value")
    return float(value)


def _integer(body: dict, name: str, low: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"Invalid type for '{name}': expected an integer, but got "
                      f"{type(value).__name__} instead.", name, "invalid_type")
    if value < low:
        raise Invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= "
                      f"{low}, but got {value} instead.", name, "integer_below_min_value")
    return value


def check(flavour: str, body: Any) -> dict[str, Any]:
    """What the model is asked, or Invalid in OpenAI's words."""
    if not isinstance(body, dict):
        raise Invalid("We could not parse the JSON body of your request. (HINT: This likely "
                      "means you aren't using your HTTP library correctly. The OpenAI API "
                      "expects a JSON payload, but what was sent was not valid JSON.)")
    fields = OPENROUTER_FIELDS if flavour == "openrouter" else FIELDS
    for name in body:
        if name not in fields and flavour != "compatible":
            raise Invalid(f"Unrecognized request argument supplied: {name}")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Invalid("you must provide a model parameter")
    if flavour == "compatible":
        spec = (COMPATIBLE_MAX, True, False, model)
    elif model not in MODELS[flavour] and flavour == "openrouter":
        raise Invalid(f"{model} is not a valid model ID")  # OpenRouter: a 400
    elif model not in MODELS[flavour]:
        raise Invalid(f"The model `{model}` does not exist or you do not have access to it.",
                      None, "model_not_found", status=404)
    else:
        spec = MODELS[flavour][model]
    max_output, vision, reasoning, snapshot = spec
    messages = body.get("messages")
    if messages is None:
        raise Invalid("Missing required parameter: 'messages'.", "messages",
                      "missing_required_parameter")
    if not isinstance(messages, list):
        raise Invalid(f"Invalid type for 'messages': expected an array, but got "
                      f"{type(messages).__name__} instead.", "messages", "invalid_type")
    if not messages:
        raise Invalid("Invalid 'messages': empty array. Expected an array with minimum length "
                      "1, but got an empty array instead.", "messages", "empty_array")
    texts: list[tuple[str, str]] = []  # (role, text)
    images: list[tuple[int, int, str]] = []  # (width, height, detail)
    for m, message in enumerate(messages):
        where = f"messages[{m}]"
        if not isinstance(message, dict):
            raise Invalid(f"Invalid type for '{where}': expected an object, but got "
                          f"{type(message).__name__} instead.", where, "invalid_type")
        role = message.get("role")
        if role is None:
            raise Invalid(f"Missing required parameter: '{where}.role'.", f"{where}.role",
                          "missing_required_parameter")
        if role not in ROLES:
            supported = ", ".join(f"'{r}'" for r in ROLES[:-1]) + f", and '{ROLES[-1]}'"
            raise Invalid(f"Invalid value: {json.dumps(role)}. Supported values are: "
                          f"{supported}.", f"{where}.role", "invalid_value")
        content = message.get("content")
        if content is None and role != "assistant":
            raise Invalid(f"Missing required parameter: '{where}.content'.",
                          f"{where}.content", "missing_required_parameter")
        if isinstance(content, str):
            texts.append((role, content))
            continue
        if not isinstance(content, list):
            raise Invalid(f"Invalid type for '{where}.content': expected one of a string or "
                          f"array of objects, but got {type(content).__name__} instead.",
                          f"{where}.content", "invalid_type")
        for p, part in enumerate(content):
            at = f"{where}.content[{p}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in PART_TYPES:
                supported = ", ".join(f"'{t}'" for t in PART_TYPES[:-1]) + \
                    f", and '{PART_TYPES[-1]}'"
                raise Invalid(f"Invalid value: {json.dumps(kind)}. Supported values are: "
                              f"{supported}.", f"{at}.type", "invalid_value")
            if kind == "text":
                if not isinstance(part.get("text"), str):
                    raise Invalid(f"Missing required parameter: '{at}.text'.", f"{at}.text",
                                  "missing_required_parameter")
                texts.append((role, part["text"]))
            elif kind == "image_url":
                if role != "user":
                    raise Invalid(f"Invalid '{where}'. Image URLs are only allowed for messages "
                                  f"with role 'user', but this message with role '{role}' "
                                  "contains an image URL.", where, "invalid_value")
                if not vision:
                    raise Invalid("Invalid content type. image_url is only supported by "
                                  "certain models.", f"{at}.type")
                images.append(_image(part.get("image_url"), at))
            else:
                raise Invalid(f"The simulator does not take '{kind}' parts.", f"{at}.type",
                              "invalid_value")
    response_format = body.get("response_format")
    mode = "text"
    if response_format is not None:
        mode = response_format.get("type") if isinstance(response_format, dict) else None
        if mode not in ("text", "json_object", "json_schema"):
            raise Invalid(f"Invalid value: {json.dumps(mode)}. Supported values are: 'text', "
                          "'json_object', and 'json_schema'.", "response_format.type",
                          "invalid_value")
        if mode == "json_object" and not any("json" in text.lower() for _, text in texts):
            raise Invalid("'messages' must contain the word 'json' in some form, to use "
                          "'response_format' of type 'json_object'.", "messages")
    max_tokens = _integer(body, "max_tokens", 1)
    max_completion = _integer(body, "max_completion_tokens", 1)
    if reasoning and max_tokens is not None:
        raise Invalid("Unsupported parameter: 'max_tokens' is not supported with this model. "
                      "Use 'max_completion_tokens' instead.", "max_tokens",
                      "unsupported_parameter")
    limit = max_completion if max_completion is not None else max_tokens
    if limit is not None and limit > max_output:
        name = "max_completion_tokens" if max_completion is not None else "max_tokens"
        raise Invalid(f"{name} is too large: {limit}. This model supports at most {max_output} "
                      f"completion tokens, whereas you provided {limit}.", name,
                      "invalid_value")
    temperature = _number(body, "temperature", 0, 2)
    if reasoning and temperature is not None and temperature != 1:
        raise Invalid(f"Unsupported value: 'temperature' does not support {body['temperature']}"
                      " with this model. Only the default (1) value is supported.",
                      "temperature", "unsupported_value")
    _number(body, "top_p", 0, 1)
    n = _integer(body, "n", 1) or 1
    if n > 8:
        raise Invalid(f"Invalid 'n': integer above maximum value. Expected a value <= 8, but "
                      f"got {n} instead.", "n", "integer_above_max_value")
    if body.get("stream"):
        raise Invalid("The simulator does not stream; send stream: false.", "stream")
    seed = _integer(body, "seed", -2**63) or 0
    return {"model": model, "snapshot": snapshot, "texts": texts, "images": images,
            "mode": mode, "limit": limit or max_output, "reasoning": reasoning, "n": n,
            "seed": seed, "messages": len(messages)}


def _image(value: Any, at: str) -> tuple[int, int, str]:
    if not isinstance(value, dict) or not isinstance(value.get("url"), str):
        raise Invalid(f"Missing required parameter: '{at}.image_url.url'.",
                      f"{at}.image_url.url", "missing_required_parameter")
    detail = value.get("detail") or "auto"
    if detail not in ("auto", "low", "high"):
        raise Invalid(f"Invalid value: {json.dumps(detail)}. Supported values are: 'auto', "
                      "'low', and 'high'.", f"{at}.image_url.detail", "invalid_value")
    try:
        width, height = media.image_size(value["url"]) if value["url"].startswith("data:") \
            else (_not_fetched(at))
    except ValueError:
        raise Invalid("You uploaded an unsupported image. Please make sure your image has of "
                      "one the following formats: ['png', 'jpeg', 'gif', 'webp'].",
                      f"{at}.image_url", "invalid_image_format") from None
    return width, height, detail


def _not_fetched(at: str) -> tuple[int, int]:
    raise Invalid("The simulator fetches no image URLs; send a data: URI.", f"{at}.image_url.url",
                  "invalid_image_url")


# --- answering ---------------------------------------------------------------------------------
WORD = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> int:
    """Words and punctuation marks: each at least one character, so at most the bytes."""
    return len(WORD.findall(text))


def image_tokens(width: int, height: int, detail: str) -> int:
    """OpenAI's tile rule: 85, plus 170 per 512-pixel tile of the image scaled to fit 2048
    and then to 768 on its short side (85 alone at low detail)."""
    if detail == "low":
        return 85
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    width, height = width * scale, height * scale
    return 85 + 170 * (-(-int(width) // 512)) * (-(-int(height) // 512))


NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
COUNTED = re.compile(r"\b(\d{1,2}|" + "|".join(NUMBERS) + r")\s+(?:[\w-]+\s+){0,3}?"
                     r"(prompts?|lines?|ideas?|captions?|variations?|shots?|scenes?|styles?|"
                     r"taglines?|titles?)\b", re.I)
STYLES = ("cinematic lighting", "soft morning light", "golden hour glow", "studio backdrop",
          "shallow depth of field", "wide-angle composition", "moody colour grade",
          "high-key minimalism", "35mm film grain", "dramatic rim light", "pastel palette",
          "bold graphic shapes")


_VERB = (r"^(?:(?:please|now|then)\s+)*(?:write|give me|make|create|generate|enhance|improve|"
         r"rewrite|describe|expand|turn)\b")
# "Enhance this prompt for FLUX: <subject>" (the colon first), else "Write a caption for <…>".
LEADS = (re.compile(_VERB + r"[^:\n]*:\s*", re.I),
         re.compile(_VERB + r"[^:\n]*?\b(?:for|of|about|on|into)\b\s*", re.I))


def _subject(text: str, after: int = 0) -> str:
    """What the prompt is about: the words after "N prompts for…" (or after the request's
    leading verb: "Enhance this prompt: …"), without steering marks, at most 16 words."""
    rest = re.sub(r"sim:[\w-]+", "", text[after:]).strip()
    if after:
        rest = re.sub(r"^(?:for|of|about|on|showing|with)\b\s*", "", rest, flags=re.I)
    else:
        for lead in LEADS:
            if lead.match(rest):
                rest = lead.sub("", rest, count=1)
                break
    words = rest.replace("\n", " ").split()[:16]
    return " ".join(words).strip(" .,:;") or "a quiet scene"


def _pick(seed_text: str, count: int) -> list[str]:
    digest = hashlib.sha256(seed_text.encode()).digest()
    start = digest[0] % len(STYLES)
    return [STYLES[(start + 5 * i) % len(STYLES)] for i in range(count)]


def answer_text(request: dict[str, Any], index: int = 0) -> str:
    user = " ".join(text for role, text in request["texts"] if role == "user")
    every = " ".join(text for _, text in request["texts"])
    key = f"{every}|{request['seed']}|{index}"
    counted = COUNTED.search(user or every)
    subject = _subject(user or every, counted.end() if counted else 0)
    count = min(50, int(counted.group(1)) if counted and counted.group(1).isdigit() else
                NUMBERS.get(counted.group(1).lower(), 1) if counted else 0)
    if request["images"]:
        captions = [_caption(width, height, n) for n, (width, height, _) in
                    enumerate(request["images"], 1)]
        body = " ".join(captions)
        if request["mode"] != "text":
            return json.dumps({"caption": body, "subject": subject})
        return body
    if count:
        lines = [f"{subject}, {style}" for style in _pick(key, count)]
        if request["mode"] != "text":
            return json.dumps({"prompts": lines})
        return "\n".join(lines)
    styles = _pick(key, 3)
    text = f"{subject[:1].upper()}{subject[1:]}, {styles[0]}, {styles[1]}, rendered in rich " \
           f"detail with {styles[2]}."
    if request["mode"] != "text":
        return json.dumps({"prompt": text, "subject": subject})
    return text


def _caption(width: int, height: int, n: int) -> str:
    shape = "landscape" if width > height else "portrait" if height > width else "square"
    return f"Image {n}: a {shape} picture, {width}×{height} pixels."


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """The text cut to `limit` tokens, and whether it was cut."""
    found = list(WORD.finditer(text))
    if len(found) <= limit:
        return text, False
    return text[:found[limit - 1].end()], True


def complete(h: Handler, flavour: str, request: dict[str, Any]) -> None:
    marks = triggers(h.body)
    if h.refuse_submission("openai", marks):
        return
    h.state.count(f"{flavour}.chat")
    time.sleep(SLOW_SECONDS if "slow" in marks else min(h.state.latency, 0.2))
    prompt_tokens = sum(tokens(text) for _, text in request["texts"]) + \
        3 * request["messages"] + 3 + sum(image_tokens(*image) for image in request["images"])
    choices, completion_tokens, reasoning_tokens = [], 0, 0
    for index in range(request["n"]):
        budget = request["limit"]
        thought = min(64, budget // 4) if request["reasoning"] else 0
        if "content-moderated" in marks:
            text, finish = "", "content_filter"
        else:
            text, cut = _cut(answer_text(request, index), max(0, budget - thought))
            finish = "length" if cut else "stop"
        reasoning_tokens += thought
        completion_tokens += thought + tokens(text)
        choices.append({"index": index, "message": {"role": "assistant", "content": text,
                                                    "refusal": None, "annotations": []},
                        "logprobs": None, "finish_reason": finish})
    answer = {
        "id": f"chatcmpl-{secrets.token_urlsafe(21)}", "object": "chat.completion",
        "created": int(time.time()), "model": request["snapshot"], "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": reasoning_tokens,
                                                "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_sim0001",
    }
    if flavour == "openrouter":
        answer["provider"] = request["model"].split("/", 1)[0].title()
    h.reply(200, answer)
