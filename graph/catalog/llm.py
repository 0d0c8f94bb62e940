"""LLM nodes: chat completions on OpenAI, OpenRouter or any OpenAI-compatible server.

One node type, `llm:chat`; its `model` setting picks the model and with it the vendor (an
OpenAI model id goes to OpenAI, a `vendor/model` id to OpenRouter, "custom" to the compatible
server the operator configured). Billed per token at the model's published prices:

    credits = (prompt_tokens × input price + completion_tokens × output price) / 10⁶ × 100

(prices in dollars per million tokens, 1 credit = $0.01), rounded up per run. The estimate
quotes the most a request can use: every byte of the prompt as a token (a byte-level BPE token
covers at least one byte), a fixed allowance per message and per image, and `max_tokens` of
completion. The charge is the tokens the response's `usage` reports, held to that ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.catalog.templating import names_used, render, rendered_bytes
from graph.catalog.types import (
    NO_USAGE,
    ConfigIssue,
    Input,
    NodeSpec,
    Output,
    Usage,
)
from graph.catalog.values import show

CHECKED = "2026-12-03"
# A wired text longer than this is refused before any request is sent, so the estimate's
# allowance for text not known before the run (another node's output) is a true ceiling.
MAX_INPUT_BYTES = 32_000
MAX_INPUTS = 8
MAX_IMAGES = 4
# Tokens a chat template adds around each message and to prime the reply (OpenAI documents
# 3 and 3; an allowance, not a count), and the most any listed model bills for one image
# (OpenAI's patch-priced models: 1,536 patches × 2.46 for gpt-4.1-nano ≈ 3,779).
MESSAGE_TOKENS = 8
REPLY_TOKENS = 8
IMAGE_TOKENS = 3_800
# Added to the system prompt in JSON mode when no message says "json" (OpenAI refuses
# json_object mode without the word).
JSON_HINT = "Answer with one JSON object."
CUSTOM = "custom"


@dataclass(frozen=True)
class ChatModel:
    """A model as its vendor publishes it: dollars per million input and output tokens."""

    model_id: str
    vendor: str  # "openai" | "openrouter" | "compatible"
    label: str
    input_price: float
    output_price: float
    vision: bool = True
    # Reasoning models take no temperature but the default and bound the completion (reasoning
    # included) with max_completion_tokens.
    reasoning: bool = False
    max_output: int = 16_384


MODELS: dict[str, ChatModel] = {m.model_id: m for m in (
    ChatModel("gpt-4.1-mini", "openai", "GPT-4.1 mini", 0.40, 1.60, max_output=32_768),
    ChatModel("gpt-4.1", "openai", "GPT-4.1", 2.00, 8.00, max_output=32_768),
    ChatModel("gpt-4.1-nano", "openai", "GPT-4.1 nano", 0.10, 0.40, max_output=32_768),
    ChatModel("gpt-4o", "openai", "GPT-4o", 2.50, 10.00),
    ChatModel("gpt-4o-mini", "openai", "GPT-4o mini", 0.15, 0.60),
    ChatModel("gpt-5", "openai", "GPT-5", 1.25, 10.00, reasoning=True, max_output=128_000),
    ChatModel("gpt-5-mini", "openai", "GPT-5 mini", 0.25, 2.00, reasoning=True,
              max_output=128_000),
    ChatModel("gpt-5-nano", "openai", "GPT-5 nano", 0.05, 0.40, reasoning=True,
              max_output=128_000),
    ChatModel("anthropic/claude-sonnet-4.5", "openrouter", "Claude Sonnet 4.5 (OpenRouter)",
              3.00, 15.00, max_output=64_000),
    ChatModel("anthropic/claude-haiku-4.5", "openrouter", "Claude Haiku 4.5 (OpenRouter)",
              1.00, 5.00, max_output=64_000),
    ChatModel("google/gemini-2.5-flash", "openrouter", "Gemini 2.5 Flash (OpenRouter)",
              0.30, 2.50, max_output=65_535),
    ChatModel("meta-llama/llama-3.3-70b-instruct", "openrouter",
              "Llama 3.3 70B Instruct (OpenRouter)", 0.13, 0.40, vision=False),
)}


def chat_model(config: dict[str, Any]) -> ChatModel | None:
    """The listed model a config names; for "custom", the compatible server's (unpriced)."""
    model = config.get("model")
    if model == CUSTOM:
        custom = config.get("custom_model")
        return ChatModel(custom if isinstance(custom, str) else "", "compatible", "Custom",
                         0, 0)
    return MODELS.get(model) if isinstance(model, str) else None


def _whole(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else fallback


def chat_credits(config: dict[str, Any], usage: Usage = NO_USAGE) -> float:
    """The model's per-token price for the tokens in `usage` (the charge), or for the ceiling
    of the typed prompt alone when usage says nothing (`GET /nodes`' figure)."""
    model = chat_model(config)
    if model is None:
        return 0
    if usage.prompt_tokens is None or usage.completion_tokens is None:
        usage = chat_ceiling(config, {}, 0)
    dollars = (usage.prompt_tokens * model.input_price
               + usage.completion_tokens * model.output_price) / 1_000_000
    return dollars * 100


def template_values(inputs: list[str]) -> dict[str, str]:
    """What `{input}` (every wired text, a blank line between) and `{input_1}`… stand for."""
    values = {"input": "\n\n".join(inputs)}
    values.update({f"input_{n}": text for n, text in enumerate(inputs, 1)})
    return values


def chat_texts(config: dict[str, Any], prompt: list[str], inputs: list[str]
               ) -> tuple[str, str]:
    """The system and user messages: the typed system prompt and prompt with their
    placeholders filled (a prompt wired from another node is sent as it is); wired inputs that
    no placeholder uses follow the prompt after a blank line. In JSON mode, a system line that
    asks for JSON when no message mentions it."""
    values = template_values(inputs)
    system = render(str(config.get("system_prompt") or ""), values)
    template = str(config.get("prompt") or "")
    user = "\n".join(prompt) if prompt else render(template, values)
    used = names_used(str(config.get("system_prompt") or "")) | (
        set() if prompt else names_used(template))
    if inputs and not any(name == "input" or name.startswith("input_") for name in used):
        user = f"{user}\n\n{values['input']}" if user else values["input"]
    if config.get("json_mode") and "json" not in f"{system}\n{user}".lower():
        system = f"{system}\n\n{JSON_HINT}" if system else JSON_HINT
    return system, user


def chat_ceiling(config: dict[str, Any], texts: dict[str, list[str | None]],
                 images: int) -> Usage:
    """The most tokens one run can be billed: the prompt's bytes (a text not known yet at its
    limit, MAX_INPUT_BYTES), the message and image allowances, and max_tokens."""
    def size(text: str | None) -> int:
        return MAX_INPUT_BYTES if text is None else len(text.encode())

    inputs = [size(text) for text in texts.get("input", [])]
    prompt = texts.get("prompt", [])
    sizes = {"input": sum(inputs) + 2 * max(0, len(inputs) - 1)}
    sizes.update({f"input_{n}": each for n, each in enumerate(inputs, 1)})
    system_template = str(config.get("system_prompt") or "")
    template = str(config.get("prompt") or "")
    system = rendered_bytes(system_template, sizes)
    user = sum(size(t) for t in prompt) + max(0, len(prompt) - 1) if prompt else \
        rendered_bytes(template, sizes)
    used = names_used(system_template) | (set() if prompt else names_used(template))
    if inputs and not any(name == "input" or name.startswith("input_") for name in used):
        user += 2 + sizes["input"]
    if config.get("json_mode"):
        system += 2 + len(JSON_HINT)
    prompt_tokens = system + user + 2 * MESSAGE_TOKENS + REPLY_TOKENS + images * IMAGE_TOKENS
    return Usage(prompt_tokens=prompt_tokens,
                 completion_tokens=_whole(config.get("max_tokens"), 1024))


def chat_check_config(config: dict[str, Any]) -> list[ConfigIssue]:
    model = chat_model(config)
    if model is None:
        return []  # reported as invalid_setting
    if config.get("model") == CUSTOM and not str(config.get("custom_model") or "").strip():
        return [{"rule": "custom_model_missing", "input": "custom_model",
                 "message": "'custom_model' names the model on your compatible server",
                 "fix": "type the model id your server serves, e.g. llama3.1:8b"}]
    max_tokens = config.get("max_tokens")
    if isinstance(max_tokens, int) and model.vendor != "compatible" and \
            max_tokens > model.max_output:
        return [{"rule": "max_tokens_too_large", "input": "max_tokens",
                 "message": f"{model.label} writes at most {model.max_output:,} tokens, got "
                            f"{show(max_tokens)}",
                 "fix": f"use at most {model.max_output}"}]
    return []


def _price_rule() -> str:
    listed = "; ".join(f"{m.model_id} ${m.input_price:g}/${m.output_price:g}"
                       for m in MODELS.values())
    return ("per token at the model's published price (input/output, dollars per million "
            f"tokens; 1 credit = $0.01, rounded up per run): {listed}; custom: no credits")


LLM_CHAT = NodeSpec(
    node_type="llm:chat",
    label="LLM Chat",
    category="llm",
    description="A chat model writes text from your prompt: enhance a prompt before FLUX, "
    "caption or describe images, turn a brief into N prompts. OpenAI, OpenRouter or your own "
    "OpenAI-compatible server.",
    inputs=(
        Input("prompt", "Prompt", "text", is_port=True, required=True, inline=True,
              description="The user message. Typed here it may use {input} (every wired "
                          "input) and {input_1}, {input_2}…"),
        Input("input", "Inputs", "text", is_port=True, multiple=True, max_items=MAX_INPUTS,
              description="Text for {input}; without a placeholder it follows the prompt."),
        Input("images", "Images", "image", is_port=True, multiple=True, max_items=MAX_IMAGES,
              description="Images the model looks at (vision models)."),
        Input("model", "Model", "enum", is_port=False, default="gpt-4.1-mini",
              enum=(*MODELS, CUSTOM),
              description="An OpenAI model, an OpenRouter one (vendor/model), or custom: the "
                          "compatible server the operator configured (LLM_BASE_URL)."),
        Input("custom_model", "Custom model id", "string", is_port=False, default="",
              description="With model 'custom': the model id on your server."),
        Input("system_prompt", "System prompt", "text", is_port=False, default="",
              description="How the model should behave; may use {input} too."),
        Input("json_mode", "JSON mode", "boolean", is_port=False, default=False,
              description="The answer is one JSON object (feed it to JSON Extract)."),
        Input("temperature", "Temperature", "number", is_port=False, default=0.7, min=0,
              max=2, description="Higher is more varied. GPT-5 models use their own."),
        Input("max_tokens", "Max tokens", "integer", is_port=False, default=1024, min=1,
              max=16_384, description="The longest answer, in tokens; the estimate "
                                       "reserves this many."),
        Input("seed", "Seed", "seed", is_port=False,
              description="A fixed seed reuses the cached answer; empty asks anew each run."),
    ),
    outputs=(Output("text", "Text", "text"),),
    provider="llm",
    model="chat/completions",
    model_version="1",
    credits=chat_credits,
    check_config=chat_check_config,
    model_checked=CHECKED,
    price_rule=_price_rule(),
    usage_ceiling=chat_ceiling,
)

SPECS = (LLM_CHAT,)
