"""Accessibility (issue 16, item 8): axe-core, the engine behind @axe-core/playwright, run in
the page by Playwright on the workflows page and the editor (idle, mid-run, viewer open, light
theme): no serious or critical violation of WCAG 2.2 A/AA. The figures are in the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import SHOTS
from tests.browser.conftest import open_graph as _open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

AXE = Path(__file__).resolve().parents[2] / "frontend" / "editor" / "node_modules" / "axe-core" \
    / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe(tab, name: str) -> list[dict]:
    """Serious and critical violations on the page as it is now (the report of every impact
    is kept under test-results/browser/axe-<name>.json)."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: make test installs the editor's npm packages")
    # Evaluated, not a <script> tag: the page's Content-Security-Policy stays as it is.
    tab.evaluate("source => { (0, eval)(source); }", AXE.read_text())
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                          TAGS)
    report = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
               "nodes": [{"target": n["target"], "why": n.get("failureSummary", "")}
                         for n in v["nodes"]][:5]} for v in result["violations"]]
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"axe-{name}.json").write_text(json.dumps(report, indent=1))
    return [v for v in report if v["impact"] in ("serious", "critical")]


def test_no_serious_violations_on_the_workflows_page_and_the_editor(tab, server, team, designer):
    from accounts.services import credits_grant
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=500)
    tab.goto(f"{server.url}/")
    tab.wait_for_selector("[data-testid=search-workflows]")
    assert axe(tab, "workflows") == []

    _open(tab, server, team, designer, "Accessible", [
        node("prompt", "input:text", {"prompt": "a red kite over the dunes"}),
        node("nano", "generate:nano_banana_2", {"num_images": 2}),
        node("video", "generate:image_to_video_local", {"duration": 3}),
    ], [edge("e1", "prompt", "prompt", "nano", "prompt"),
        edge("e2", "nano", "image", "video", "image")])
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    assert axe(tab, "editor-idle") == []
    tab.click("[data-testid=node-prompt] [data-testid=connect-open]")
    tab.wait_for_selector("[data-testid=connect-menu] .connect-empty")  # all wired already
    assert axe(tab, "connect-menu") == []
    tab.keyboard.press("Escape")

    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-video][data-status=RUNNING]", timeout=60000)
    assert axe(tab, "editor-mid-run") == []
    tab.wait_for_selector("[data-testid=node-video][data-status=COMPLETED]", timeout=90000)

    tab.click("[data-testid=node-nano] [data-testid=open-output]")
    tab.wait_for_selector("[data-testid=viewer] img")
    assert axe(tab, "viewer") == []
    tab.keyboard.press("Escape")

    tab.click("[data-testid=tab-gallery]")
    tab.wait_for_selector("[data-testid=gallery-item]")
    assert axe(tab, "gallery") == []

    tab.click("[data-testid=theme-toggle]")  # system → light
    assert tab.get_attribute("html", "data-theme") == "light"
    assert axe(tab, "editor-light") == []
    tab.screenshot(path=str(SHOTS / "editor-light.png"))
    tab.click("[data-testid=theme-toggle]")  # light → dark
    assert tab.get_attribute("html", "data-theme") == "dark"
    assert axe(tab, "editor-dark") == []
    tab.click("[data-testid=theme-toggle]")  # dark → system: follows the system as it changes
    tab.emulate_media(color_scheme="light")
    tab.wait_for_selector("html[data-theme=light]")
    tab.emulate_media(color_scheme="dark")
    tab.wait_for_selector("html[data-theme=dark]")

    tab.goto(f"{server.url}/gallery")
    tab.wait_for_selector("[data-testid=gallery-item]")
    assert axe(tab, "gallery-page") == []


def test_no_violations_on_the_share_page_signed_out_and_signed_in(browser, tab, server, team,
                                                                   designer):
    """The share page with a finished run's outputs (thumbnails, a video player), for a
    visitor with no session and for a signed-in member (the Duplicate form): no violation of
    any impact."""
    import time

    from accounts.selectors import principal_for_user
    from accounts.services import credits_grant
    from executions.models import Execution, ExecutionStatus
    from executions.services import workflow_execute
    from graph.services import workflow_create, workflow_set_visibility
    from tests.samples import offline_chain

    credits_grant(team=team, amount=100)
    chain = offline_chain()
    for index, item in enumerate(chain["nodes"]):
        item["position"] = {"x": 60 + 320 * index, "y": 100 + 40 * index}
    workflow, _ = workflow_create(team=team, actor=principal_for_user(designer),
                                  description="Shared for review.", **chain)
    execution = workflow_execute(workflow=workflow, actor=principal_for_user(designer),
                                 trigger=Execution.Trigger.EDITOR)
    deadline = time.monotonic() + 90
    while Execution.objects.get(pk=execution.pk).status != ExecutionStatus.COMPLETED:
        assert time.monotonic() < deadline, "the offline run did not finish"
        time.sleep(0.3)
    workflow_set_visibility(workflow=workflow, visibility="view")
    workflow.refresh_from_db()
    url = f"{server.url}/share/{workflow.share_token}"

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    visitor = context.new_page()
    visitor.goto(url)
    visitor.wait_for_selector("[data-testid=share-canvas][data-ready=true]")
    visitor.wait_for_function("() => { const imgs = [...document.querySelectorAll("
                              "'[data-testid=share-canvas] img.node-preview')];"
                              " return imgs.length > 0 && imgs.every("
                              "img => img.complete && img.naturalWidth > 0); }")
    axe(visitor, "share-signed-out")
    assert json.loads((SHOTS / "axe-share-signed-out.json").read_text()) == []
    context.close()

    tab.goto(url)
    tab.wait_for_selector("[data-testid=duplicate]")
    tab.wait_for_selector("[data-testid=share-canvas][data-ready=true]")
    axe(tab, "share-signed-in")
    assert json.loads((SHOTS / "axe-share-signed-in.json").read_text()) == []


def test_no_serious_violations_on_a_client_app_page(browser, server, team, designer):
    """The page a client opens from an app's link (no login), with every kind of form field,
    and its passcode form."""
    from accounts.selectors import principal_for_user
    from clientapps.services import app_create
    from tests.samples import lantern_workflow

    actor = principal_for_user(designer)
    workflow = lantern_workflow(team, actor, "App page")
    fields = [{"nodeId": "prompt", "helpText": "What to draw"},
              {"nodeId": "nano", "input": "aspect_ratio", "allowedValues": ["1:1", "16:9"]},
              {"nodeId": "nano", "input": "num_images"}]
    open_app = app_create(workflow=workflow, actor=actor, title="Lanterns", access="link",
                          daily_credit_cap=50, exposed_inputs=fields)
    locked = app_create(workflow=workflow, actor=actor, title="Locked lanterns",
                        access="passcode", passcode="let me in", daily_credit_cap=50)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    visitor = context.new_page()
    visitor.goto(f"{server.url}/apps/{open_app.slug}")
    visitor.wait_for_selector("[data-testid=app-form]")
    assert axe(visitor, "app-page-form") == []
    visitor.goto(f"{server.url}/apps/{locked.slug}")
    visitor.wait_for_selector("[data-testid=passcode-form]")
    assert axe(visitor, "app-page-passcode") == []
    context.close()


def test_no_serious_violations_in_the_version_and_activity_panels(tab, server, team, designer):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_update
    from tests.graph.builders import node

    workflow = _open(tab, server, team, designer, "Versions", [
        node("prompt", "input:text", {"prompt": "a red kite"})], [])
    nodes = [dict(workflow.nodes[0], data={**workflow.nodes[0]["data"],
                                           "config": {"prompt": "a blue kite"}})]
    workflow_update(workflow=workflow, actor=principal_for_user(designer),
                    changes={"nodes": nodes + [node("note", "utility:sticky_note",
                                                    {"text": "hi"})]}, strict=False)
    tab.reload()
    tab.wait_for_selector("[data-testid=node-note]")
    tab.click("[data-testid=tab-versions]")
    tab.click("[data-testid=version-item][data-number='1']")
    tab.wait_for_selector("[data-testid=diff-row][data-node=prompt]")
    tab.click("[data-testid=restore-version]")
    tab.wait_for_selector("[data-testid=restore-confirm]")
    tab.click("[data-testid=save-version]")
    tab.wait_for_selector("[data-testid=save-version-form]")
    for theme in ("light", "dark"):
        tab.evaluate("theme => document.documentElement.dataset.theme = theme", theme)
        assert axe(tab, f"versions-{theme}") == []
    tab.click("[data-testid=tab-activity]")
    tab.wait_for_selector("[data-testid=activity-item]")
    assert axe(tab, "activity") == []
