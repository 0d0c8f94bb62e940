"""Share pages in Debian's Chromium against daphne and a real worker: the editor's Share menu
makes the link; a fresh browser context with no login sees the read-only canvas (the editor's
nodes in React Flow: pan, zoom, fit, keyboard; nothing editable) with the run's outputs (an
image thumbnail and a playable video) and the description; a signed-in user of another team
duplicates it into their own team; without scripts the server's node list stands."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, SHOTS, logged_in_tab
from tests.browser.test_accessibility import axe
from tests.samples import offline_chain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DESCRIPTION = "Spring campaign: the lighthouse, upscaled and animated."


def offline_workflow(team, designer):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create

    chain = offline_chain()
    for index, item in enumerate(chain["nodes"]):
        item["position"] = {"x": 60 + 320 * index, "y": 120}
    chain["nodes"][0]["data"]["config"]["prompt"] = "a lighthouse at dusk"
    chain["nodes"][1]["data"]["config"]["api_key"] = "sk-live_0123456789abcdefghij"
    workflow, _ = workflow_create(team=team, actor=principal_for_user(designer),
                                  description=DESCRIPTION, strict=False, **chain)
    return workflow


def test_shared_from_the_editor_seen_signed_out_and_duplicated_by_another_team(
        browser, tab, server, team, designer, make_team, make_user):
    from graph.models import Workflow

    workflow = offline_workflow(team, designer)
    tab.goto(f"{server.url}/workflows/{workflow.pk}")
    tab.wait_for_selector("[data-testid=node-video-1]")
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-video-1][data-status=COMPLETED]", timeout=90000)

    tab.click("[data-testid=share-menu] summary")
    tab.check("[data-testid=share-view]")
    # The menu shows the choice at once; the server has answered once it is enabled again.
    tab.wait_for_selector("[data-testid=share-menu] fieldset:not([disabled])")
    link = tab.locator("[data-testid=share-url]")
    link.wait_for()
    url = link.inner_text()
    workflow.refresh_from_db()
    assert workflow.link_permission == "view"
    assert url == f"{server.url}/share/{workflow.share_token}"
    tab.screenshot(path=str(SHOTS / "share-menu.png"))

    # A fresh context: no cookies, no session.
    anonymous = browser.new_context(viewport={"width": 1440, "height": 900})
    visitor = anonymous.new_page()
    visitor.goto(url)
    # The editor's own nodes in a read-only React Flow view (the server's list replaced).
    canvas = visitor.locator("[data-testid=share-canvas][data-ready=true]")
    canvas.wait_for()
    assert visitor.locator("[data-testid=share-list]").count() == 0
    assert visitor.locator("[data-testid=share-description]").inner_text() == DESCRIPTION
    for node_id in ("text-input-1", "preview-1", "upscale-1", "video-1"):
        assert canvas.locator(f"[data-testid=node-{node_id}]").count() == 1
    assert canvas.locator(".react-flow__edge").count() == 3
    # Nothing to edit, connect or run.
    fixed = ".react-flow__node.draggable, .react-flow__handle.connectable"
    assert canvas.locator(fixed).count() == 0
    assert visitor.locator("[data-testid=run], [data-testid=connect-open], "
                           "[data-testid=pin-output], [data-testid=lock-seed]").count() == 0
    image = canvas.locator("[data-testid=node-upscale-1] img.node-preview")
    visitor.wait_for_function("img => img.complete && img.naturalWidth > 0",
                              arg=image.element_handle())
    assert "/thumbnail" in image.get_attribute("src")
    # Keyboard: the canvas takes focus, the arrow keys pan, 0 fits it again.
    viewport = visitor.locator(".react-flow__viewport")
    before = viewport.get_attribute("style")
    canvas.focus()
    visitor.keyboard.press("ArrowLeft")
    visitor.wait_for_function("([el, s]) => el.getAttribute('style') !== s",
                              arg=[viewport.element_handle(), before])
    visitor.keyboard.press("0")
    # The video plays in the editor's viewer, opened from its node with the keyboard.
    thumb = canvas.locator("[data-testid=node-video-1] [data-testid=node-thumb]")
    thumb.focus()
    visitor.keyboard.press("Enter")
    video = visitor.locator("[data-testid=viewer-video]")
    visitor.wait_for_function("v => v.readyState >= 1 && v.duration > 0",
                              arg=video.element_handle(), timeout=20000)
    assert f"/share/{workflow.share_token}/files/" in video.get_attribute("src")
    visitor.keyboard.press("Escape")
    visitor.locator("[data-testid=viewer]").wait_for(state="detached")
    html = visitor.content()
    assert "sk-live_0123456789abcdefghij" not in html and "signature=" not in html
    assert visitor.locator("[data-testid=sign-in-to-duplicate]").is_visible()
    visitor.screenshot(path=str(SHOTS / "share-page.png"), full_page=True)
    assert axe(visitor, "share-page") == []
    anonymous.close()

    # Without scripts: the server's sanitized node list with the same outputs.
    plain = browser.new_context(java_script_enabled=False).new_page()
    plain.goto(url)
    listed = plain.locator("[data-testid=share-list]")
    for node_id in ("text-input-1", "preview-1", "upscale-1", "video-1"):
        assert listed.locator(f"[data-node-id={node_id}]").count() == 1
    plain.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=listed.locator(
        "[data-node-id=upscale-1] [data-testid=share-image]").element_handle())
    assert "sk-live_0123456789abcdefghij" not in plain.content()
    plain.context.close()

    # A member of another team signs in and duplicates it into their team.
    other = make_team()
    guest = make_user(team=other, role="editor", username="guest")
    guest.set_password(PASSWORD)
    guest.save()
    guest_tab = logged_in_tab(browser, server, "guest")
    guest_tab.goto(url)
    guest_tab.click("[data-testid=duplicate]")
    guest_tab.wait_for_url(f"{server.url}/workflows/*")
    copy_of = Workflow.objects.get(team=other)
    assert guest_tab.url == f"{server.url}/workflows/{copy_of.pk}"
    guest_tab.wait_for_selector("[data-testid=node-video-1]")
    assert copy_of.name == f"{workflow.name} (copy)"
    assert "sk-live" not in repr(copy_of.nodes)
    assert Workflow.objects.filter(team=team).count() == 1
    guest_tab.context.close()

    # Sharing off: the link and its files stop at once.
    tab.click("[data-testid=share-menu] summary") if not tab.locator(
        "[data-testid=share-private]").is_visible() else None
    tab.check("[data-testid=share-private]")
    tab.wait_for_selector("[data-testid=share-url]", state="detached")
    again = browser.new_context().new_page()
    assert again.goto(url).status == 404
    again.context.close()
