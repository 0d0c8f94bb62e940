"""Library models in whole runs (real worker, fal pointed at the simulator): what each run is
charged is what its estimate quoted, per image, per megapixel and per character."""

from __future__ import annotations

import pytest

from executions.models import NodeRun
from executions.services import execution_start
from tests.executions.test_remote_runs import _charges_match_the_estimate
from tests.executions.test_scheduler import wait_done
from tests.graph.builders import edge, node

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def team(make_team):
    return make_team(credits=10_000)


def test_a_text_to_image_model_feeds_an_upscaler_charged_by_megapixel(team, live_worker,
                                                                      simulator):
    nodes = [node("text", "input:text", {"prompt": "a lighthouse at dusk"}),
             node("dev", "generate:flux_1_dev", {"image_size": "landscape_4_3",
                                                 "num_images": 2, "seed": 5}),
             node("up", "process:upscale_clarity", {"upscale_factor": 2, "seed": 1})]
    edges = [edge("e1", "text", "prompt", "dev", "prompt"),
             edge("e2", "dev", "image", "up", "image")]
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=120)
    assert execution.status == "COMPLETED", execution.error
    dev = NodeRun.objects.get(execution=execution, node_id="dev")
    assert dev.assets.count() == 2
    assert {(a.width, a.height) for a in dev.assets.all()} == {(1024, 768)}
    upscaled = NodeRun.objects.get(execution=execution, node_id="up").assets.get()
    assert (upscaled.width, upscaled.height) == (2048, 1536)  # its first input, ×2
    # 2 images × 1 MP × 2.5 → 5; 3 MP out (2048×1536) × 3 → 9, as the estimate read it.
    assert _charges_match_the_estimate(execution, nodes, edges) == {"dev": 5, "up": 9}


def test_text_to_speech_is_stored_as_audio_and_charged_by_the_characters(team, live_worker,
                                                                         simulator):
    script = "Welcome to Wireflow. " * 10
    nodes = [node("text", "input:text", {"prompt": script}),
             node("tts", "generate:tts_elevenlabs", {"voice": "Aria"})]
    edges = [edge("e1", "text", "text", "tts", "text")]
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=120)
    assert execution.status == "COMPLETED", execution.error
    audio = NodeRun.objects.get(execution=execution, node_id="tts").assets.get()
    assert audio.kind == "audio" and audio.mime == "audio/mpeg"
    assert _charges_match_the_estimate(execution, nodes, edges) == {"tts": 3}  # 210 chars


def test_an_uploaded_input_is_quoted_at_its_own_size_and_charged_exactly_that(
        make_team, live_worker, simulator):
    """An uploaded 1600×1200 photo (1.83 MP, its size on the team's asset) into Clarity ×2: the
    quote reads the upload's size, so it is exact (no ceiling, no warning), the run reserves
    just that (a team with 30 credits runs it; quoted at the pixel cap, 192, it was refused),
    and the charge of the real 3200×2400 output equals it."""
    team = make_team(credits=30)
    import math

    from executions.assets import asset_upload, asset_url
    from executions.pricing import estimate
    from executions.sizing import known_sizes
    from tests.media_files import pillow

    upload = asset_upload(team=team, data=pillow("PNG", (1600, 1200)),
                          declared_mime="image/png")
    nodes = [node("photo", "input:image", {"url": asset_url(upload)}),
             node("up", "process:upscale_clarity", {"upscale_factor": 2, "seed": 3})]
    edges = [edge("e1", "photo", "image", "up", "image")]
    quoted = estimate(nodes, edges=edges, sizes=known_sizes(team.pk, nodes))
    (line,) = quoted["breakdown"]
    # The price rule on the real input: 1600×1200 × 2² = 7.32 MP → 8 MP × 3 credits.
    real = math.ceil(1600 * 1200 * 2 ** 2 / 1024 ** 2) * 3
    assert line["credits"] == real == 24 and "bound" not in line
    assert quoted["warnings"] == [] and quoted["estimateComplete"] is True
    balance = team.credit_balance

    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=120)
    assert execution.status == "COMPLETED", execution.error
    run = NodeRun.objects.get(execution=execution, node_id="up")
    upscaled = run.assets.get()
    assert (upscaled.width, upscaled.height) == (3200, 2400)
    assert run.credits == real
    assert execution.credits_estimated == execution.credits_charged == real
    team.refresh_from_db()
    assert team.credit_balance == balance - real


def _runs_1536_by_1024_at(vendor, team, nodes, edges, *, credits):
    """The graph's FLUX.2 [pro] node `pro` ran at `vendor`, made its 1536×1024 image and was
    charged `credits`, what the estimate quoted."""
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=120)
    assert execution.status == "COMPLETED", (vendor, execution.error)
    run = NodeRun.objects.get(execution=execution, node_id="pro")
    assert run.provider == vendor
    image = run.assets.get()
    assert (image.width, image.height) == (1536, 1024)
    assert _charges_match_the_estimate(execution, nodes, edges) == {"pro": credits}


def test_one_flux_2_pro_node_runs_at_either_vendor_and_is_charged_its_estimate(team, live_worker,
                                                                              simulator):
    """The vendor setting picks BFL's API or fal for the same node type; each run is charged
    exactly what its estimate quoted (1536×1024 = 1.5 MP → 3 + 1.5 credits → 5)."""
    for vendor in ("bfl", "fal"):
        nodes = [node("text", "input:text", {"prompt": "a lighthouse at dusk"}),
                 node("pro", "generate:flux_2_pro", {"vendor": vendor, "width": 1536,
                                                     "height": 1024, "seed": 4})]
        edges = [edge("e1", "text", "text", "pro", "prompt")]
        _runs_1536_by_1024_at(vendor, team, nodes, edges, credits=5)


def test_flux_2_pro_with_a_reference_image_runs_at_either_vendor_at_one_price(
        team, live_worker, simulator):
    """With a reference image wired in, the fal route goes to fal's edit app
    (fal-ai/flux-2-pro/edit) and BFL's to its own API; both bill the reference's megapixels,
    so each run is charged what it was quoted: 1536×1024 (2 MP) → 3 + 1.5, and the 512² Local
    Preview reference (0.25 MP, billed as 1) → 1.5: 6 credits."""
    from tests.executions.conftest import sim_requests

    for vendor in ("bfl", "fal"):
        nodes = [node("text", "input:text", {"prompt": "a lighthouse at dusk"}),
                 node("ref", "generate:local_preview", {"width": 512, "height": 512,
                                                        "seed": 2}),
                 node("pro", "generate:flux_2_pro", {"vendor": vendor, "width": 1536,
                                                     "height": 1024, "seed": 4})]
        edges = [edge("e1", "text", "text", "pro", "prompt"),
                 edge("e2", "text", "text", "ref", "prompt"),
                 edge("e3", "ref", "image", "pro", "reference_images")]
        _runs_1536_by_1024_at(vendor, team, nodes, edges, credits=6)
    posted = [e["path"] for e in sim_requests(simulator, "fal") if e["method"] == "POST"]
    assert posted[-1] == "/fal-ai/flux-2-pro/edit"


def test_a_vendor_that_delivers_a_larger_image_than_asked_is_charged_only_the_quote(
        team, live_worker, simulator):
    """fal (the simulator, told to) delivers FLUX.1 [dev] images twice the size asked on each
    side: 2048×1536, 3 MP each where the quote read 1024×768, 1 MP. The price rule on what was
    delivered is 2 × 3 × 2.5 = 15; the team was quoted (and reserved) 5, and pays 5."""
    import httpx

    from accounts.models import Team

    httpx.post(f"{simulator.url}/__sim/config", json={"oversize": 2}).raise_for_status()
    nodes = [node("text", "input:text", {"prompt": "a lighthouse at dusk"}),
             node("dev", "generate:flux_1_dev", {"image_size": "landscape_4_3",
                                                 "num_images": 2, "seed": 5})]
    edges = [edge("e1", "text", "prompt", "dev", "prompt")]
    before = Team.objects.get(pk=team.pk).credit_balance
    execution = wait_done(execution_start(team=team, nodes=nodes, edges=edges), timeout=120)
    assert execution.status == "COMPLETED", execution.error
    run = NodeRun.objects.get(execution=execution, node_id="dev")
    assert {(a.width, a.height) for a in run.assets.all()} == {(2048, 1536)}
    assert run.credits_quoted == run.credits == 5
    assert _charges_match_the_estimate(execution, nodes, edges) == {"dev": 5}
    assert execution.credits_charged <= execution.credits_reserved
    assert before - Team.objects.get(pk=team.pk).credit_balance == 5
