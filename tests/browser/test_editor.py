"""The editor in Debian's Chromium, driven by Playwright, against daphne with a real Celery
worker, Redis and WebSockets: build a local chain from the palette, run it, watch it live."""

from __future__ import annotations

import os
import signal

import pytest

from tests.browser.conftest import PASSWORD, SHOTS, logged_in_tab
from tests.browser.conftest import open_graph as _open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def drop(page, node_type: str, x: int, y: int) -> None:
    page.drag_and_drop(f"[data-testid='palette-{node_type}']", ".react-flow__pane",
                       target_position={"x": x, "y": y})


def drag_edge(page, source: str, out: str, target: str, into: str) -> None:
    """Drag a new edge from an output handle over an input handle, not dropping it yet."""
    start = page.locator(f"[data-testid=node-{source}] [data-handleid=out-{out}]").bounding_box()
    end = page.locator(f"[data-testid=node-{target}] [data-handleid=in-{into}]").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)


def wire(page, source: str, out: str, target: str, into: str) -> None:
    drag_edge(page, source, out, target, into)
    page.mouse.up()


def test_build_a_local_chain_from_the_palette_and_watch_it_run(page, workflow):
    drop(page, "generate:local_preview", 30, 60)
    drop(page, "process:upscale_local", 540, 60)
    drop(page, "generate:image_to_video_local", 540, 540)
    for node_id in ("local-preview-1", "upscale-local-1", "image-to-video-local-1"):
        page.wait_for_selector(f"[data-testid=node-{node_id}]")
    page.click(".react-flow__controls-fitview")
    # Lint names the unwired inputs on their nodes, live.
    page.wait_for_selector("[data-testid=node-local-preview-1] .node-problem:has-text('Prompt')")
    page.screenshot(path=str(SHOTS / "editor-dropped.png"))

    # A mismatched edge (text into an image input): while it is dragged over the handle, the
    # handle and the edge show red; dropped, it is refused with its reason.
    drag_edge(page, "prompt", "prompt", "upscale-local-1", "image")
    page.wait_for_selector("[data-testid=node-upscale-local-1] "
                           "[data-handleid=in-image].connectingto:not(.valid)", timeout=5000)
    assert page.locator(".react-flow__connection.invalid").count() == 1
    page.screenshot(path=str(SHOTS / "editor-refusing-edge.png"))
    page.mouse.up()
    assert "gives text" in page.locator("[data-testid=notice]").inner_text(timeout=5000)
    assert page.locator(".react-flow__edge").count() == 0
    page.screenshot(path=str(SHOTS / "editor-refused-edge.png"))

    # A matching one shows green before it is dropped.
    drag_edge(page, "prompt", "prompt", "local-preview-1", "prompt")
    page.wait_for_selector("[data-testid=node-local-preview-1] "
                           "[data-handleid=in-prompt].connectingto.valid", timeout=5000)
    assert page.locator(".react-flow__connection.valid").count() == 1
    page.mouse.up()
    wire(page, "local-preview-1", "image", "upscale-local-1", "image")
    wire(page, "upscale-local-1", "image", "image-to-video-local-1", "image")
    assert page.locator(".react-flow__edge").count() == 3
    # Wired, the one problem left is the empty text going into the preview's prompt: shown on
    # the node it would fail, before anything runs.
    page.wait_for_function("() => document.querySelectorAll('.node-problem').length === 1",
                           timeout=5000)
    problem = page.locator("[data-testid=node-local-preview-1] .node-problem")
    assert problem.get_attribute("title") == "type the text into 'prompt'"
    page.screenshot(path=str(SHOTS / "editor-wired.png"))

    # Undo and redo the last edge.
    page.locator(".react-flow__pane").click(position={"x": 50, "y": 600})
    page.keyboard.press("Control+z")
    assert page.locator(".react-flow__edge").count() == 2
    page.keyboard.press("Control+Shift+z")
    assert page.locator(".react-flow__edge").count() == 3

    # Type the prompt in the inspector of the text node.
    page.locator("[data-testid=node-prompt]").click()
    page.fill("#setting-prompt", "a lighthouse at dusk, seen from the sea")
    page.wait_for_selector(".node-problem", state="detached", timeout=5000)
    page.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    page.wait_for_selector("[data-testid=run]:has-text('0 credits')")

    # Ctrl+Enter runs (a second press while it starts starts nothing: the history below holds
    # one run); catch the editor while the chain is part done and the rest is live.
    page.locator(".react-flow__pane").click(position={"x": 50, "y": 600})
    page.keyboard.press("Control+Enter")
    page.keyboard.press("Control+Enter")
    states = page.wait_for_function("""() => {
        const s = id => document.querySelector(`[data-testid=node-${id}]`)?.dataset.status;
        const states = ["local-preview-1", "upscale-local-1", "image-to-video-local-1"].map(s);
        return states[0] === "COMPLETED" && states[2] !== "COMPLETED" ? states : null;
    }""", timeout=60000, polling="raf").json_value()
    page.screenshot(path=str(SHOTS / "editor-mid-run.png"))
    assert states[2] in ("PENDING", "QUEUED", "RUNNING"), states
    assert page.locator("[data-testid=run-progress]").count() == 1

    for node_id in ("local-preview-1", "upscale-local-1", "image-to-video-local-1"):
        page.wait_for_selector(f"[data-testid=node-{node_id}][data-status=COMPLETED]",
                               timeout=90000)
    preview = page.locator("[data-testid=node-local-preview-1] img.node-preview")
    preview.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=preview.element_handle())
    # A video previews as its poster frame (a thumbnail) with a play mark; it plays in the viewer.
    page.wait_for_selector("[data-testid=node-image-to-video-local-1] .node-thumb "
                           "img.node-preview + .node-play")
    assert page.locator("[data-testid=node-local-preview-1] .node-problem").count() == 0
    page.wait_for_selector("[data-testid=run-status]:has-text('completed')")
    page.wait_for_selector("[data-testid=run-status]:has-text('4/4 nodes')")
    page.screenshot(path=str(SHOTS / "editor-completed.png"))

    # The output opens full size, with a download link.
    page.click("[data-testid=node-upscale-local-1] [data-testid=open-output]")
    full = page.locator("[data-testid=viewer] img")
    full.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1024",
                           arg=full.element_handle())
    assert page.locator("[data-testid=viewer] a[download]").count() == 1
    page.screenshot(path=str(SHOTS / "editor-output-full-size.png"))
    page.click("[data-testid=viewer] button:has-text('Close')")

    # The history lists the run with its thumbnail; opening it shows its outputs.
    page.click("[data-testid=tab-history]")
    item = page.locator("[data-testid=history-item]")
    item.first.wait_for()
    assert item.count() == 1
    assert "completed" in item.first.inner_text().lower()
    assert item.first.locator("img").count() == 1
    page.screenshot(path=str(SHOTS / "editor-history.png"))
    page.reload()
    page.wait_for_selector("[data-testid=node-upscale-local-1][data-status=COMPLETED]")
    page.click("[data-testid=tab-history]")
    page.click("[data-testid=history-item]")
    page.wait_for_selector("[data-testid=run-status]:has-text('past run')")
    page.wait_for_selector("[data-testid=node-local-preview-1] img.node-preview")
    page.click("[data-testid=show-latest]")
    page.wait_for_selector("[data-testid=run-status]:has-text('past run')", state="detached")
    page.wait_for_selector("[data-testid=run-status]:has-text('completed')")

    # The API panel has the real ids, and rotating the webhook changes its URL.
    page.click("[data-testid=tab-api]")
    assert page.input_value("[data-testid=api-workflow-id]") == str(workflow.pk)
    snippet = page.inner_text("[data-testid=api-snippet]")
    assert f"/workflows/{workflow.pk}/execute" in snippet
    execution_id = workflow.executions.get().pk
    assert f"/workflows/executions/{execution_id}/poll" in snippet
    old_url = page.input_value("[data-testid=api-webhook-url]")
    assert workflow.webhook_id in old_url
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=rotate-webhook]")
    page.wait_for_function(
        "old => document.querySelector('[data-testid=api-webhook-url]').value !== old",
        arg=old_url)
    workflow.refresh_from_db()
    assert workflow.webhook_id in page.input_value("[data-testid=api-webhook-url]")
    page.screenshot(path=str(SHOTS / "editor-api-panel.png"))

    # Run up to the upscaler: the video node is not part of that run.
    page.click("[data-testid=node-upscale-local-1] .node-label")
    page.click("[data-testid=run-to-here]")
    page.wait_for_function("""() => {
        const bar = document.querySelector('[data-testid=run-status]')?.textContent ?? '';
        return !bar.includes('past run') && bar.includes('3/3 nodes')
               && bar.toLowerCase().includes('completed');
    }""", timeout=60000)
    assert page.get_attribute("[data-testid=node-image-to-video-local-1]", "data-status") == ""
    assert page.get_attribute("[data-testid=node-upscale-local-1]", "data-status") in (
        "COMPLETED", "CACHED")


def test_edit_the_canvas_copy_paste_layout_and_inspector(page, workflow, designer):
    drop(page, "generate:local_preview", 540, 40)
    drop(page, "generate:image_to_video_local", 540, 520)
    page.wait_for_selector("[data-testid=node-image-to-video-local-1]")
    wire(page, "prompt", "prompt", "local-preview-1", "prompt")
    wire(page, "local-preview-1", "image", "image-to-video-local-1", "image")
    assert page.locator(".react-flow__edge").count() == 2

    # Rename in place with a double click.
    page.dblclick("[data-testid=node-local-preview-1] .node-label")
    page.fill("[data-testid=node-local-preview-1] .node-label-input", "Hero shot")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=node-local-preview-1] .node-label:has-text('Hero shot')")

    # Inspector: aspect presets keep sizes valid, the readout follows, seeds randomize.
    page.click("[data-testid=node-local-preview-1] .node-label")
    assert page.input_value("[data-testid=inspector-label]") == "Hero shot"
    page.click("[data-testid=aspect-16\\:9]")
    width = int(page.input_value("#setting-width"))
    height = int(page.input_value("#setting-height"))
    assert width % 8 == 0 and height % 8 == 0 and width > height
    assert abs(width / height - 16 / 9) < 0.02
    assert "16:9" in page.inner_text("[data-testid=megapixels]")
    page.fill("#setting-width", "2047")
    assert "will be" in page.inner_text("[data-testid=megapixels]")
    page.press("#setting-width", "Enter")
    width = int(page.input_value("#setting-width"))
    height = int(page.input_value("#setting-height"))
    assert width % 8 == 0 and width * height <= 4 * 1024 * 1024
    assert page.input_value("#setting-seed") == ""
    page.click("[data-testid=seed-randomize]")
    assert page.input_value("#setting-seed").isdigit()
    assert "credit" in page.inner_text("[data-testid=node-cost]")
    page.screenshot(path=str(SHOTS / "editor-inspector-size.png"))

    # Sliders for bounded numbers.
    page.click("[data-testid=node-image-to-video-local-1] .node-label")
    page.locator("[data-testid=slider-fps]").fill("30")
    assert page.input_value("#setting-fps") == "30"

    # Multi-select with Shift.
    page.click("[data-testid=node-prompt] .node-label")
    page.click("[data-testid=node-local-preview-1] .node-label", modifiers=["Shift"])
    assert "2 nodes selected" in page.inner_text("[data-testid=inspector]")

    # Copy and paste, duplicate, delete and undo.
    page.locator(".react-flow__pane").click(position={"x": 20, "y": 20})
    page.click("[data-testid=node-local-preview-1] .node-label")
    assert page.input_value("[data-testid=inspector-label]") == "Hero shot"
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    page.wait_for_selector("[data-testid=node-local-preview-2]")
    assert "Hero shot" in page.inner_text("[data-testid=node-local-preview-2] .node-label")
    page.keyboard.press("Control+d")
    page.wait_for_selector("[data-testid=node-local-preview-3]")
    page.keyboard.press("Delete")
    page.wait_for_selector("[data-testid=node-local-preview-3]", state="detached")
    page.keyboard.press("Control+z")
    page.wait_for_selector("[data-testid=node-local-preview-3]")

    # Auto-layout leaves no two nodes overlapping (once lint has flagged the unwired copies,
    # so no node grows after the layout).
    page.wait_for_selector("[data-testid=node-local-preview-3] .node-problem")
    page.wait_for_timeout(300)
    page.click("[data-testid=auto-layout]")
    page.wait_for_timeout(400)
    boxes = [page.locator(f"[data-testid=node-{n}]").bounding_box() for n in (
        "prompt", "local-preview-1", "local-preview-2", "local-preview-3",
        "image-to-video-local-1")]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, (a, b)
    prompt_x = boxes[0]["x"]
    assert prompt_x < boxes[1]["x"] < boxes[4]["x"]
    page.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    page.screenshot(path=str(SHOTS / "editor-layout.png"))

    # The saved JSON is api.md's shape, with the new label and settings.
    workflow.refresh_from_db()
    saved = {n["id"]: n for n in workflow.nodes}
    assert saved["local-preview-1"]["data"]["label"] == "Hero shot"
    assert saved["local-preview-1"]["type"] == "basedNode"
    assert isinstance(saved["local-preview-1"]["data"]["config"]["seed"], int)
    assert saved["image-to-video-local-1"]["data"]["config"]["fps"] == 30
    assert len(workflow.edges) == 2

    # Someone saves from a second page (the same account in another tab: its save even takes
    # the place of this tab's last version): this tab, with nothing unsaved, is told over its
    # socket and shows that save in place, saying who saved, without saving anything itself.
    from accounts.selectors import principal_for_user
    from graph.models import WorkflowVersion
    from graph.services import workflow_patch_node

    writes: list[str] = []

    def watch(request):  # what this tab sends that could save (lint and estimate only read)
        if (request.method != "GET" and "/api/v1/workflows" in request.url
                and not request.url.endswith(("/lint", "/estimate"))):
            writes.append(f"{request.method} {request.url}")

    page.on("request", watch)
    other = page.context.new_page()
    other.goto(page.url)
    other.dblclick("[data-testid=node-image-to-video-local-1] .node-label")
    other.fill("[data-testid=node-image-to-video-local-1] .node-label-input", "Teaser")
    other.keyboard.press("Enter")

    def label_of(node_id):
        workflow.refresh_from_db()
        return {n["id"]: n for n in workflow.nodes}[node_id]["data"]["label"]

    for _ in range(100):  # its autosave, 1.5 s after the edit
        if label_of("image-to-video-local-1") == "Teaser":
            break
        other.wait_for_timeout(100)
    assert label_of("image-to-video-local-1") == "Teaser"
    page.wait_for_selector("[data-testid=node-image-to-video-local-1] "
                           ".node-label:has-text('Teaser')", timeout=15000)
    who = designer.get_full_name().strip() or designer.get_username()
    page.wait_for_selector(f"[data-testid=notice]:has-text('{who} saved v{workflow.version}')")
    assert page.locator("[data-testid=save-state][data-state=saved]").count() == 1
    other.close()
    page.remove_listener("request", watch)
    assert writes == []
    # Then a teammate saves while this tab has an edit unsaved (here through the service, at
    # once): the edits touch different nodes, so the tab offers the merge and overwrites
    # nothing until told.
    page.click("[data-testid=node-prompt] .node-label")
    page.fill("#setting-prompt", "mine")
    workflow_patch_node(workflow=workflow, actor=principal_for_user(designer),
                        node_id="local-preview-1", patch={"label": "Hero"}, strict=False)
    page.wait_for_selector("[data-testid=conflict][data-state=clean]", timeout=15000)
    workflow.refresh_from_db()
    assert {n["id"]: n for n in workflow.nodes}["prompt"]["data"]["config"]["prompt"] != "mine"
    page.screenshot(path=str(SHOTS / "editor-conflict.png"))
    page.click("[data-testid=merge-theirs]")
    page.wait_for_selector("[data-testid=notice]:has-text('Merged your changes with')",
                           timeout=15000)
    assert page.locator("[data-testid=save-state][data-state=saved]").count() == 1
    page.wait_for_selector("[data-testid=node-image-to-video-local-1] "
                           ".node-label:has-text('Teaser')")
    workflow.refresh_from_db()
    saved_nodes = {n["id"]: n for n in workflow.nodes}
    assert saved_nodes["prompt"]["data"]["config"]["prompt"] == "mine"
    assert saved_nodes["image-to-video-local-1"]["data"]["label"] == "Teaser"
    assert saved_nodes["local-preview-1"]["data"]["label"] == "Hero"
    assert WorkflowVersion.objects.get(workflow=workflow, number=workflow.version).note \
        .startswith("merged with ")


def test_workflows_page_create_rename_duplicate_delete_search_and_switch_team(
        tab, server, team, designer, make_team):
    from accounts.selectors import principal_for_user
    from accounts.services import membership_set
    from graph.services import workflow_create
    from tests.graph.builders import node

    other = make_team(name="Agency B")
    membership_set(team=other, user=designer, role="viewer")
    actor = principal_for_user(designer)
    for name, in_team in (("Lookbook hero", team), ("Teaser video", team), ("Agency deck", other)):
        workflow_create(team=in_team, actor=actor, name=name,
                        nodes=[node("p", "input:text", {"prompt": "x"})], edges=[],
                        strict=False)
    tab.goto(f"{server.url}/")
    rows = tab.locator("[data-testid=workflow-row]")
    rows.first.wait_for()
    assert rows.count() == 3

    # The team switcher narrows the list; a viewer's team offers no edits.
    tab.select_option("[data-testid=team-switcher]", label="Agency B")
    assert rows.count() == 1 and "Agency deck" in rows.first.inner_text()
    assert rows.first.locator("[data-testid=rename]").count() == 0
    assert tab.locator("[data-testid=create-workflow]").is_disabled()
    tab.select_option("[data-testid=team-switcher]", label=team.name)
    assert rows.count() == 2
    tab.reload()  # the choice is remembered
    rows.first.wait_for()
    assert rows.count() == 2

    # Search.
    tab.fill("[data-testid=search-workflows]", "teaser")
    assert rows.count() == 1
    tab.fill("[data-testid=search-workflows]", "")

    # Rename, duplicate, delete.
    row = tab.locator("[data-testid=workflow-row][data-name='Lookbook hero']")
    row.locator("[data-testid=rename]").click()
    tab.fill("[data-testid=rename-input]", "Lookbook hero v2")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("[data-testid=workflow-row][data-name='Lookbook hero v2']")
    tab.click("[data-testid=workflow-row][data-name='Lookbook hero v2'] [data-testid=duplicate]")
    tab.wait_for_selector("[data-testid=workflow-row][data-name='Lookbook hero v2 (copy)']")
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.click("[data-testid=workflow-row][data-name='Teaser video'] [data-testid=delete]")
    tab.wait_for_selector("[data-testid=workflow-row][data-name='Teaser video']",
                          state="detached")
    tab.screenshot(path=str(SHOTS / "workflows-list.png"))

    # Create: named in a prompt, then opened in the editor.
    tab.once("dialog", lambda dialog: dialog.accept("Spring campaign"))
    tab.click("[data-testid=create-workflow]")
    tab.wait_for_url("**/workflows/*")
    tab.wait_for_selector("[data-testid=node-prompt-1]")
    from graph.models import Workflow
    created = Workflow.objects.get(name="Spring campaign")
    assert created.team_id == team.pk
    assert sorted(Workflow.objects.filter(team=team, deleted_at__isnull=True)
                  .values_list("name", flat=True)) == [
        "Lookbook hero v2", "Lookbook hero v2 (copy)", "Spring campaign"]

    # Log out from the editor.
    tab.click("form.logout button")
    tab.wait_for_url("**/login/")
    tab.goto(f"{server.url}/")
    assert "/login/" in tab.url


def test_a_failed_node_shows_its_reason_skips_the_rest_and_a_slow_run_cancels(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from tests.graph.builders import edge, node

    _open(tab, server, team, designer, "Moderated", [
        node("prompt", "input:text", {"prompt": "sim:request-moderated a fox"}),
        node("flux", "generate:flux_2_pro", {"width": 1024, "height": 1024}),
        node("up", "process:upscale_local", {"scale": 2}),
    ], [edge("e1", "prompt", "prompt", "flux", "prompt"),
        edge("e2", "flux", "image", "up", "image")])
    # The team has no credits yet: the Run button says so, and a run is refused with why.
    tab.wait_for_selector("[data-testid=run]:has-text('3 credits (not enough)')")
    tab.click("[data-testid=run]")
    assert "Insufficient credits" in tab.inner_text("[data-testid=notice]", timeout=10000)
    credits_grant(team=team, amount=100)
    tab.reload()
    tab.wait_for_selector("[data-testid=run]:has-text('3 credits')")
    assert "not enough" not in tab.inner_text("[data-testid=run]")

    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-flux][data-status=FAILED]", timeout=60000)
    tab.wait_for_selector("[data-testid=node-up][data-status=SKIPPED]", timeout=30000)
    reason = tab.inner_text("[data-testid=node-flux] [data-testid=node-error]")
    assert "moderat" in reason.lower()
    tab.wait_for_selector("[data-testid=run-status]:has-text('failed')")
    tab.screenshot(path=str(SHOTS / "editor-failed-node.png"))

    # A slow job: cancel it from the toolbar while it runs.
    tab.click("[data-testid=node-prompt] .node-label")
    tab.fill("#setting-prompt", "sim:slow a fox")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-flux][data-status=RUNNING]", timeout=60000)
    tab.click("[data-testid=cancel]")
    tab.wait_for_selector("[data-testid=run-status]:has-text('cancelled')", timeout=30000)
    tab.wait_for_selector("[data-testid=node-flux][data-status=CANCELLED]", timeout=30000)
    assert tab.locator("[data-testid=run]").count() == 1
    tab.screenshot(path=str(SHOTS / "editor-cancelled.png"))


def test_lock_the_seed_a_run_drew_and_the_next_run_reproduces_it_for_free(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from executions.models import Execution
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=100)
    created = _open(tab, server, team, designer, "Keep this one", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": None}),
    ], [edge("e1", "prompt", "prompt", "flux", "prompt")])
    tab.wait_for_selector("[data-testid=run]:has-text('credits')")
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-flux][data-status=COMPLETED]", timeout=60000)
    seed_text = tab.inner_text("[data-testid=node-flux] [data-testid=node-seed]", timeout=10000)
    drawn = int(seed_text.split()[1])
    first = Execution.objects.filter(workflow=created).latest("created_at")
    assert first.node_runs.get(node_id="flux").seed == drawn and first.credits_charged > 0

    tab.click("[data-testid=node-flux] [data-testid=lock-seed]")
    tab.wait_for_selector("[data-testid=node-flux] [data-testid=unlock-seed]")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-flux][data-status=CACHED]", timeout=60000)
    again = Execution.objects.filter(workflow=created).latest("created_at")
    assert again.pk != first.pk
    assert again.node_runs.get(node_id="flux").seed == drawn
    assert again.credits_charged == 0
    tab.screenshot(path=str(SHOTS / "editor-seed-locked.png"))


def test_pin_an_output_and_later_runs_keep_it_for_free_until_unpinned(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from executions.models import Execution
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=200)
    created = _open(tab, server, team, designer, "Pin it", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": None}),
    ], [edge("e1", "prompt", "prompt", "flux", "prompt")])
    tab.wait_for_selector("[data-testid=run]:has-text('credits')")
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-flux][data-status=COMPLETED]", timeout=60000)
    first = Execution.objects.filter(workflow=created).latest("created_at")
    image = tab.get_attribute("[data-testid=node-flux] .node-preview", "src")

    tab.click("[data-testid=node-flux] [data-testid=pin-output]")
    tab.wait_for_selector("[data-testid=node-flux] [data-testid=node-pinned]")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    created.refresh_from_db()
    assert next(n for n in created.nodes if n["id"] == "flux")["data"]["pinned"] == {
        "executionId": str(first.pk)}
    tab.wait_for_selector("[data-testid=run]:has-text('0 credits')")

    # A new prompt: the pinned image stays, costs nothing, and the node says it is outdated.
    tab.locator("[data-testid=node-prompt]").click()
    tab.fill("#setting-prompt", "a blue kite over the dunes")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-flux] [data-testid=node-stale]", timeout=60000)
    tab.wait_for_selector("[data-testid=node-flux][data-status=CACHED]", timeout=60000)
    pinned_run = Execution.objects.filter(workflow=created).latest("created_at")
    assert pinned_run.pk != first.pk and pinned_run.credits_charged == 0
    assert pinned_run.node_runs.get(node_id="flux").pinned
    assert tab.get_attribute("[data-testid=node-flux] .node-preview", "src").split("?")[0] == \
        image.split("?")[0]
    tab.screenshot(path=str(SHOTS / "editor-pinned.png"))

    tab.click("[data-testid=node-flux] [data-testid=unpin-output]")
    tab.wait_for_selector("[data-testid=node-flux] [data-testid=node-pinned]", state="detached")
    tab.wait_for_selector("[data-testid=node-flux] [data-testid=node-stale]", state="detached")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=run]")
    tab.wait_for_function(
        "() => document.querySelector('[data-testid=node-flux]')?.dataset.status === 'COMPLETED'"
        " && document.querySelectorAll('[data-testid=node-flux] [data-testid=pin-output]').length"
        " === 1", timeout=60000)
    latest = Execution.objects.filter(workflow=created).latest("created_at")
    assert latest.pk != pinned_run.pk and latest.credits_charged > 0


def test_saved_problems_show_on_the_nodes_and_edges_they_name(tab, server, team, designer):
    from tests.graph.builders import edge, node

    _open(tab, server, team, designer, "Broken", [
        node("prompt", "input:text", {"prompt": "<img src=x onerror=alert(1)>"},
             label="<b>Idea</b>"),
        node("up", "process:upscale_local", {"scale": 2}),
    ], [edge("bad", "prompt", "prompt", "up", "image")])
    tab.wait_for_selector(".react-flow__edge.edge-problem")
    assert "type mismatch" in tab.text_content(".react-flow__edge.edge-problem")
    tab.wait_for_selector("[data-testid=node-up].has-problem")
    # User text is text: a label or prompt that looks like markup is shown as typed.
    assert tab.inner_text("[data-testid=node-prompt] .node-label") == "<b>Idea</b>"
    assert tab.locator(".react-flow__node b, .react-flow__node img").count() == 0
    tab.screenshot(path=str(SHOTS / "editor-lint-problems.png"))
    # Deleting the bad edge clears its problem, live.
    tab.click(".react-flow__edge.edge-problem", force=True)
    tab.keyboard.press("Delete")
    tab.wait_for_selector(".react-flow__edge", state="detached")
    tab.wait_for_selector(".react-flow__edge.edge-problem", state="detached")


def test_add_an_image_input_from_the_palette_and_upload_a_file(page, tmp_path):
    from PIL import Image

    picture = tmp_path / "moodboard.png"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(picture)
    page.fill("[aria-label='Search nodes']", "image input")
    assert page.locator(".palette-item").count() == 1
    page.dblclick("[data-testid='palette-input:image']")
    page.wait_for_selector("[data-testid=node-image-1]")
    page.click("[data-testid=node-image-1] .node-label")
    page.set_input_files("[data-testid=upload]", str(picture))
    # A URL of ours: /media/… on the file system, the bucket's endpoint under tests.s3_suite.
    from django.core.files.storage import default_storage

    ours = getattr(default_storage, "endpoint_url", None) or "/media/"
    page.wait_for_function("ours => document.querySelector('#setting-url').value.includes(ours)",
                           arg=ours)
    preview = page.locator(".inspector img.url-preview")
    page.wait_for_function("img => img.complete && img.naturalWidth === 64",
                           arg=preview.element_handle())
    page.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)


FRAME_RECORDER = """() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (now) => {
        window.__frames.push(now - last);
        last = now;
        if (window.__frames.length < 10000) window.__recording = requestAnimationFrame(tick);
    };
    window.__recording = requestAnimationFrame(tick);
}"""


def test_a_200_node_graph_pans_and_zooms(tab, server, team, designer):
    """Figures are printed; the bound is loose (a shared 2-core machine), but a canvas that
    re-rendered every node per frame would not meet it."""
    from statistics import median

    from tests.graph.builders import edge, node

    nodes, edges = [], []
    for i in range(50):
        nodes += [node(f"t{i}", "input:text", {"prompt": f"idea {i}"}),
                  node(f"p{i}", "generate:local_preview", {"width": 512, "height": 512})]
        edges.append(edge(f"e{i}", f"t{i}", "prompt", f"p{i}", "prompt"))
    _open(tab, server, team, designer, "Big", nodes, edges)
    tab.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    tab.keyboard.press("Control+a")
    tab.keyboard.press("Control+c")
    tab.keyboard.press("Control+v")  # 200 nodes: more than a save may hold, fine for the canvas
    tab.wait_for_function(
        "() => document.querySelectorAll('.react-flow__minimap-node').length === 200")
    count = tab.evaluate("() => document.querySelectorAll('.react-flow__node').length")
    # The draft is over the API's cap: the editor says so instead of failing quietly.
    tab.wait_for_selector("[data-testid=notice]:has-text('at most 100 are allowed')",
                          timeout=15000)
    tab.click(".react-flow__controls-fitview")
    tab.wait_for_timeout(300)
    before = tab.get_attribute(".react-flow__viewport", "style")

    pane = tab.locator(".react-flow__pane").bounding_box()
    x, y = pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2
    tab.evaluate(FRAME_RECORDER)
    tab.mouse.move(x, y)
    tab.mouse.down()
    for step in range(40):
        tab.mouse.move(x - step * 8, y - step * 4)
    tab.mouse.up()
    for _ in range(10):
        tab.mouse.wheel(0, -120)
        tab.wait_for_timeout(30)
    frames = tab.evaluate("() => { cancelAnimationFrame(window.__recording); "
                          "return window.__frames.slice(1); }")
    after = tab.get_attribute(".react-flow__viewport", "style")
    assert after != before
    tab.screenshot(path=str(SHOTS / "editor-200-nodes.png"))
    print(f"\n200-node canvas: {count} nodes in the DOM, {len(frames)} frames, "
          f"median {median(frames):.1f} ms, worst {max(frames):.1f} ms")
    assert median(frames) < 100


def test_a_viewer_sees_the_workflow_read_only(browser, server, team, workflow, make_user):
    viewer = make_user(team=team, role="viewer", username="client")
    viewer.set_password(PASSWORD)
    viewer.save()
    tab = logged_in_tab(browser, server, "client")
    tab.goto(f"{server.url}/workflows/{workflow.pk}")
    tab.wait_for_selector("[data-testid=node-prompt]")
    tab.wait_for_selector("[data-testid=read-only]")
    assert tab.locator("[data-testid=run]").count() == 0
    assert tab.locator("[data-testid=auto-layout]").count() == 0
    tab.click("[data-testid=node-prompt] .node-label")
    assert tab.locator("#setting-prompt").is_disabled()
    tab.keyboard.press("Delete")
    tab.wait_for_timeout(300)
    assert tab.locator("[data-testid=node-prompt]").count() == 1
    tab.screenshot(path=str(SHOTS / "editor-viewer.png"))
    tab.context.close()


def test_the_editor_reconnects_after_the_server_restarts_and_catches_up(
        tab, server, team, designer):
    """Events sent while the socket is down are lost; the poll after reconnecting is what
    brings the canvas up to date. (A kill, not SIGTERM: daphne with an open socket can take
    more than 20 s to stop gracefully.)"""
    from tests.graph.builders import edge, node

    _open(tab, server, team, designer, "Restart", [
        node("prompt", "input:text", {"prompt": "a harbour at noon"}),
        node("preview", "generate:local_preview", {"width": 512, "height": 512}),
        node("up", "process:upscale_local", {"scale": 2}),
        node("video", "generate:image_to_video_local", {"duration": 2}),
    ], [edge("e1", "prompt", "prompt", "preview", "prompt"),
        edge("e2", "preview", "image", "up", "image"),
        edge("e3", "up", "image", "video", "image")])
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]")
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-preview][data-status]:not([data-status=''])")
    os.killpg(server.process.pid, signal.SIGKILL)  # the server dies mid-run
    server.process.wait(timeout=10)
    tab.wait_for_selector("[data-testid=reconnecting]", timeout=10000)
    assert tab.get_attribute("[data-testid=node-video]", "data-status") != "COMPLETED"
    tab.wait_for_timeout(4000)  # the worker goes on: the rest finishes while we are away
    server.start()
    tab.wait_for_selector("[data-testid=reconnecting]", state="detached", timeout=30000)
    for node_id in ("preview", "up", "video"):
        tab.wait_for_selector(f"[data-testid=node-{node_id}][data-status=COMPLETED]",
                              timeout=60000)
    tab.wait_for_selector("[data-testid=run-status]:has-text('completed')")
    tab.wait_for_selector("[data-testid=node-video] .node-thumb img.node-preview + .node-play")
    # A preview whose first load hit the dead server loads once it is back.
    for node_id in ("preview", "up"):
        tab.wait_for_function("""id => {
            const img = document.querySelector(`[data-testid=node-${id}] img.node-preview`);
            return img && img.complete && img.naturalWidth > 0;
        }""", arg=node_id, timeout=40000)
    tab.screenshot(path=str(SHOTS / "editor-after-reconnect.png"))
