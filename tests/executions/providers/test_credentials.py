"""A remote provider without an API key fails loudly and sends nothing: no made-up result."""

from __future__ import annotations

import pytest

from executions.providers import Job, ProviderError, get_provider
from tests.executions.conftest import point_providers_at, sim_stats


@pytest.mark.parametrize("alias, node_type, model, words", [
    ("bfl", "generate:flux_2_pro", "flux-2-pro",
     "BFL_API_KEY is not set: FLUX.2 cannot run without Black Forest Labs credentials"),
    ("google", "generate:nano_banana_2", "gemini-3.1-flash-image",
     "GEMINI_API_KEY is not set: gemini-3.1-flash-image cannot run without Google Gemini "
     "credentials"),
    ("fal", "process:upscale_esrgan", "fal-ai/esrgan",
     "FAL_KEY is not set: Upscale (ESRGAN, fal) cannot run without fal credentials"),
])
def test_a_missing_key_is_a_config_error_with_a_clear_message(settings, simulated, make_media,
                                                               alias, node_type, model, words):
    point_providers_at(settings, simulated.url, api_key="")
    job = Job(node_type=node_type, model=model,
              config={"width": 512, "height": 512, "scale": 2, "aspect_ratio": "1:1"},
              inputs={"prompt": ["a tree"], "image": [make_media()]}, seed=1)
    with pytest.raises(ProviderError) as raised:
        get_provider(alias).submit(job)
    assert raised.value.kind == "config" and words in raised.value.message
    assert not raised.value.transient
    assert sim_stats(simulated) == {}
