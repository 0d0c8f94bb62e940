"""`manage.py providers_check`: each vendor's key and every model id the catalog calls, checked
against the simulator at no cost, with the vendor's own words when something is wrong."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.executions.conftest import point_providers_at, sim_stats


def check(*aliases) -> str:
    out = io.StringIO()
    call_command("providers_check", *aliases, stdout=out)
    return out.getvalue()


def test_working_keys_and_served_models_are_all_ok(simulated):
    said = check()
    for model in ("flux-2-pro", "flux-2-max", "flux-2-flex", "flux-2-klein-4b", "flux-2-klein-9b",
                  "gemini-3.1-flash-image", "gemini-3-pro-image", "fal-ai/esrgan",
                  "fal-ai/kling-video/v2.1/standard/image-to-video", "fal-ai/flux-2-pro",
                  "fal-ai/flux-2-pro/edit"):
        assert f"ok   {model}" in said
    assert "FAIL" not in said
    stats = sim_stats(simulated)
    # Nothing was generated: no job was submitted anywhere.
    assert not any(stats.get(f"{vendor}.submit") for vendor in ("bfl", "google", "fal"))


def test_a_missing_key_is_named_and_not_checked(settings, simulated):
    point_providers_at(settings, simulated.url, api_key="")
    said = check("google")
    assert "google: no key (GEMINI_API_KEY is not set)" in said and "ok" not in said


def test_a_refused_key_fails_with_the_vendors_words_and_exit_1(settings, simulated):
    point_providers_at(settings, simulated.url, api_key="not-a-real-key")
    with pytest.raises(CommandError, match="check\\(s\\) failed"):
        check("google")


def test_an_unknown_provider_is_refused(simulated):
    with pytest.raises(CommandError, match="No remote provider named nope"):
        check("nope")
