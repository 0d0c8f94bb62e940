"""Whole runs through the real worker with remote providers pointed at the simulator: the Flux
demo chain, moderation, a 429 retried, the provider concurrency limit, and a killed worker
whose remote job is polled again, never submitted twice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from executions.models import NodeRun
from executions.services import execution_start
from graph.demo import DEMO_WORKFLOWS
from tests.conftest import WORKER_BFL_LIMIT
from tests.executions.conftest import sim_script, sim_stats
from tests.executions.test_scheduler import states, wait_done
from tests.graph.builders import edge, node

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def team(make_team):
    """Remote models cost credits: a team that can pay for them."""
    return make_team(credits=10_000)


def flux(prompt: str, **config) -> dict:
    nodes = [node("text", "input:text", {"prompt": prompt}),
             node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": 3,
                                                  **config})]
    return {"nodes": nodes, "edges": [edge("e1", "text", "prompt", "flux", "prompt")]}


def test_the_flux_demo_runs_end_to_end_and_is_marked_simulated(team, live_worker, simulator):
    demo = DEMO_WORKFLOWS[0]
    execution = wait_done(execution_start(team=team, nodes=demo["nodes"], edges=demo["edges"]),
                          timeout=120)
    assert execution.status == "COMPLETED", execution.error
    assert execution.simulated
    runs = {r.node_type: r for r in NodeRun.objects.filter(execution=execution)}
    flux_image = runs["generate:flux_2_pro"].assets.get()
    upscaled = runs["process:upscale_esrgan"].assets.get()
    video = runs["generate:kling_video"].assets.get()
    assert (upscaled.width, upscaled.height) == (flux_image.width * 2, flux_image.height * 2)
    assert video.mime == "video/mp4" and video.frame_count > 0 and video.simulated
    assert runs["generate:flux_2_pro"].credits > 0 and execution.credits_charged > 0


def test_moderation_fails_the_node_with_the_reason_and_skips_below(team, live_worker,
                                                                    simulator):
    graph = flux("a scene sim:content-moderated")
    nodes, edges = graph["nodes"], graph["edges"]
    nodes.append(node("up", "process:upscale_local", {"scale": 2}))
    edges.append(edge("e2", "flux", "image", "up", "image"))
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges))
    assert execution.status == "FAILED"
    assert states(execution) == {"text": "COMPLETED", "flux": "FAILED", "up": "SKIPPED"}
    failed = NodeRun.objects.get(execution=execution, node_id="flux")
    assert "content moderated" in failed.error.lower() and failed.credits == 0


def test_a_429_is_retried_with_backoff_and_then_succeeds(team, live_worker, simulator):
    sim_script(simulator, "/v1/flux-2-pro", [429, 503])
    execution = wait_done(execution_start(team=team, **flux("retry me")), timeout=60)
    assert execution.status == "COMPLETED", execution.error
    run = NodeRun.objects.get(execution=execution, node_id="flux")
    assert run.attempts == 3 and sim_stats(simulator)["bfl.submit"] == 1


def test_the_provider_limit_holds_across_workers(team, live_worker, simulator):
    simulator.state.latency = 1.0
    started = [execution_start(team=team, **flux(f"limit {i}")) for i in range(8)]
    for execution in started:
        assert wait_done(execution, timeout=120).status == "COMPLETED"
    stats = sim_stats(simulator)
    assert stats["bfl.submit"] == 8 and stats["max_active"] <= WORKER_BFL_LIMIT


def test_a_killed_worker_never_submits_a_remote_job_twice(team, live_worker, simulator):
    simulator.state.latency = 6.0
    execution = execution_start(team=team, **flux("survive the crash"))
    deadline = time.monotonic() + 30
    while not NodeRun.objects.get(execution=execution, node_id="flux").remote:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for pid in live_worker.children():
        os.kill(pid, signal.SIGKILL)
    execution = wait_done(execution, timeout=90)
    assert execution.status == "COMPLETED", execution.error
    assert sim_stats(simulator)["bfl.submit"] == 1


def test_what_a_delivered_run_is_charged_equals_what_its_estimate_quoted(team, live_worker,
                                                                        simulator):
    """The estimate and the charge come from one formula (pricing.node_credits): a completed
    run costs exactly what was quoted for it, and the team's balance moves by that much."""
    from accounts.models import Team
    from executions.pricing import estimate

    demo = DEMO_WORKFLOWS[0]
    nodes = [dict(n, data={**n["data"], "config": {**(n["data"].get("config") or {}),
                                                    "width": 1920, "height": 1088}})
             if n["data"].get("nodeType") == "generate:flux_2_pro" else n
             for n in demo["nodes"]]
    quoted = estimate(nodes)
    before = Team.objects.get(pk=team.pk).credit_balance
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=demo["edges"]),
                          timeout=120)
    assert execution.status == "COMPLETED", execution.error
    by_node = {item["nodeId"]: item["credits"] for item in quoted["breakdown"]}
    charged = dict(NodeRun.objects.filter(execution=execution, credits__gt=0)
                   .values_list("node_id", "credits"))
    assert charged == by_node and sum(by_node.values()) == quoted["estimatedCredits"]
    assert execution.credits_charged == execution.credits_estimated == quoted["estimatedCredits"]
    assert before - Team.objects.get(pk=team.pk).credit_balance == quoted["estimatedCredits"]
    assert by_node and max(by_node.values()) >= 5  # a FLUX.2 image over 1 MP: 3 + 1.5/MP


def _charges_match_the_estimate(execution, nodes, edges) -> dict[str, int]:
    from executions.pricing import estimate

    quoted = estimate(nodes, edges=edges)
    by_node = {item["nodeId"]: item["credits"] for item in quoted["breakdown"]}
    charged = dict(NodeRun.objects.filter(execution=execution, credits__gt=0)
                   .values_list("node_id", "credits"))
    assert charged == by_node, (charged, quoted)
    assert execution.credits_charged == execution.credits_estimated == quoted["estimatedCredits"]
    return by_node


def test_nano_banana_delivers_num_images_images_and_charges_exactly_the_estimate(
        team, live_worker, simulator):
    from executions.outputs import output_api

    nodes = [node("text", "input:text", {"prompt": "four takes on a red bicycle"}),
             node("nano", "generate:nano_banana_2", {"num_images": 4, "aspect_ratio": "4:5",
                                                     "image_size": "1K", "seed": 11})]
    edges = [edge("e1", "text", "prompt", "nano", "prompt")]
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=60)
    assert execution.status == "COMPLETED", execution.error
    run = NodeRun.objects.get(execution=execution, node_id="nano")
    images = output_api(run.outputs)["images"]
    assert len(images) == 4 and len({image["url"] for image in images}) == 4
    assert all((image["width"], image["height"]) == (896, 1152) for image in images)
    assert run.assets.count() == 4
    assert _charges_match_the_estimate(execution, nodes, edges) == {"nano": 27}  # 4 × 6.7
    assert sim_stats(simulator)["google.submit"] == 4


def test_reference_images_from_upstream_are_quoted_and_charged_by_their_megapixels(
        team, live_worker, simulator):
    """FLUX.2 [pro] at 1920×1088 feeds two references into [klein] 9B: BFL bills their 2 MP
    each, and the estimate, which knows their size from the graph, quotes exactly that."""
    nodes = [node("text", "input:text", {"prompt": "a lighthouse, then its twin"}),
             node("pro", "generate:flux_2_pro", {"width": 1920, "height": 1088, "seed": 1}),
             node("local", "generate:local_preview", {"width": 512, "height": 512, "seed": 2}),
             node("klein", "generate:flux_2_klein_9b", {"width": 1024, "height": 1024,
                                                        "seed": 3})]
    edges = [edge("e1", "text", "prompt", "pro", "prompt"),
             edge("e2", "text", "prompt", "local", "prompt"),
             edge("e3", "text", "prompt", "klein", "prompt"),
             edge("e4", "pro", "image", "klein", "reference_images"),
             edge("e5", "local", "image", "klein", "reference_images")]
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=60)
    assert execution.status == "COMPLETED", execution.error
    # [pro]: 3 + 1.5 = 4.5 → 5; [klein] 9B: 1.5 + 0.2 × (2 + 1) = 2.1 → 3.
    assert _charges_match_the_estimate(execution, nodes, edges) == {"pro": 5, "klein": 3}


def test_a_model_the_vendor_retired_fails_the_node_with_the_vendors_message(
        team, live_worker, simulator):
    """As when Google shut the Nano Banana 2 preview down: the node fails at once (a 404 is
    not retried), with Google's words, and costs nothing."""
    import httpx

    httpx.post(f"{simulator.url}/__sim/config",
               json={"retired": ["gemini-3.1-flash-image"]}).raise_for_status()
    nodes = [node("nano", "generate:nano_banana_2", {"prompt": "a red bicycle", "seed": 1})]
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=[]), timeout=60)
    assert execution.status == "FAILED"
    run = NodeRun.objects.get(execution=execution, node_id="nano")
    assert "models/gemini-3.1-flash-image is not found" in run.error
    assert run.error_kind == "not_found" and run.credits == 0
    gemini = [r for r in httpx.get(f"{simulator.url}/__sim/requests").json()
              if r["vendor"] == "google"]
    assert len(gemini) == 1  # refused once, not retried
    assert execution.credits_charged == 0


def test_every_image_a_generator_makes_is_quoted_and_charged_as_a_reference(
        team, live_worker, simulator):
    """FLUX.1 [dev] makes three images and all three go to [klein] 9B as references: the
    quote counts each (not one for the edge), and BFL's bill for them equals it."""
    import httpx

    nodes = [node("text", "input:text", {"prompt": "three lighthouses"}),
             node("dev", "generate:flux_1_dev", {"image_size": "landscape_4_3",
                                                 "num_images": 3, "seed": 2}),
             node("klein", "generate:flux_2_klein_9b", {"width": 1024, "height": 1024,
                                                        "seed": 3})]
    edges = [edge("e1", "text", "prompt", "dev", "prompt"),
             edge("e2", "text", "prompt", "klein", "prompt"),
             edge("e3", "dev", "image", "klein", "reference_images")]
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=120)
    assert execution.status == "COMPLETED", execution.error
    sent = [r["body"] for r in httpx.get(f"{simulator.url}/__sim/requests").json()
            if r["vendor"] == "bfl" and r["method"] == "POST"]
    assert len(sent) == 1 and {"input_image", "input_image_2", "input_image_3"} <= set(sent[0])
    # [dev]: 3 × 1 MP × 2.5 = 7.5 → 8; [klein] 9B: 1.5 + 0.2 × 3 (each 0.75 MP, billed 1) = 2.1
    # → 3 (quoted for one reference it was 2, and the charge 3).
    assert _charges_match_the_estimate(execution, nodes, edges) == {"dev": 8, "klein": 3}
    assert execution.credits_charged <= execution.credits_reserved
