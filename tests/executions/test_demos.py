"""The three demos `make run` seeds (issue 19), run to the end offline: the remote models are
answered by the provider simulator, everything else runs on the live worker as in production.
The finished cut is read back with ffmpeg: a video and an audio stream, three 5-second clips."""

from __future__ import annotations

import pytest

from executions.models import NodeRun
from executions.pricing import estimate
from executions.services import execution_start
from graph.demo import DEMO_WORKFLOWS
from tests.executions.test_scheduler import wait_done
from tests.media_files import probe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def demo(tag: str) -> dict:
    return next(spec for spec in DEMO_WORKFLOWS if tag in spec["tags"])


def run(team, spec: dict, timeout: float = 240):
    execution = wait_done(execution_start(team=team, nodes=spec["nodes"], edges=spec["edges"]),
                          timeout=timeout)
    assert execution.status == "COMPLETED", execution.error
    assert execution.simulated
    quoted = estimate(spec["nodes"], edges=spec["edges"])["estimatedCredits"]
    runs = NodeRun.objects.filter(execution=execution)
    assert execution.credits_charged == sum(r.credits for r in runs) <= quoted
    return execution, runs


def asset_bytes(node_run) -> bytes:
    asset = node_run.assets.get()
    with asset.file.open("rb") as handle:
        return handle.read()


def test_the_ad_demo_turns_a_brief_into_one_cut_with_a_voice_over(make_team, live_worker,
                                                                 simulator):
    team = make_team(credits=1_000)
    execution, runs = run(team, demo("ad"))
    by_id = {r.node_id: r for r in runs}
    prompts = [by_id[f"shot-{n}"].outputs["text"]["text"] for n in range(3)]
    assert len(set(prompts)) == 3 and all(prompts)  # three different shots from the LLM
    cut = by_id["cut"].assets.get()
    info = probe(asset_bytes(by_id["cut"]), "mp4")
    kinds = sorted(stream["kind"] for stream in info["streams"])
    assert kinds == ["audio", "video"], info
    video = next(s for s in info["streams"] if s["kind"] == "video")
    assert (video["codec"], video["width"], video["height"]) == ("h264", 1280, 720)
    assert info["duration"] == pytest.approx(15, abs=0.3)  # three 5-second Kling clips, cut
    assert cut.mime == "video/mp4" and info["faststart"]
    assert by_id["voice"].assets.get().kind == "audio" and by_id["voice"].credits > 0


def test_the_product_demo_cuts_out_places_and_upscales(make_team, live_worker, simulator):
    team = make_team(credits=1_000)
    _, runs = run(team, demo("product"))
    by_id = {r.node_id: r for r in runs}
    scene, upscaled = by_id["scene"].assets.get(), by_id["upscale"].assets.get()
    assert (upscaled.width, upscaled.height) == (scene.width * 2, scene.height * 2)
    cutout = by_id["cutout"].assets.get()
    assert cutout.mime == "image/png"  # background removal keeps transparency


def test_the_styles_demo_fans_one_prompt_out_into_a_contact_sheet(make_team, live_worker,
                                                                  simulator):
    team = make_team(credits=1_000)
    _, runs = run(team, demo("styles"))
    renders = [r for r in runs if r.node_id == "render"]
    assert sorted(r.item_index for r in renders) == list(range(12))
    prompts = sorted(r.outputs["text"]["text"] for r in runs if r.node_id == "prompt")
    assert len(prompts) == 12 and prompts[0].startswith("a red fox curled up in fresh snow, ")
    sheet = next(r for r in runs if r.node_id == "sheet")
    sizes = sorted((a.width, a.height) for a in sheet.assets.all())
    # 4 × 3 cells of 256 px, 8 px apart and around: the sheet, then the twelve images.
    assert (4 * 256 + 5 * 8, 3 * 256 + 4 * 8) in sizes and len(sizes) == 13
