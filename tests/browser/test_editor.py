"""The editor in Debian's Chromium, driven by Playwright, against daphne with a real Celery
worker, Redis and WebSockets: build a local chain from the palette, run it, watch it live."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
# Playwright's sync API runs an event loop in this thread; the ORM calls the fixtures make are
# still plain synchronous calls, so tell Django they are safe here (tests only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "browser"


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: make test installs it (apt-get install "
                    "chromium)")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()


@pytest.fixture
def server(live_worker):
    from tests.conftest import LIVE_SERVER_URL
    from tests.live import LiveServer

    live = LiveServer(url=LIVE_SERVER_URL).start()
    yield live
    live.stop()


@pytest.fixture
def page(browser, server, team, make_user):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.graph.builders import node

    user = make_user(team=team, role="editor", username="designer")
    user.set_password("a long browser password")
    user.save()
    workflow, _ = workflow_create(
        team=team, actor=principal_for_user(user), name="Browser run",
        nodes=[node("prompt", "input:text", {"prompt": ""})], edges=[], strict=False)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.goto(f"{server.url}/login/")
    tab.fill("input[name=username]", "designer")
    tab.fill("input[name=password]", "a long browser password")
    tab.click("[type=submit]")
    tab.goto(f"{server.url}/workflows/{workflow.pk}")
    tab.wait_for_selector("[data-testid=node-prompt]")
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield tab
    context.close()


def drop(page, node_type: str, x: int, y: int) -> None:
    page.drag_and_drop(f"[data-testid='palette-{node_type}']", ".react-flow__pane",
                       target_position={"x": x, "y": y})


def wire(page, source: str, out: str, target: str, into: str) -> None:
    start = page.locator(f"[data-testid=node-{source}] [data-handleid=out-{out}]").bounding_box()
    end = page.locator(f"[data-testid=node-{target}] [data-handleid=in-{into}]").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def test_build_a_local_chain_from_the_palette_and_watch_it_run(page):
    drop(page, "generate:local_preview", 30, 60)
    drop(page, "process:upscale_local", 540, 60)
    drop(page, "generate:image_to_video_local", 540, 540)
    for node_id in ("local-preview-1", "upscale-local-1", "image-to-video-local-1"):
        page.wait_for_selector(f"[data-testid=node-{node_id}]")
    page.click(".react-flow__controls-fitview")

    page.screenshot(path=str(SHOTS / "editor-dropped.png"))
    # A mismatched edge (text into an image input) is refused with its reason.
    wire(page, "prompt", "prompt", "upscale-local-1", "image")
    assert "gives text" in page.locator("[data-testid=notice]").inner_text(timeout=5000)
    assert page.locator(".react-flow__edge").count() == 0

    wire(page, "prompt", "prompt", "local-preview-1", "prompt")
    wire(page, "local-preview-1", "image", "upscale-local-1", "image")
    wire(page, "upscale-local-1", "image", "image-to-video-local-1", "image")
    page.screenshot(path=str(SHOTS / "editor-wired.png"))
    assert page.locator(".react-flow__edge").count() == 3

    # Undo and redo the last edge.
    page.locator(".react-flow__pane").click(position={"x": 50, "y": 600})
    page.keyboard.press("Control+z")
    assert page.locator(".react-flow__edge").count() == 2
    page.keyboard.press("Control+Shift+z")
    assert page.locator(".react-flow__edge").count() == 3

    # Type the prompt in the inspector of the text node.
    page.locator("[data-testid=node-prompt]").click()
    page.fill("#setting-prompt", "a lighthouse at dusk, seen from the sea")
    page.wait_for_selector("[data-testid=save-state]:has-text('Saved')", timeout=15000)

    page.click("[data-testid=run]")
    page.wait_for_selector("[data-testid=run-status]")
    page.wait_for_selector("[data-testid=node-local-preview-1][data-status=COMPLETED]",
                           timeout=60000)
    page.screenshot(path=str(SHOTS / "editor-mid-run.png"))
    for node_id in ("local-preview-1", "upscale-local-1", "image-to-video-local-1"):
        page.wait_for_selector(f"[data-testid=node-{node_id}][data-status=COMPLETED]",
                               timeout=90000)
    preview = page.locator("[data-testid=node-local-preview-1] img.node-preview")
    preview.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert page.locator("[data-testid=node-local-preview-1] .node-problem").count() == 0
    page.wait_for_selector("[data-testid=run-status]:has-text('completed')")
    page.screenshot(path=str(SHOTS / "editor-completed.png"))
