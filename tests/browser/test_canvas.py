"""The canvas as a designer uses it (issue 16): media-first nodes that keep their size after a
run, a grid for several outputs, and the viewer (previous / next across the run, A/B compare,
use as input, focus kept and given back)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SHOTS
from tests.browser.conftest import open_graph as _open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BOXES = """() => Array.from(document.querySelectorAll('.react-flow__node')).map(el => {
    const r = el.getBoundingClientRect();
    return {id: el.dataset.id, x: r.x, y: r.y, w: r.width, h: r.height};
})"""


def _overlapping(boxes):
    return [(a["id"], b["id"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]]


def test_nodes_keep_their_size_after_a_run_and_several_outputs_show_as_a_grid(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=500)
    # Two rows packed as tightly as the nodes' idle size allows: a node that grew after the run
    # would cover the one below it.
    _open(tab, server, team, designer, "Media first", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("big", "generate:local_preview", {"width": 2048, "height": 2048}),
        node("nano", "generate:nano_banana_2", {"num_images": 4}),
        node("up", "process:upscale_local", {"scale": 2}),
    ], [edge("e1", "prompt", "prompt", "big", "prompt"),
        edge("e2", "prompt", "prompt", "nano", "prompt"),
        edge("e3", "big", "image", "up", "image")], per_row=2, row_height=320)
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    before = {box["id"]: box for box in tab.evaluate(BOXES)}
    assert not _overlapping(list(before.values()))

    tab.click("[data-testid=run]")
    for node_id in ("big", "nano", "up"):
        tab.wait_for_selector(f"[data-testid=node-{node_id}][data-status=COMPLETED]",
                              timeout=90000)
    tab.wait_for_selector("[data-testid=node-nano] [data-testid=node-output][data-count='4']")
    assert tab.locator("[data-testid=node-nano] [data-testid=node-thumb]").count() == 4
    after = {box["id"]: box for box in tab.evaluate(BOXES)}
    for node_id in ("big", "nano", "up"):  # the media nodes did not grow at all
        assert after[node_id]["h"] == pytest.approx(before[node_id]["h"], abs=1), node_id
    assert not _overlapping(list(after.values()))
    # Previews load thumbnails, never the 2048² and 4096² files themselves.
    tab.wait_for_function("""() => Array.from(document.querySelectorAll('img.node-preview'))
        .every(img => img.complete && img.naturalWidth > 0)""", timeout=30000)
    widths = tab.eval_on_selector_all("img.node-preview", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 6 and max(widths) <= 1024, widths
    tab.screenshot(path=str(SHOTS / "editor-media-grid.png"))

    # Zoomed out, each node shows its label large and keeps its size (nothing moves).
    for _ in range(6):
        tab.click(".react-flow__controls-zoomout")
    tab.wait_for_selector(".canvas[data-zoomed-out=true]")
    assert tab.locator("[data-testid=node-nano] .node-overview").is_visible()
    label_px = tab.locator("[data-testid=node-nano] .node-overview-label").bounding_box()[
        "height"]
    assert label_px >= 10  # readable on screen even at this zoom
    tab.screenshot(path=str(SHOTS / "editor-zoomed-out.png"))


def test_the_viewer_pages_through_the_run_compares_two_and_gives_focus_back(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=500)
    created = _open(tab, server, team, designer, "Compare", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("nano", "generate:nano_banana_2", {"num_images": 2}),
        node("up", "process:upscale_local", {"scale": 2}),
    ], [edge("e1", "prompt", "prompt", "nano", "prompt"),
        edge("e2", "nano", "image", "up", "image")])
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-up][data-status=COMPLETED]", timeout=90000)

    opener = tab.locator("[data-testid=node-nano] [data-testid=node-thumb]").first
    opener.focus()
    tab.keyboard.press("Enter")
    viewer = tab.locator("[data-testid=viewer]")
    viewer.wait_for()
    assert tab.inner_text("[data-testid=viewer-position]") == "1 / 3"  # nano's two, up's one
    assert tab.evaluate("document.activeElement.dataset.testid") == "viewer-close"
    tab.keyboard.press("ArrowRight")
    assert tab.inner_text("[data-testid=viewer-position]") == "2 / 3"
    # Tab never leaves the dialog.
    for _ in range(15):
        tab.keyboard.press("Tab")
        assert tab.evaluate("!!document.activeElement.closest('[data-testid=viewer]')")

    tab.click("[data-testid=compare]")
    tab.wait_for_selector("[data-testid=compare-view] img >> nth=1")
    sources = tab.eval_on_selector_all("[data-testid=compare-view] img",
                                       "imgs => imgs.map(i => i.src)")
    assert len(set(sources)) == 2
    tab.screenshot(path=str(SHOTS / "viewer-compare.png"))
    tab.click("[data-testid=compare-swipe]")
    tab.locator("[data-testid=swipe]").fill("20")
    assert "20%" in tab.get_attribute("[data-testid=swipe-view] .swipe-top", "style")
    tab.screenshot(path=str(SHOTS / "viewer-swipe.png"))
    tab.click("[data-testid=compare-stop]")
    tab.click("[data-testid=viewer-previous]")  # back to nano's second image
    assert tab.inner_text("[data-testid=viewer-position]") == "2 / 3"

    # Use the second image as the upscaler's input: an Image Input wired into it, in place of
    # the edge its one image port had.
    tab.select_option("[data-testid=use-as-input]", label="up · Image")
    viewer.wait_for(state="detached")
    tab.wait_for_selector("[data-testid=node-image-1]")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    created.refresh_from_db()
    wired = [e for e in created.edges if e["target"] == "up"]
    assert [(e["source"], e["targetHandle"]) for e in wired] == [("image-1", "in-image")]
    image_input = next(n for n in created.nodes if n["id"] == "image-1")
    assert image_input["data"]["config"]["url"].split("?")[0] == sources[0].split("?")[0]
    assert not _overlapping(tab.evaluate(BOXES))

    # Esc closes the viewer and focus goes back to what opened it.
    opener.focus()
    tab.keyboard.press("Enter")
    viewer.wait_for()
    tab.keyboard.press("Escape")
    viewer.wait_for(state="detached")
    assert tab.evaluate("document.activeElement.dataset.testid") == "node-thumb"


def test_keyboard_and_quick_add_build_a_graph_without_dragging(tab, server, team, designer):
    from tests.graph.builders import node

    created = _open(tab, server, team, designer, "Keys", [
        node("prompt", "input:text", {"prompt": "a red kite"}),
    ], [])
    # Double-click the empty canvas: search, Enter adds the node where it was asked for.
    tab.dblclick(".react-flow__pane", position={"x": 420, "y": 420})
    tab.fill("[data-testid=quick-add-search]", "flux.2 [pro")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("[data-testid=node-flux-2-pro-1]")
    tab.wait_for_selector("[data-testid=quick-add]", state="detached")

    # The inspector wires the prompt into it from the keyboard.
    tab.click("[data-testid=node-flux-2-pro-1] .node-label")
    tab.select_option("[data-testid=wire-prompt]", label="prompt · Prompt")
    tab.wait_for_selector(".react-flow__edge.edge-text")
    # The shortcut list opens with ? and closes with Esc.
    tab.locator(".react-flow__pane").click(position={"x": 40, "y": 40})
    tab.keyboard.press("?")
    tab.wait_for_selector("[data-testid=shortcut-help]")
    tab.keyboard.press("Escape")
    tab.wait_for_selector("[data-testid=shortcut-help]", state="detached")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    created.refresh_from_db()
    assert [(e["source"], e["target"], e["targetHandle"]) for e in created.edges] == [
        ("prompt", "flux-2-pro-1", "in-prompt")]
    tab.screenshot(path=str(SHOTS / "editor-keyboard-wired.png"))

    # Focus a node from the keyboard, select it with Enter, move it with the arrow keys.
    tab.locator(".react-flow__node[data-id=prompt]").focus()
    tab.keyboard.press("Enter")
    for _ in range(5):
        tab.keyboard.press("ArrowRight")
    assert tab.input_value("[data-testid=inspector-label]") == "prompt"  # its inspector is open
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    before = {n["id"]: n["position"] for n in created.nodes}
    created.refresh_from_db()
    after = {n["id"]: n["position"] for n in created.nodes}
    assert after["prompt"]["x"] > before["prompt"]["x"]
    assert after["prompt"]["y"] == before["prompt"]["y"]


def test_a_list_of_prompts_runs_as_a_batch_with_a_grid_and_per_item_retry(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from executions.models import Batch
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=500)
    _open(tab, server, team, designer, "Batch", [
        node("prompt", "input:text", {"prompt": "a red kite"}),
        node("flux", "generate:flux_2_pro", {"width": 512, "height": 512}),
    ], [edge("e1", "prompt", "prompt", "flux", "prompt")])
    tab.click("[data-testid=node-prompt] .node-label")
    tab.fill("[data-testid=batch-lines]",
             "a red kite\nsim:request-moderated a blue kite\na green kite")
    tab.click("[data-testid=run-batch]:has-text('Run 3 as a batch')")
    tab.wait_for_selector("[data-testid=batch-panel] [data-testid=batch-item] >> nth=2")
    tab.wait_for_function("""() => {
        const items = [...document.querySelectorAll('[data-testid=batch-item]')];
        return items.length === 3 && items.filter(i => i.dataset.status === 'COMPLETED')
            .every(i => i.querySelector('img')?.naturalWidth > 0)
            && items.map(i => i.dataset.status).join() ===
            'COMPLETED,FAILED,COMPLETED';
    }""", timeout=90000)
    batch = Batch.objects.get()
    assert [item["prompt"] for item in batch.items] == [
        "a red kite", "sim:request-moderated a blue kite", "a green kite"]
    tab.screenshot(path=str(SHOTS / "editor-batch.png"))

    # Retry the failed item alone: the others keep their runs.
    first_runs = {r.run_index_in_batch: r.pk for r in batch.executions.all()}
    tab.click("[data-testid=batch-retry]")
    for _ in range(100):  # the new run of item 1 (moderated again: it fails again)
        if batch.executions.count() == 4:
            break
        tab.wait_for_timeout(100)
    runs = batch.executions.order_by("created_at")
    assert runs.count() == 4
    assert sorted(r.run_index_in_batch for r in runs if r.pk not in first_runs.values()) == [1]


def test_the_gallery_lists_outputs_with_provenance_favourites_and_a_zip(
        tab, server, team, designer):
    import zipfile

    from accounts.services import credits_grant
    from executions.models import Asset
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=500)
    _open(tab, server, team, designer, "Gallery", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("nano", "generate:nano_banana_2", {"num_images": 3}),
    ], [edge("e1", "prompt", "prompt", "nano", "prompt")])
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-nano][data-status=COMPLETED]", timeout=90000)

    tab.click("[data-testid=tab-gallery]")
    items = tab.locator("[data-testid=gallery-item]")
    items.nth(2).wait_for()
    assert items.count() == 3
    items.first.locator(".gallery-thumb").click()
    details = tab.inner_text("[data-testid=gallery-details]")
    assert "a red kite over the dunes" in details and "gemini" in details.lower()
    items.first.locator("[data-testid=gallery-favorite]").click()
    tab.wait_for_selector("[data-testid=gallery-favorite][aria-pressed=true]")
    assert Asset.objects.filter(favorite=True).count() == 1
    tab.check("[data-testid=gallery-favorites]")
    tab.wait_for_function(
        "() => document.querySelectorAll('[data-testid=gallery-item]').length === 1")
    tab.uncheck("[data-testid=gallery-favorites]")
    items.nth(2).wait_for()

    for index in (0, 1):
        items.nth(index).locator("[data-testid=gallery-choose]").check()
    with tab.expect_download() as download:
        tab.click("[data-testid=gallery-zip]")
    path = download.value.path()
    with zipfile.ZipFile(path) as archive:
        assert len(archive.namelist()) == 2
    tab.screenshot(path=str(SHOTS / "editor-gallery.png"))

    # A past run opens on the graph it ran, not today's: change the prompt, then open it.
    tab.click("[data-testid=tab-inspector]")
    tab.click("[data-testid=node-prompt] .node-label")
    tab.fill("#setting-prompt", "a blue kite today")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=tab-gallery]")
    items.first.locator(".gallery-thumb").click()
    tab.click("[data-testid=gallery-open-run]")
    tab.wait_for_selector("[data-testid=run-status]:has-text('past run')")
    assert tab.locator("[data-testid=read-only]").count() == 1  # nothing of it is edited
    tab.click("[data-testid=tab-inspector]")
    tab.click("[data-testid=node-prompt] .node-label")
    assert tab.input_value("#setting-prompt") == "a red kite over the dunes"
    tab.click("[data-testid=show-latest]")
    tab.wait_for_selector("[data-testid=read-only]", state="detached")
    tab.click("[data-testid=node-prompt] .node-label")
    assert tab.input_value("#setting-prompt") == "a blue kite today"

    # The team-wide page shows the same outputs.
    tab.goto(f"{server.url}/gallery")
    tab.locator("[data-testid=gallery-item]").nth(2).wait_for()
    tab.screenshot(path=str(SHOTS / "gallery-page.png"))


def test_a_frame_moves_the_nodes_inside_it_and_notes_take_a_colour(tab, server, team, designer):
    from tests.graph.builders import node

    created = _open(tab, server, team, designer, "Frames", [
        node("frame", "utility:frame", {"color": "green", "width": 700, "height": 420},
             label="Hero shots"),
        node("prompt", "input:text", {"prompt": "a red kite"}),
        node("note", "utility:sticky_note", {"text": "client wants teal", "color": "pink"}),
        node("outside", "input:text", {"prompt": "not framed"}),
    ], [], per_row=4)
    # Lay them out: prompt and note inside the frame, `outside` well away from it.
    layout = {"frame": (0, 0), "prompt": (40, 60), "note": (340, 60), "outside": (1000, 600)}
    for item in created.nodes:
        item["position"] = dict(zip("xy", layout[item["id"]]))
    created.save()
    tab.reload()
    tab.wait_for_selector("[data-testid=node-frame] .frame-title:has-text('Hero shots')")
    assert "note-pink" in tab.get_attribute("[data-testid=node-note]", "class")
    before = {box["id"]: box for box in tab.evaluate(BOXES)}

    title = tab.locator("[data-testid=node-frame] .frame-title").bounding_box()
    tab.mouse.move(title["x"] + 60, title["y"] + title["height"] / 2)
    tab.mouse.down()
    tab.mouse.move(title["x"] + 160, title["y"] + title["height"] / 2 + 80, steps=8)
    tab.mouse.up()
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    after = {box["id"]: box for box in tab.evaluate(BOXES)}
    moved = {key: (round(after[key]["x"] - before[key]["x"]),
                   round(after[key]["y"] - before[key]["y"])) for key in before}
    assert moved["frame"] != (0, 0)
    assert moved["prompt"] == moved["frame"] and moved["note"] == moved["frame"]
    assert moved["outside"] == (0, 0)
    created.refresh_from_db()
    saved = {n["id"]: n["position"] for n in created.nodes}
    assert saved["prompt"]["x"] - saved["frame"]["x"] == 40
    tab.screenshot(path=str(SHOTS / "editor-frame.png"))


def test_the_new_menu_saves_the_workflow_as_a_template_and_links_the_gallery(
        tab, server, team, designer):
    from graph.models import WorkflowTemplate
    from tests.graph.builders import node

    _open(tab, server, team, designer, "Keep me", [
        node("prompt", "input:text", {"prompt": "a red kite"}),
    ], [])
    tab.click("[data-testid=new-menu] summary")
    tab.click("[data-testid=save-as-template]")
    tab.wait_for_selector("[data-testid=notice]:has-text('as a team template')")
    assert WorkflowTemplate.objects.filter(team=team, name="Keep me").count() == 1
    tab.click("[data-testid=new-menu] summary")
    tab.click("[data-testid=from-template]")
    tab.wait_for_url(f"{server.url}/templates")
    tab.wait_for_selector("text=Keep me")


def test_mid_run_a_pinned_node_keeps_its_image_while_a_grid_fills_and_a_video_renders(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from executions.models import Execution
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=500)
    created = _open(tab, server, team, designer, "Mid-run", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("flux", "generate:flux_2_pro", {"width": 512, "height": 512}),
        node("nano", "generate:nano_banana_2", {"num_images": 4}),
        node("video", "generate:image_to_video_local", {"duration": 10, "fps": 30}),
    ], [edge("e1", "prompt", "prompt", "flux", "prompt"),
        edge("e2", "prompt", "prompt", "nano", "prompt"),
        edge("e3", "nano", "image", "video", "image")], per_row=2, row_height=320)
    tab.click("[data-testid=run]")
    # FLUX's image is all the pin needs: the ten-second video is cancelled mid-render (the
    # worker drops it at its next heartbeat) rather than waited for.
    tab.wait_for_selector("[data-testid=node-flux][data-status=COMPLETED]", timeout=120000)
    tab.wait_for_selector("[data-testid=node-video][data-status=RUNNING]", timeout=120000)
    tab.click("[data-testid=cancel]")
    tab.wait_for_selector("[data-testid=run-status]:has-text('cancelled')", timeout=30000)
    tab.click("[data-testid=node-flux] [data-testid=pin-output]")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)

    tab.click("[data-testid=run]")
    # The pinned FLUX is done at once (cached, free); Nano Banana draws four new images (a
    # random seed) and the video made from them renders.
    tab.wait_for_function("""() => {
        const status = id => document.querySelector(`[data-testid=node-${id}]`)?.dataset.status;
        return status('flux') === 'CACHED' && status('nano') === 'COMPLETED'
            && ['QUEUED', 'RUNNING'].includes(status('video'))
            && document.querySelectorAll('[data-testid=node-nano] img.node-preview').length === 4
            && [...document.querySelectorAll('[data-testid=node-nano] img.node-preview')]
                .every(img => img.complete && img.naturalWidth > 0);
    }""", timeout=120000, polling=100)
    tab.screenshot(path=str(SHOTS / "editor-mid-run-pinned-grid.png"))
    assert tab.locator("[data-testid=node-flux] [data-testid=node-pinned]").count() == 1
    latest = Execution.objects.filter(workflow=created).latest("created_at")
    assert latest.node_runs.get(node_id="flux").credits == 0
    tab.click("[data-testid=cancel]")
    tab.wait_for_selector("[data-testid=run-status]:has-text('cancelled')", timeout=30000)


def test_an_image_file_or_url_dropped_on_the_canvas_becomes_an_image_input(
        tab, server, team, designer):
    import base64
    import io

    from PIL import Image

    from tests.graph.builders import node

    created = _open(tab, server, team, designer, "Drops", [
        node("prompt", "input:text", {"prompt": "a red kite"}),
    ], [])
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(png, "PNG")
    tab.evaluate("""([data, x, y]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'moodboard.png', {type: 'image/png'}));
        const pane = document.querySelector('.react-flow__pane');
        for (const type of ['dragover', 'drop']) {
            pane.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                                    dataTransfer: transfer, clientX: x,
                                                    clientY: y}));
        }
    }""", [base64.b64encode(png.getvalue()).decode(), 500, 500])
    tab.wait_for_selector("[data-testid=node-image-1]")
    tab.evaluate("""([x, y]) => {
        const transfer = new DataTransfer();
        transfer.setData('text/uri-list', 'https://example.com/reference.jpg');
        const pane = document.querySelector('.react-flow__pane');
        pane.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true,
                                                  dataTransfer: transfer, clientX: x,
                                                  clientY: y}));
    }""", [700, 300])
    tab.wait_for_selector("[data-testid=node-image-2]")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    created.refresh_from_db()
    urls = {n["id"]: n["data"]["config"].get("url") for n in created.nodes
            if n["data"]["nodeType"] == "input:image"}
    assert urls["image-2"] == "https://example.com/reference.jpg"
    assert "/media/" in urls["image-1"] or "assets/" in urls["image-1"]


def test_two_nodes_connect_from_the_keyboard_through_the_connect_menu(
        tab, server, team, designer):
    from tests.graph.builders import node

    created = _open(tab, server, team, designer, "Connect menu", [
        node("brief", "input:text", {"prompt": "a lighthouse at dawn"}),
        node("flux", "generate:flux_2_pro", {}),
        node("up", "process:upscale_local", {"scale": 2}),
    ], [])
    # Focus the text node from the keyboard, select it, press C: the menu lists only the
    # inputs that take text (FLUX's prompt, from either of its two text outputs), not the
    # upscaler's image.
    tab.locator(".react-flow__node[data-id=brief]").focus()
    tab.keyboard.press("Enter")
    tab.keyboard.press("c")
    tab.wait_for_selector("[data-testid=connect-menu]")
    assert tab.evaluate("document.activeElement.dataset.testid") == "connect-search"
    choices = tab.locator("[data-testid=connect-choice]").all_inner_texts()
    assert choices == ["Prompt → flux · Prompt", "Text → flux · Prompt"], choices
    tab.keyboard.press("Enter")
    tab.wait_for_selector("[data-testid=connect-menu]", state="detached")
    tab.wait_for_selector(".react-flow__edge.edge-text", state="attached")

    # FLUX's Connect button: type to filter, arrows move, Esc closes and gives focus back.
    button = tab.locator("[data-testid=node-flux] [data-testid=connect-open]")
    button.focus()
    tab.keyboard.press("Enter")
    tab.wait_for_selector("[data-testid=connect-menu]")
    tab.keyboard.type("up")
    assert tab.locator("[data-testid=connect-choice]").all_inner_texts() == ["up · Image"]
    tab.screenshot(path=str(SHOTS / "editor-connect-menu.png"))
    tab.keyboard.press("Escape")
    tab.wait_for_selector("[data-testid=connect-menu]", state="detached")
    assert tab.evaluate("document.activeElement.dataset.testid") == "connect-open"
    tab.keyboard.press("Enter")
    tab.wait_for_selector("[data-testid=connect-choice]")
    tab.keyboard.press("ArrowDown")
    tab.keyboard.press("Enter")
    tab.wait_for_selector(".react-flow__edge.edge-image", state="attached")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    created.refresh_from_db()
    assert sorted((e["source"], e["target"], e["targetHandle"]) for e in created.edges) == [
        ("brief", "flux", "in-prompt"), ("flux", "up", "in-image")]
