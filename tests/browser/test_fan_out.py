"""List fan-out on the canvas (issue 19): a List of twelve styles fans one prompt out into
twelve generations, each node shows its items' progress live, and a Collect node makes the
contact sheet."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SHOTS
from tests.browser.conftest import open_graph as _open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STYLES = ["watercolor", "oil painting", "pencil sketch", "pop art", "ukiyo-e", "art deco",
          "pixel art", "charcoal", "bauhaus poster", "claymation", "neon noir", "origami"]

# Every value the fanned node's "done" count takes, as the page shows it.
WATCH = """() => {
  window.fanDone = [];
  new MutationObserver(() => {
    const el = document.querySelector('[data-testid=node-gen] [data-testid=fan-out]');
    if (el && window.fanDone[window.fanDone.length - 1] !== el.dataset.done)
      window.fanDone.push(el.dataset.done);
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def test_a_twelve_item_fan_out_shows_each_branch_live_and_collects_a_contact_sheet(
        tab, server, team, designer):
    from accounts.services import credits_grant
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=1000)
    _open(tab, server, team, designer, "Twelve styles", [
        node("styles", "utility:list", {"items": "\n".join(STYLES)}),
        node("gen", "generate:nano_banana_2", {"num_images": 1}),
        node("sheet", "utility:collect", {"columns": 4, "cell": 128}),
    ], [edge("e1", "styles", "item", "gen", "prompt"),
        edge("e2", "gen", "image", "sheet", "images")], per_row=3)
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.evaluate(WATCH)

    tab.click("[data-testid=run]")
    fan = tab.locator("[data-testid=node-gen] [data-testid=fan-out]")
    fan.wait_for(timeout=30000)
    assert fan.get_attribute("data-total") == "12"
    assert tab.locator("[data-testid=node-gen] [data-testid=fan-out-cell]").count() == 12
    tab.wait_for_selector("[data-testid=node-gen] [data-testid=fan-out][data-done='12']",
                          timeout=120000)
    assert tab.locator("[data-testid=node-gen] [data-testid=fan-out-count]").inner_text() \
        == "12/12 done"
    tab.wait_for_selector("[data-testid=node-sheet][data-status=COMPLETED]", timeout=60000)
    assert tab.locator("[data-testid=node-gen]").get_attribute("data-status") == "COMPLETED"
    # The count went up item by item over the socket, not in one jump at the end.
    seen = [int(value) for value in tab.evaluate("window.fanDone")]
    assert seen == sorted(seen) and any(0 < value < 12 for value in seen), seen
    # Each done item's cell shows its thumbnail; the node's media area shows its outputs.
    assert tab.locator("[data-testid=node-gen] [data-testid=fan-out-cell]"
                       "[data-status=COMPLETED]").count() == 12
    tab.wait_for_selector("[data-testid=node-gen] [data-testid=node-output][data-count='12']")
    # The Collect node: the contact sheet, then the twelve images as a list.
    tab.wait_for_selector("[data-testid=node-sheet] [data-testid=node-output][data-count='13']")
    tab.screenshot(path=str(SHOTS / "editor-fan-out.png"))
