"""The scheduler with a real Celery worker process: order, parallel branches, fan-in, failure
propagation, targetNodeId, cancel, the output cache, and a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import time

import pytest
from PIL import Image

from executions.models import Execution, NodeRun
from executions.services import execution_cancel, execution_start
from tests.graph.builders import edge, node

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def wait_done(execution: Execution, timeout: float = 90) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if execution.is_done:
            return execution
        time.sleep(0.1)
    states = dict(NodeRun.objects.filter(execution=execution).values_list("node_id", "status"))
    raise AssertionError(f"run did not finish in {timeout}s: {execution.status} {states}")


def wait_for_node(execution: Execution, node_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while NodeRun.objects.get(execution=execution, node_id=node_id).status != status:
        assert time.monotonic() < deadline, states(execution)
        time.sleep(0.05)


def states(execution: Execution) -> dict[str, str]:
    return dict(NodeRun.objects.filter(execution=execution).values_list("node_id", "status"))


def start(team, nodes, edges, **kwargs) -> Execution:
    return execution_start(team=team, nodes=nodes, edges=edges, **kwargs)


def chain(prompt="a lighthouse at dusk", seed=7, video_seconds=1.0, fps=12):
    nodes = [
        node("text", "input:text", {"prompt": prompt}),
        node("preview", "generate:local_preview", {"seed": seed, "width": 256, "height": 192}),
        node("upscale", "process:upscale_local", {"scale": 2}),
        node("video", "generate:image_to_video_local", {"duration": video_seconds, "fps": fps}),
    ]
    edges = [edge("e1", "text", "prompt", "preview", "prompt"),
             edge("e2", "preview", "image", "upscale", "image"),
             edge("e3", "upscale", "image", "video", "image")]
    return nodes, edges


def image_of(run: NodeRun) -> Image.Image:
    from executions.models import Asset

    asset = Asset.objects.get(pk=run.outputs["image"]["asset"])
    with asset.file.open("rb") as handle:
        image = Image.open(handle)
        image.load()
    return image


def test_a_chain_runs_in_order_and_writes_real_files(team, live_worker):
    execution = wait_done(start(team, *chain()))
    assert execution.status == "COMPLETED", execution.error
    runs = {r.node_id: r for r in NodeRun.objects.filter(execution=execution)}
    assert all(r.status == "COMPLETED" for r in runs.values())
    assert runs["preview"].finished_at <= runs["upscale"].started_at
    assert runs["upscale"].finished_at <= runs["video"].started_at
    assert image_of(runs["preview"]).size == (256, 192)
    assert image_of(runs["upscale"]).size == (512, 384)
    video = runs["video"].assets.get()
    assert video.mime == "video/mp4" and video.frame_count == 12
    assert abs(video.duration - 1.0) < 0.15
    assert execution.started_at and execution.finished_at and execution.seq > 8


def test_branches_run_in_parallel_and_fan_in_waits_for_every_input(team, live_worker):
    nodes = [
        node("text", "input:text", {"prompt": "two moons"}),
        node("a", "generate:local_preview", {"seed": 1, "width": 512, "height": 512}),
        node("b", "generate:local_preview", {"seed": 2, "width": 512, "height": 512}),
        node("big", "process:upscale_local", {"scale": 4}),
        node("caption", "compose:text_overlay", {"font_size": 24}),
    ]
    edges = [
        edge("e1", "text", "prompt", "a", "prompt"),
        edge("e2", "text", "prompt", "b", "prompt"),
        edge("e3", "a", "image", "big", "image"),
        edge("e4", "b", "image", "caption", "image"),
        edge("e5", "text", "text", "caption", "text"),
    ]
    execution = wait_done(start(team, nodes, edges))
    assert execution.status == "COMPLETED", execution.error
    runs = {r.node_id: r for r in NodeRun.objects.filter(execution=execution)}
    # Fan-in: the caption started only after both of its inputs had finished.
    assert runs["caption"].started_at >= max(runs["b"].finished_at, runs["text"].finished_at)
    # Fan-out: a and b were both queued the moment text finished, before either completed.
    assert runs["a"].queued_at < runs["b"].finished_at
    assert runs["b"].queued_at < runs["a"].finished_at
    assert image_of(runs["big"]).size == (2048, 2048)


def test_a_failed_node_skips_its_descendants_and_the_rest_completes(team, live_worker):
    nodes = [
        node("text", "input:text", {"prompt": "ok branch"}),
        node("good", "generate:local_preview", {"seed": 3, "width": 256, "height": 256}),
        node("missing", "input:image", {"url": "/media/assets/nope.png"}),
        node("up", "process:upscale_local", {"scale": 2}),
        node("video", "generate:image_to_video_local", {"duration": 1, "fps": 12}),
    ]
    edges = [edge("e1", "text", "prompt", "good", "prompt"),
             edge("e2", "missing", "image", "up", "image"),
             edge("e3", "up", "image", "video", "image")]
    execution = wait_done(start(team, nodes, edges))
    assert execution.status == "FAILED"
    assert states(execution) == {"text": "COMPLETED", "good": "COMPLETED", "missing": "FAILED",
                                 "up": "SKIPPED", "video": "SKIPPED"}
    assert "No uploaded file" in execution.error and execution.error_node_id == "missing"
    assert NodeRun.objects.get(execution=execution, node_id="up").error.startswith("Skipped")


def test_target_node_runs_only_it_and_its_ancestors(team, live_worker):
    nodes, edges = chain()
    execution = wait_done(start(team, nodes, edges, target_node_id="upscale"))
    assert execution.status == "COMPLETED"
    assert states(execution) == {"text": "COMPLETED", "preview": "COMPLETED",
                                 "upscale": "COMPLETED"}


def test_a_second_identical_run_is_served_from_the_cache_for_nothing(team, live_worker):
    nodes, edges = chain(prompt="cache me", seed=11)
    first = wait_done(start(team, nodes, edges, target_node_id="upscale"))
    second = wait_done(start(team, nodes, edges, target_node_id="upscale"))
    assert first.status == second.status == "COMPLETED"
    runs = {r.node_id: r for r in NodeRun.objects.filter(execution=second)}
    assert runs["preview"].status == "CACHED" and runs["upscale"].status == "CACHED"
    assert runs["upscale"].outputs == NodeRun.objects.get(execution=first,
                                                          node_id="upscale").outputs
    assert runs["preview"].credits == 0
    forced = wait_done(start(team, nodes, edges, target_node_id="upscale", force=True))
    assert states(forced)["upscale"] == "COMPLETED"
    # Editing one node re-runs it and what lies below, and nothing above.
    nodes[2]["data"]["config"]["scale"] = 4
    edited = wait_done(start(team, nodes, edges, target_node_id="upscale"))
    assert states(edited) == {"text": "COMPLETED", "preview": "CACHED", "upscale": "COMPLETED"}


def test_cancel_stops_queued_and_running_nodes(team, live_worker):
    nodes, edges = chain(prompt="slow one", seed=5, video_seconds=10, fps=30)
    nodes[1]["data"]["config"].update(width=1024, height=1024)
    execution = start(team, nodes, edges)
    wait_for_node(execution, "video", "RUNNING")
    execution_cancel(execution=execution)
    execution.refresh_from_db()
    assert execution.status == "CANCELLED"
    assert states(execution)["video"] == "CANCELLED"
    time.sleep(1)
    video = NodeRun.objects.get(execution=execution, node_id="video")
    assert video.status == "CANCELLED"
    # The worker drops the render at its next heartbeat instead of finishing ten seconds of
    # 1024² frames nobody will keep: the worker is free again, nothing was written.
    deadline = time.monotonic() + 20
    while f"node run {video.pk} stopped midway" not in live_worker.log.read_text():
        assert time.monotonic() < deadline, "the cancelled render was not stopped"
        time.sleep(0.2)
    assert not video.assets.exists()


def test_a_worker_killed_mid_run_does_not_lose_the_run(team, live_worker):
    nodes, edges = chain(prompt="survive", seed=9, video_seconds=10, fps=30)
    nodes[1]["data"]["config"].update(width=512, height=512)
    execution = start(team, nodes, edges)
    wait_for_node(execution, "video", "RUNNING")
    for pid in live_worker.children():
        os.kill(pid, signal.SIGKILL)
    execution = wait_done(execution, timeout=120)
    assert execution.status == "COMPLETED", execution.error
    video = NodeRun.objects.get(execution=execution, node_id="video")
    assert video.assets.count() >= 1


def test_rerunning_one_node_reuses_upstream_results_even_with_random_seeds(team, live_worker):
    from graph.models import Workflow

    nodes, edges = chain(prompt="random upstream", seed=None)
    workflow = Workflow.objects.create(team=team, name="w", nodes=nodes, edges=edges)
    first = wait_done(start(team, nodes, edges, workflow=workflow, target_node_id="upscale"))
    nodes[2]["data"]["config"]["scale"] = 4  # tweak the target only
    again = wait_done(start(team, nodes, edges, workflow=workflow, target_node_id="upscale"))
    assert states(again) == {"text": "COMPLETED", "preview": "CACHED", "upscale": "COMPLETED"}
    seed = NodeRun.objects.get(execution=first, node_id="preview").seed
    assert NodeRun.objects.get(execution=again, node_id="preview").seed == seed
    # A full run right after "Run to here" carries on from it: nothing unchanged is made twice.
    full = wait_done(start(team, nodes, edges, workflow=workflow))
    assert states(full) == {"text": "COMPLETED", "preview": "CACHED", "upscale": "CACHED",
                            "video": "COMPLETED"}
    # After a full run, the next full run with a random seed asks for a new picture.
    fresh = wait_done(start(team, nodes, edges, workflow=workflow))
    assert states(fresh)["preview"] == "COMPLETED"
    assert NodeRun.objects.get(execution=fresh, node_id="preview").seed != seed
