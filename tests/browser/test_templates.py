"""The templates gallery in Debian's Chromium against daphne, a real worker and the provider
simulator: the header links to /templates, the cards show each starter's cost, "Use template"
opens the new workflow in the editor, and it runs there offline to the end; saved as a
template from the workflows page, its card shows the run's output; axe finds no serious
violation on the gallery."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SHOTS
from tests.browser.test_accessibility import axe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_use_a_template_from_the_gallery_and_run_it_offline(tab, server, team, designer):
    from accounts.services import credits_grant
    from executions.pricing import estimate
    from graph.models import Workflow
    from graph.starters import starter_get

    credits_grant(team=team, amount=100)
    starter = starter_get("print-upscale-4mp")
    tab.click("header >> text=Templates")
    tab.wait_for_url(f"{server.url}/templates")
    card = tab.locator(f"[data-template-id={starter.id}]")
    assert starter.name in card.inner_text()
    cost = estimate(starter.nodes, edges=starter.edges)["estimatedCredits"]
    assert f"{cost} credits" in card.inner_text()
    tab.screenshot(path=str(SHOTS / "templates-gallery.png"), full_page=True)
    assert axe(tab, "templates") == []

    card.get_by_role("button", name=f"Use template {starter.name}").click()
    tab.wait_for_url(f"{server.url}/workflows/*")
    workflow = Workflow.objects.get(team=team)
    assert tab.url == f"{server.url}/workflows/{workflow.pk}"
    tab.wait_for_selector("[data-testid=node-upscale]")
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-upscale][data-status=COMPLETED]", timeout=60000)
    tab.screenshot(path=str(SHOTS / "template-used.png"))

    # "Save as template" on the workflows page: the card shows the run's output as its cover.
    tab.goto(f"{server.url}/")
    tab.once("dialog", lambda dialog: dialog.accept("Print ready"))
    tab.click(f"[data-testid=workflow-row][data-name='{starter.name}'] "
              "[data-testid=save-template]")
    tab.wait_for_selector("[data-testid=notice]:has-text('Print ready')")
    tab.click("[data-testid=notice] >> text=Open Templates")
    tab.wait_for_url(f"{server.url}/templates")
    saved = tab.locator("li.card", has_text="Print ready")
    cover = saved.locator("img")
    cover.wait_for()
    tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cover.element_handle())
    assert "Team" in saved.inner_text()
    tab.screenshot(path=str(SHOTS / "templates-team.png"), full_page=True)
    assert axe(tab, "templates-with-cover") == []
