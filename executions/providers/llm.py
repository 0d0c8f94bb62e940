"""`llm:chat` through OpenAI's chat completions protocol, on OpenAI, OpenRouter or any
compatible server:

    POST {base_url}/chat/completions   Authorization: Bearer <key>
      {"model", "messages": [{"role": "system", "content"},
                             {"role": "user", "content": "…" | [{"type": "text", "text"},
                                                  {"type": "image_url", "image_url": {"url"}}]}],
       "max_completion_tokens" (OpenAI) | "max_tokens", "temperature", "seed",
       "response_format": {"type": "json_object"}}
      → {"id", "object": "chat.completion", "model",
         "choices": [{"message": {"role", "content", "refusal"}, "finish_reason"}],
         "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}
    errors: {"error": {"message", "type", "param", "code"}} (OpenRouter: {"error": {"code",
            "message"}})

The model setting picks the endpoint (graph.catalog.llm.MODELS: its vendor). The call is
synchronous: `submit` returns the answer and there is nothing to poll. The compatible server's
base URL is the operator's (LLM_BASE_URL) and is reached through the outbound SSRF guard, as
user-given URLs are: a private or loopback address only with LLM_ALLOW_PRIVATE.

The charge is the tokens `usage` reports, each held to what the request could have used
(graph.catalog.llm.chat_ceiling: what the estimate quoted), so it never exceeds the quote.
"""

from __future__ import annotations

from typing import Any

from executions.providers.base import Job, Provider, ProviderError, Result
from executions.providers.http import Http, VendorError, require_key
from graph.catalog.llm import (
    MAX_IMAGES,
    MAX_INPUT_BYTES,
    ChatModel,
    chat_ceiling,
    chat_model,
    chat_texts,
)
from wireflow_site.net import PrivateAddress, outbound_client

TIMEOUT = 120.0
VENDOR_NAMES = {"openai": "OpenAI", "openrouter": "OpenRouter",
                "compatible": "the compatible LLM server"}
KEY_ENVS = {"openai": "OPENAI_API_KEY", "openrouter": "OPENROUTER_API_KEY",
            "compatible": "LLM_API_KEY"}
# OpenAI error codes that say more than their status: an exhausted balance comes as a 429
# that no retry fixes; a refused key or a missing model are final.
CODE_KINDS = {"insufficient_quota": "payment", "invalid_api_key": "config",
              "model_not_found": "not_found", "content_policy_violation": "moderated"}


def describe_error(status: int, body: Any) -> VendorError:
    """OpenAI's `{"error": {message, type, param, code}}`, OpenRouter's `{"error": {code,
    message, metadata}}`, or text."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or f"HTTP {status}")
        code = error.get("code") if isinstance(error.get("code"), str) else None
        kind = CODE_KINDS.get(code or "") or CODE_KINDS.get(str(error.get("type") or ""))
        if status == 403 and "moderat" in message.lower():  # OpenRouter's moderation refusal
            kind = "moderated"
        param = error.get("param")
        where = f" ({param})" if isinstance(param, str) and param else ""
        return VendorError(f"{message}{where}"[:500], kind=kind)
    text = body if isinstance(body, str) else str(body or "")
    return VendorError(text.strip()[:500] or f"HTTP {status}")


def build_request(model: ChatModel, config: dict[str, Any], system: str, user: str,
                  images: list[str], seed: int | None = None) -> dict[str, Any]:
    """The chat completions body. OpenAI bounds the answer with max_completion_tokens (its
    reasoning models refuse max_tokens); OpenRouter and compatible servers read max_tokens.
    Reasoning models take only their default temperature, so none is sent."""
    content: str | list[dict[str, Any]] = user
    if images:
        content = [{"type": "text", "text": user}] + [
            {"type": "image_url", "image_url": {"url": uri}} for uri in images]
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": content}]
    body: dict[str, Any] = {"model": model.model_id, "messages": messages}
    limit = config.get("max_tokens")
    if isinstance(limit, int):
        body["max_completion_tokens" if model.vendor == "openai" else "max_tokens"] = limit
    temperature = config.get("temperature")
    if isinstance(temperature, (int, float)) and not model.reasoning:
        body["temperature"] = temperature
    if seed is not None:
        body["seed"] = seed
    if config.get("json_mode"):
        body["response_format"] = {"type": "json_object"}
    return body


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_response(payload: dict[str, Any], *, vendor: str,
                   ceiling: tuple[int, int]) -> tuple[str, dict[str, int]]:
    """The answer's text and the usage to charge (each count held to `ceiling`); the error
    the answer means when it has no text."""
    choices = payload.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and \
        isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    finish = choice.get("finish_reason")
    text = message.get("content")
    if finish == "content_filter":
        raise ProviderError(f"{vendor}'s content filter stopped the answer", kind="moderated")
    if message.get("refusal"):
        raise ProviderError(f"{vendor}'s model refused: {str(message['refusal'])[:300]}",
                            kind="moderated")
    if not isinstance(text, str) or not text.strip():
        if finish == "length":
            raise ProviderError(f"{vendor}'s model used every token of max tokens before "
                                "writing an answer (reasoning models think first): raise "
                                "Max tokens", kind="invalid")
        raise ProviderError(f"{vendor} answered without text (finish_reason "
                            f"{finish!r})", kind="retryable")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return text, {"prompt_tokens": min(_count(usage.get("prompt_tokens")), ceiling[0]),
                  "completion_tokens": min(_count(usage.get("completion_tokens")), ceiling[1])}


class LlmProvider(Provider):
    alias = "llm"
    external = True
    vendor_name = "the LLM vendor"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.endpoints: dict[str, dict[str, str]] = {
            vendor: {"base_url": str(endpoint.get("base_url") or "").rstrip("/"),
                     "api_key": str(endpoint.get("api_key") or "")}
            for vendor, endpoint in (options.get("endpoints") or {}).items()}
        self.allow_private = bool(options.get("allow_private", False))
        self.timeout = float(options.get("timeout", TIMEOUT))
        self.http = {vendor: Http(vendor=VENDOR_NAMES.get(vendor, vendor),
                                  timeout=self.timeout, describe=describe_error)
                     for vendor in ("openai", "openrouter")}

    def _endpoint(self, model: ChatModel) -> dict[str, str]:
        endpoint = self.endpoints.get(model.vendor) or {}
        if model.vendor == "compatible":
            if not endpoint.get("base_url"):
                raise ProviderError("LLM_BASE_URL is not set: the custom model needs the base "
                                    "URL of an OpenAI-compatible server (e.g. "
                                    "http://gpu-box:8000/v1)", kind="config")
        else:
            require_key(endpoint.get("api_key", ""), env=KEY_ENVS[model.vendor],
                        model=model.model_id, vendor=VENDOR_NAMES[model.vendor])
        return endpoint

    def _headers(self, endpoint: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {endpoint['api_key']}"} if endpoint.get("api_key") \
            else {}

    def _post(self, model: ChatModel, endpoint: dict[str, str], body: dict[str, Any]
              ) -> dict[str, Any]:
        url = f"{endpoint['base_url']}/chat/completions"
        if model.vendor != "compatible":
            return self.http[model.vendor].send_json("POST", url, headers=self._headers(
                endpoint), json=body, billed_if_lost=True)
        # The operator's own server: reached through the SSRF guard, one deadline per call.
        http = Http(vendor=VENDOR_NAMES["compatible"], timeout=self.timeout,
                    describe=describe_error,
                    client=outbound_client(allow_private=self.allow_private,
                                           timeout=self.timeout))
        try:
            return http.send_json("POST", url, headers=self._headers(endpoint), json=body,
                                  billed_if_lost=True)
        except PrivateAddress as refused:
            raise ProviderError(f"Refusing to call LLM_BASE_URL {endpoint['base_url'][:200]}: "
                                f"{refused} (set LLM_ALLOW_PRIVATE=1 for a server on your own "
                                "network)", kind="config") from refused
        finally:
            http.close()

    def submit(self, job: Job) -> Result:
        model = chat_model(job.config)
        if model is None:
            raise ProviderError(f"Unknown model {job.config.get('model')!r}", kind="invalid")
        endpoint = self._endpoint(model)
        prompt = [v for v in job.inputs.get("prompt", []) if isinstance(v, str)]
        inputs = [v for v in job.inputs.get("input", []) if isinstance(v, str)]
        for text in prompt + inputs:
            if len(text.encode()) > MAX_INPUT_BYTES:
                raise ProviderError(f"A wired text is {len(text.encode()):,} bytes; the LLM "
                                    f"node takes at most {MAX_INPUT_BYTES:,} per input",
                                    kind="invalid")
        images = job.media("images")[:MAX_IMAGES]
        if images and not model.vision:
            raise ProviderError(f"{model.label} does not take images: pick a vision model",
                                kind="invalid")
        system, user = chat_texts(job.config, prompt, inputs)
        if not user.strip():
            raise ProviderError("The prompt is empty", kind="invalid")
        body = build_request(model, job.config, system, user,
                             [media.data_uri() for media in images], job.seed)
        ceiling = chat_ceiling(job.config, {"prompt": list(prompt), "input": list(inputs)},
                               len(images))
        payload = self._post(model, endpoint, body)
        text, usage = parse_response(payload, vendor=VENDOR_NAMES[model.vendor],
                                     ceiling=(ceiling.prompt_tokens or 0,
                                              ceiling.completion_tokens or 0))
        meta: dict[str, Any] = {"usage": usage}
        if isinstance(payload.get("model"), str):
            meta["model_version"] = payload["model"]
        return Result({"text": text}, meta=meta)

    def model_check(self, model: str) -> str | None:
        """None when the key works and the vendor serves `model`, at no cost: OpenAI's
        GET /models/<id>; OpenRouter's GET /key (its model lookups need no key), then
        GET /models/<id>/endpoints."""
        spec = chat_model({"model": model})
        if spec is None or spec.vendor == "compatible":
            return f"{model} is not a listed model"
        try:
            endpoint = self._endpoint(spec)
            http, base, headers = self.http[spec.vendor], endpoint["base_url"], self._headers(
                endpoint)
            if spec.vendor == "openrouter":
                http.send_json("GET", f"{base}/key", headers=headers)
                http.send_json("GET", f"{base}/models/{model}/endpoints", headers=headers)
            else:
                http.send_json("GET", f"{base}/models/{model}", headers=headers)
        except ProviderError as error:
            return error.message
        return None

    def close(self) -> None:
        for http in self.http.values():
            http.close()
