"""The real BFL provider against the simulator, through submit / poll / cancel only."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from executions import imaging
from executions.providers import Job, Pending, ProviderError, Result, get_provider
from tests.executions.conftest import point_providers_at, sim_script, sim_stats, until_done


def flux(prompt="a red fox in snow", model="flux-2-pro", **config) -> Job:
    settings = {"width": 512, "height": 384, "output_format": "png", "safety_tolerance": 2,
                "prompt_upsampling": False, **config}
    return Job(node_type=f"generate:{model.replace('-', '_')}", model=model, config=settings,
               inputs={"prompt": [prompt]}, seed=42)


def test_a_job_is_submitted_once_polled_at_the_returned_url_and_downloaded(simulated):
    provider = get_provider("bfl")
    job = flux()
    pending = provider.submit(job)
    assert isinstance(pending, Pending)
    assert set(pending.handle) == {"id", "polling_url", "cost"}
    # Used exactly as BFL returned it, another host included (BFL routes to regional hosts).
    assert pending.handle["polling_url"].endswith(f"/v1/get_result?id={pending.handle['id']}")
    assert pending.handle["cost"] == 3.0
    result = until_done(provider, job, pending)
    assert isinstance(result, Result)
    image = result.outputs["image"]
    assert image.mime == "image/png" and imaging.image_info(image.data)[1:] == (512, 384)
    assert result.meta["seed"] == 42 and result.meta["vendor_id"] == pending.handle["id"]
    assert result.meta["cost"] == 3.0 and result.meta["usage"] == {"references": []}
    stats = sim_stats(simulated)
    assert stats["bfl.submit"] == 1 and stats["bfl.poll"] >= 1 and stats["delivery"] == 1


@pytest.mark.parametrize("model", ["flux-2-pro", "flux-2-max", "flux-2-flex", "flux-2-klein-4b",
                                   "flux-2-klein-9b"])
def test_every_flux_2_endpoint_quotes_the_price_we_charge(simulated, make_media, model):
    """BFL's `cost` on submit, for a 1920×1088 output and two references, is our charge."""
    from executions.outputs import result_usage
    from executions.pricing import node_credits
    from graph.catalog import catalog

    provider = get_provider("bfl")
    references = [make_media((1500, 1000)), make_media((640, 480))]
    job = Job(node_type=f"generate:{model.replace('-', '_')}", model=model,
              config={"width": 1920, "height": 1088, "output_format": "jpeg",
                      "safety_tolerance": 2},
              inputs={"prompt": ["a harbour at dawn"], "reference_images": references}, seed=1)
    pending = provider.submit(job)
    result = until_done(provider, job, pending)
    spec = catalog.get(job.node_type)
    charge = node_credits(spec, job.config, result_usage(result))
    assert charge == math.ceil(round(pending.handle["cost"], 6))  # BFL's credits, rounded up
    requests = [r for r in httpx.get(f"{simulated.url}/__sim/requests").json()
                if r["vendor"] == "bfl" and r["method"] == "POST"]
    assert requests[-1]["ignored"] == []  # nothing sent that this model does not take


def test_an_unknown_model_fails_with_bfls_answer(simulated):
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").submit(flux(model="flux-2-imaginary"))
    assert raised.value.kind == "invalid" and raised.value.status == 404


def test_model_check_tells_served_models_from_unknown_ones(simulated):
    provider = get_provider("bfl")
    assert provider.model_check("flux-2-klein-9b") is None
    assert "404" in provider.model_check("flux-2-imaginary")


def test_flex_returns_a_jpeg_by_default(simulated):
    provider = get_provider("bfl")
    job = flux(model="flux-2-flex", output_format="jpeg", steps=20, guidance=3.0,
               width=256, height=256)
    image = until_done(provider, job, provider.submit(job)).outputs["image"]
    assert (image.mime, image.extension) == ("image/jpeg", "jpg")
    assert imaging.image_info(image.data) == ("image/jpeg", 256, 256)


def test_pending_polls_report_progress(simulated):
    simulated.state.latency = 2.0
    provider = get_provider("bfl")
    job = flux()
    pending = provider.submit(job)
    time.sleep(0.5)
    again = provider.poll(job, pending.handle)
    assert isinstance(again, Pending) and 0 < again.progress < 1
    assert again.handle == pending.handle


@pytest.mark.parametrize("trigger, kind, words", [
    ("sim:request-moderated", "moderated", "Request Moderated"),
    ("sim:content-moderated", "moderated", "Content Moderated"),
    ("sim:error", "failed", "Simulated generation failure"),
])
def test_moderation_and_errors_fail_with_the_vendors_reason(simulated, trigger, kind, words):
    provider = get_provider("bfl")
    job = flux(f"a picture {trigger}")
    with pytest.raises(ProviderError) as raised:
        until_done(provider, job, provider.submit(job))
    assert raised.value.kind == kind and words in raised.value.message
    assert not raised.value.transient and sim_stats(simulated)["bfl.submit"] == 1


def test_402_is_a_payment_error(simulated):
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").submit(flux("sim:402"))
    assert raised.value.kind == "payment" and raised.value.status == 402
    assert "Insufficient credits" in raised.value.message and not raised.value.transient


def test_429_is_transient_with_retry_after_and_the_next_submission_succeeds(simulated):
    provider = get_provider("bfl")
    sim_script(simulated, "/v1/flux-2-pro", [429])
    with pytest.raises(ProviderError) as limited:
        provider.submit(flux())
    assert limited.value.kind == "rate_limited" and limited.value.retry_after == 1.0
    assert limited.value.transient
    assert isinstance(until_done(provider, flux(), provider.submit(flux())), Result)
    stats = sim_stats(simulated)
    assert stats["bfl.submit"] == 1 and stats["bfl.rejected"] == 1


def test_5xx_at_submit_or_poll_is_a_transient_server_error(simulated):
    provider = get_provider("bfl")
    with pytest.raises(ProviderError) as at_submit:
        provider.submit(flux("sim:500"))
    assert at_submit.value.kind == "server" and at_submit.value.transient
    pending = provider.submit(flux())
    sim_script(simulated, "/v1/get_result", [503])
    with pytest.raises(ProviderError) as at_poll:
        provider.poll(flux(), pending.handle)
    assert at_poll.value.kind == "server" and at_poll.value.status == 503
    assert isinstance(until_done(provider, flux(), pending), Result)  # polling again recovers


def test_a_submit_whose_answer_is_lost_is_not_retried(settings, simulated):
    """BFL may have made (and billed) the job: submitting again could make a second one."""
    point_providers_at(settings, simulated.url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").submit(flux("sim:hang"))
    assert raised.value.kind == "failed" and not raised.value.transient
    assert "not retried" in raised.value.message
    assert time.monotonic() - started < 3


def test_an_unknown_task_is_not_found(simulated):
    handle = {"id": "gone", "polling_url": f"{simulated.url}/v1/get_result?id=gone"}
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").poll(flux(), handle)
    assert raised.value.kind == "not_found" and "Task not found" in raised.value.message


def test_cancel_is_a_harmless_no_op(simulated):
    provider = get_provider("bfl")
    pending = provider.submit(flux())
    provider.cancel(pending.handle)
    assert isinstance(until_done(provider, flux(), pending), Result)

