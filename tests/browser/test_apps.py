"""Client apps in Debian's Chromium against daphne, a real worker and the provider simulator:
the designer publishes a workflow from the editor's toolbar ("Publish as app"), the team's
Apps page lists it, a fresh browser context with no login runs it through its link (with an
image it uploads for a file field) and sees the result in the gallery, the next run stops at
the app's daily credit cap with a clear message (and charges nothing), and the run is in the
team's history with the app's name.
axe finds no serious violation on the app page, the publish form or the team's Apps page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SHOTS, open_graph
from tests.browser.test_accessibility import axe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_publish_run_through_the_link_with_no_login_and_stop_at_the_cap(
        browser, tab, server, team, designer):
    from accounts.services import credits_grant
    from clientapps.models import App
    from executions.models import Asset, Execution
    from tests.graph.builders import edge, node
    from tests.media_files import pillow

    credits_grant(team=team, amount=100)
    open_graph(tab, server, team, designer, "Client posters", [
        node("prompt", "input:text", {"prompt": "a paper boat"}),
        node("nano", "generate:nano_banana_2", {"num_images": 1, "aspect_ratio": "1:1"}),
        # A free branch whose image the client uploads (a file field).
        node("photo", "input:image", {"url": ""}),
        node("up", "process:upscale_local", {"scale": 2}),
    ], [edge("e1", "prompt", "prompt", "nano", "prompt"),
        edge("e2", "photo", "image", "up", "image")])
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)

    tab.click("[data-testid=publish-app]")
    tab.wait_for_url("**/publish")
    tab.fill("#title", "Poster maker")
    tab.fill("#cap", "7")  # Nano Banana 2 at 1:1 is 7 credits: one run a day
    tab.check("input[name=access][value=link]")
    tab.fill("input[name='label::prompt::prompt']", "What should the poster show?")
    assert tab.is_checked("[data-testid=expose-prompt-prompt]")
    tab.check("[data-testid=expose-photo-url]")
    assert axe(tab, "app-publish") == []
    tab.click("[data-testid=publish]")
    tab.wait_for_url("**/team/apps?team=*")
    app = App.objects.get()
    row = tab.locator(f"[data-testid=app-row][data-slug={app.slug}]")
    assert "Poster maker" in row.inner_text() and "0 / 7" in row.inner_text()
    assert axe(tab, "team-apps") == []

    # A client: a fresh context, no session, only the link.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    client = context.new_page()
    refused = []
    client.on("console", lambda m: refused.append(m.text)
              if "Content Security Policy" in m.text else None)
    client.goto(f"{server.url}/apps/{app.slug}")
    assert client.locator("h1").inner_text() == "Poster maker"
    assert client.locator("[data-testid=node-prompt]").count() == 0  # no graph
    assert axe(client, "app-page") == []
    client.fill("label:has-text('What should the poster show?') + textarea", "a red kite")
    client.set_input_files("input[type=file][data-node=photo]", files=[{
        "name": "kite.png", "mimeType": "image/png", "buffer": pillow("PNG", (64, 48))}])
    client.click("[data-testid=app-run]")
    client.wait_for_selector(".run[data-status=COMPLETED] [data-testid=run-image]",
                             timeout=60000)
    image = client.locator("[data-testid=run-image]").first
    client.wait_for_function("img => img.complete && img.naturalWidth > 0",
                             arg=image.element_handle())
    client.screenshot(path=str(SHOTS / "app-page.png"), full_page=True)
    assert axe(client, "app-page-results") == []

    run = Execution.objects.get(app_id=app.pk)
    assert run.status == "COMPLETED" and run.credits_charged == 7
    upload = Asset.objects.get(app_id=app.pk)
    assert upload.team_id == team.pk and (upload.width, upload.height) == (64, 48)
    assert run.inputs == {"prompt": {"prompt": "a red kite"},
                          "photo": {"url": f"/media/{upload.file.name}"}}

    client.click("[data-testid=app-run]")
    error = client.locator("[data-testid=app-error]")
    error.wait_for(state="visible")
    assert error.inner_text() == ("This app has reached its daily limit of 7 credits (7 used "
                                  "today, this run needs 7). It resets at 00:00 UTC.")
    client.screenshot(path=str(SHOTS / "app-cap.png"), full_page=True)
    assert Execution.objects.filter(app_id=app.pk).count() == 1
    team.refresh_from_db()
    assert team.credit_balance == 93
    context.close()
    assert not refused, refused

    # Team → Apps → Edit: the form filled in with the app; the cap raised, saved.
    tab.goto(f"{server.url}/team/apps?team={team.pk}")
    tab.click(f"[data-testid=app-row][data-slug={app.slug}] [data-testid=edit-app]")
    tab.wait_for_url(f"**/team/apps/{app.slug}/edit")
    assert tab.input_value("#title") == "Poster maker" and tab.input_value("#cap") == "7"
    assert tab.is_checked("[data-testid=expose-photo-url]")
    assert axe(tab, "app-edit") == []
    tab.fill("#cap", "14")
    tab.click("[data-testid=save-app]")
    tab.wait_for_url("**/team/apps?team=*")
    assert "7 / 14" in tab.locator(f"[data-testid=app-row][data-slug={app.slug}]").inner_text()

    # The team's history (the editor's History tab) names the app.
    tab.goto(f"{server.url}/workflows/{app.workflow_id}")
    tab.click("[data-testid=tab-history]")
    item = tab.locator("[data-testid=history-item]").first
    item.wait_for()
    assert "app Poster maker" in item.inner_text()
