"""The LLM provider (OpenAI, OpenRouter, a compatible server) against the simulator's chat
completions, and the official `openai` SDK against the same simulator: unchanged but for base
URL and key, it gets the answers our provider gets and the refusals OpenAI gives."""

from __future__ import annotations

import copy
import json

import openai
import pytest

from executions.providers import Job, ProviderError, get_provider
from executions.providers.llm import build_request, parse_response
from executions.simulator.keys import OPENAI_KEY, OPENROUTER_KEY
from graph.catalog import catalog
from graph.catalog.llm import MODELS, chat_texts
from tests.executions.conftest import sim_requests, sim_script, sim_stats

LLM = catalog.get("llm:chat")


def point_llm_at(settings, url: str, *, allow_private: bool = True, **keys: str) -> None:
    get_provider("llm").close()
    providers = copy.deepcopy(settings.PROVIDERS)
    providers["llm"]["OPTIONS"].update({"allow_private": allow_private, "timeout": 5,
                                        "endpoints": {
        "openai": {"base_url": f"{url}/openai/v1", "api_key": keys.get("openai", OPENAI_KEY)},
        "openrouter": {"base_url": f"{url}/openrouter/api/v1",
                       "api_key": keys.get("openrouter", OPENROUTER_KEY)},
        "compatible": {"base_url": f"{url}/compatible/v1", "api_key": ""}}})
    settings.PROVIDERS = providers


@pytest.fixture
def llm(settings, simulator, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    point_llm_at(settings, simulator.url)
    yield get_provider("llm")
    get_provider("llm").close()


def chat(prompt="Enhance this prompt: a lighthouse at dusk", inputs=(), images=(), seed=7,
         **config) -> Job:
    return Job(node_type="llm:chat", model=LLM.model,
               config={**LLM.defaults(), "prompt": prompt, **config},
               inputs={"input": list(inputs), "images": list(images)}, seed=seed)


def last_body(simulator) -> dict:
    return sim_requests(simulator, "openai")[-1]["body"]


def test_the_answer_is_text_with_the_usage_the_vendor_reported(llm, simulator):
    result = llm.submit(chat())
    text = result.outputs["text"]
    assert text.startswith("A lighthouse at dusk, ")
    assert result.meta["model_version"] == "gpt-4.1-mini-2025-04-14"
    usage = result.meta["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    body = last_body(simulator)
    assert body == {"model": "gpt-4.1-mini", "messages": [
        {"role": "user", "content": "Enhance this prompt: a lighthouse at dusk"}],
        "max_completion_tokens": 1024, "temperature": 0.7, "seed": 7}
    assert sim_stats(simulator)["openai.chat"] == 1


def test_a_brief_for_n_prompts_gets_n_lines_and_json_mode_valid_json(llm):
    brief = "Write 5 prompts for a product shot of a green glass bottle"
    lines = llm.submit(chat(brief)).outputs["text"].splitlines()
    assert len(lines) == 5 and all("green glass bottle" in line for line in lines)
    answer = llm.submit(chat(brief, json_mode=True)).outputs["text"]
    assert len(json.loads(answer)["prompts"]) == 5


def test_wired_inputs_and_the_system_prompt_reach_the_vendor(llm, simulator):
    llm.submit(chat("Make {input} cinematic", inputs=["a fox in snow"],
                    system_prompt="You write image prompts.", json_mode=True))
    body = last_body(simulator)
    assert body["messages"] == [
        {"role": "system", "content": "You write image prompts.\n\nAnswer with one JSON object."},
        {"role": "user", "content": "Make a fox in snow cinematic"}]
    assert body["response_format"] == {"type": "json_object"}


def test_images_go_as_data_uri_content_parts_to_vision_models(llm, simulator, make_media):
    result = llm.submit(chat("Write alt text for this image", images=[make_media((96, 64))]))
    assert "96×64" in result.outputs["text"]
    [part_text, part_image] = last_body(simulator)["messages"][0]["content"]
    assert part_text == {"type": "text", "text": "Write alt text for this image"}
    assert part_image["type"] == "image_url"
    assert result.meta["usage"]["prompt_tokens"] > 85  # an image is billed as tokens


def test_a_model_without_vision_is_refused_images_before_any_request(llm, simulator,
                                                                     make_media):
    with pytest.raises(ProviderError) as caught:
        llm.submit(chat(images=[make_media()], model="meta-llama/llama-3.3-70b-instruct"))
    assert caught.value.kind == "invalid" and "does not take images" in caught.value.message
    assert sim_stats(simulator).get("openrouter.chat", 0) == 0


def test_reasoning_models_get_no_temperature_and_max_completion_tokens(llm, simulator):
    result = llm.submit(chat(model="gpt-5-mini", temperature=0.2, max_tokens=500))
    body = last_body(simulator)
    assert "temperature" not in body and body["max_completion_tokens"] == 500
    assert result.meta["usage"]["completion_tokens"] > 0


def test_openrouter_models_go_to_openrouter_with_max_tokens(llm, simulator):
    result = llm.submit(chat(model="anthropic/claude-haiku-4.5", max_tokens=300))
    assert result.outputs["text"] and sim_stats(simulator)["openrouter.chat"] == 1
    entry = sim_requests(simulator, "openai")[-1]
    assert entry["path"] == "/openrouter/api/v1/chat/completions"
    assert entry["body"]["max_tokens"] == 300


def test_a_custom_model_goes_to_the_compatible_server(llm, simulator):
    result = llm.submit(chat(model="custom", custom_model="llama3.1:8b"))
    assert result.meta["model_version"] == "llama3.1:8b"
    assert sim_requests(simulator, "openai")[-1]["path"] == "/compatible/v1/chat/completions"


def test_the_compatible_server_goes_through_the_ssrf_guard(settings, simulator):
    point_llm_at(settings, simulator.url, allow_private=False)
    with pytest.raises(ProviderError) as caught:
        get_provider("llm").submit(chat(model="custom", custom_model="llama3.1:8b"))
    assert caught.value.kind == "config"
    assert "private, loopback or link-local" in caught.value.message
    assert "LLM_ALLOW_PRIVATE" in caught.value.message
    assert sim_stats(simulator).get("compatible.chat", 0) == 0
    get_provider("llm").close()


@pytest.mark.parametrize(("vendor", "key", "said"), [
    ("openai", "sk-wrong", "Incorrect API key provided"),
    ("openrouter", "sk-or-v1-nope", "User not found"),
])
def test_a_refused_key_is_a_config_error_naming_the_vendors_reason(settings, simulator, vendor,
                                                                   key, said):
    point_llm_at(settings, simulator.url, **{vendor: key})
    model = "gpt-4o-mini" if vendor == "openai" else "anthropic/claude-haiku-4.5"
    with pytest.raises(ProviderError) as caught:
        get_provider("llm").submit(chat(model=model))
    assert caught.value.kind == "config" and caught.value.status == 401
    assert said in caught.value.message
    get_provider("llm").close()


def test_no_key_fails_loudly_and_sends_nothing(settings, simulator):
    point_llm_at(settings, simulator.url, openai="")
    with pytest.raises(ProviderError) as caught:
        get_provider("llm").submit(chat())
    assert caught.value.kind == "config" and "OPENAI_API_KEY is not set" in caught.value.message
    assert sim_stats(simulator).get("openai.chat", 0) == 0


@pytest.mark.parametrize(("mark", "kind"), [
    ("sim:429", "rate_limited"), ("sim:500", "server"), ("sim:402", "payment"),
    ("sim:content-moderated", "moderated"),
])
def test_vendor_failures_map_to_what_the_engine_does(llm, mark, kind):
    with pytest.raises(ProviderError) as caught:
        llm.submit(chat(f"a lighthouse {mark}"))
    assert caught.value.kind == kind


def test_a_503_is_transient_and_the_next_call_answers(llm, simulator):
    sim_script(simulator, "/openai/v1/chat/completions", [503])
    with pytest.raises(ProviderError) as caught:
        llm.submit(chat())
    assert caught.value.kind == "server"  # answered: nothing was made, a retry may work
    assert llm.submit(chat()).outputs["text"]


def test_a_wired_text_over_the_limit_is_refused_before_any_request(llm, simulator):
    with pytest.raises(ProviderError) as caught:
        llm.submit(chat(inputs=["x" * 40_000]))
    assert caught.value.kind == "invalid" and "at most 32,000" in caught.value.message
    assert sim_stats(simulator).get("openai.chat", 0) == 0


def test_reported_usage_is_held_to_what_the_request_could_use():
    payload = {"choices": [{"message": {"role": "assistant", "content": "hi"},
                            "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 10**9, "completion_tokens": 12}}
    text, usage = parse_response(payload, vendor="OpenAI", ceiling=(500, 100))
    assert text == "hi" and usage == {"prompt_tokens": 500, "completion_tokens": 12}
    with pytest.raises(ProviderError) as caught:
        parse_response({"choices": [{"message": {"content": ""}, "finish_reason": "length"}]},
                       vendor="OpenAI", ceiling=(1, 1))
    assert caught.value.kind == "invalid" and "raise Max tokens" in caught.value.message


# --- the official openai SDK -----------------------------------------------------------------
@pytest.fixture
def sdk(simulator):
    with openai.OpenAI(base_url=f"{simulator.url}/openai/v1", api_key=OPENAI_KEY,
                       max_retries=0) as client:
        yield client


@pytest.mark.parametrize(("model", "config"), [
    ("gpt-4.1-mini", {}),
    ("gpt-4o", {"json_mode": True, "prompt": "Write 3 prompts for a red kite"}),
    ("gpt-5-nano", {"max_tokens": 400}),
])
def test_the_sdk_gets_the_answer_our_provider_gets(llm, sdk, model, config):
    job = chat(model=model, **config)
    ours = llm.submit(job)
    system, user = chat_texts(job.config, [], [])
    body = build_request(MODELS[model], job.config, system, user, [], job.seed)
    extra = {"response_format": body.pop("response_format")} if "response_format" in body else {}
    theirs = sdk.chat.completions.create(**body, **extra)
    assert theirs.object == "chat.completion" and theirs.id.startswith("chatcmpl-")
    assert theirs.choices[0].message.role == "assistant"
    assert theirs.choices[0].finish_reason == "stop"
    assert theirs.choices[0].message.content == ours.outputs["text"]
    assert theirs.model == ours.meta["model_version"]
    assert {"prompt_tokens": theirs.usage.prompt_tokens,
            "completion_tokens": theirs.usage.completion_tokens} == ours.meta["usage"]
    assert theirs.usage.total_tokens == sum(ours.meta["usage"].values())


def test_the_sdk_sees_a_bad_key_as_openai_refuses_it(simulator):
    client = openai.OpenAI(base_url=f"{simulator.url}/openai/v1", api_key="sk-nope",
                           max_retries=0)
    with client, pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "invalid_api_key"
    assert set(caught.value.body) == {"message", "type", "param", "code"}


HI = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(("error", "kwargs", "code", "param"), [
    (openai.NotFoundError, {"model": "gpt-9", "messages": HI}, "model_not_found", None),
    (openai.BadRequestError, {"model": "gpt-4o", "messages": HI,
                              "response_format": {"type": "json_object"}}, None, "messages"),
    (openai.BadRequestError, {"model": "gpt-4o", "messages": [{"role": "bot",
                                                               "content": "x"}]},
     "invalid_value", "messages[0].role"),
    (openai.BadRequestError, {"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "video", "video": "x"}]}]}, "invalid_value", "messages[0].content[0].type"),
    (openai.BadRequestError, {"model": "gpt-4o", "messages": [], }, "empty_array", "messages"),
    (openai.BadRequestError, {"model": "gpt-4o", "messages": HI, "max_tokens": 100_000},
     "invalid_value", "max_tokens"),
    (openai.BadRequestError, {"model": "gpt-5", "messages": HI, "max_tokens": 100},
     "unsupported_parameter", "max_tokens"),
    (openai.BadRequestError, {"model": "gpt-5", "messages": HI, "temperature": 0.2},
     "unsupported_value", "temperature"),
    (openai.BadRequestError, {"model": "gpt-4o", "messages": HI, "temperature": 3},
     "decimal_above_max_value", "temperature"),
])
def test_the_sdk_gets_openais_refusals(sdk, error, kwargs, code, param):
    with pytest.raises(error) as caught:
        sdk.chat.completions.create(**kwargs)
    assert caught.value.code == code
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"


def test_the_sdk_lists_and_retrieves_models(sdk):
    assert "gpt-4.1-mini" in {model.id for model in sdk.models.list()}
    assert sdk.models.retrieve("gpt-5").id == "gpt-5"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("gpt-9")


def test_providers_check_asks_each_llm_vendor_about_its_listed_models(llm, simulator):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("providers_check", "llm", stdout=out)
    said = out.getvalue()
    for model in MODELS.values():
        if model.vendor != "compatible":
            assert f"ok   {model.model_id}" in said
    assert "FAIL" not in said and sim_stats(simulator).get("openai.chat", 0) == 0


def test_providers_check_names_a_refused_llm_key(settings, simulator):
    import io

    from django.core.management import CommandError, call_command

    point_llm_at(settings, simulator.url, openai="sk-no")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("providers_check", "llm", stdout=out)
    assert "FAIL gpt-4o: OpenAI answered 401: Incorrect API key provided" in out.getvalue()
    point_llm_at(settings, simulator.url, openrouter="sk-or-v1-bad")
    assert "User not found" in get_provider("llm").model_check("anthropic/claude-haiku-4.5")
    get_provider("llm").close()


def test_the_sdk_pointed_at_openrouter_gets_the_answer_our_provider_gets(llm, simulator):
    job = chat(model="anthropic/claude-haiku-4.5", max_tokens=300)
    ours = llm.submit(job)
    system, user = chat_texts(job.config, [], [])
    body = build_request(MODELS["anthropic/claude-haiku-4.5"], job.config, system, user, [],
                         job.seed)
    client = openai.OpenAI(base_url=f"{simulator.url}/openrouter/api/v1",
                           api_key=OPENROUTER_KEY, max_retries=0)
    with client:
        theirs = client.chat.completions.create(**body)
        assert theirs.choices[0].message.content == ours.outputs["text"]
        assert theirs.usage.completion_tokens == ours.meta["usage"]["completion_tokens"]
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(**{**body, "model": "anthropic/claude-opus-9"})
        assert caught.value.body == {"code": 400, "message": "anthropic/claude-opus-9 is not a "
                                                             "valid model ID"}
