"""What every browser test uses: Debian's Chromium through Playwright, a live daphne with a real
Celery worker (tests.live), a designer and logged-in tabs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
def server(daphne_server):
    return daphne_server


PASSWORD = "a long browser password"


@pytest.fixture
def designer(team, make_user):
    user = make_user(team=team, role="editor", username="designer")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def workflow(team, designer):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.graph.builders import node

    created, _ = workflow_create(
        team=team, actor=principal_for_user(designer), name="Browser run",
        nodes=[node("prompt", "input:text", {"prompt": ""})], edges=[], strict=False)
    return created


def logged_in_tab(browser, server, username: str):
    """A new 1280×800 tab (in a context of its own) after logging in as `username`."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    # Anything the page's Content-Security-Policy refused (checked when the tab closes).
    opened.csp_refusals = []
    opened.on("console", lambda message: opened.csp_refusals.append(message.text)
              if "Content Security Policy" in message.text else None)
    opened.goto(f"{server.url}/login/")
    opened.fill("input[name=username]", username)
    opened.fill("input[name=password]", PASSWORD)
    opened.click("[type=submit]")
    opened.wait_for_url(f"{server.url}/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return opened


@pytest.fixture
def tab(browser, server, designer):
    """A 1280×800 tab, logged in as the designer."""
    opened = logged_in_tab(browser, server, "designer")
    yield opened
    refused = list(opened.csp_refusals)
    opened.context.close()
    assert not refused, refused


@pytest.fixture
def page(tab, server, workflow):
    """The editor open on a workflow holding one prompt node."""
    tab.goto(f"{server.url}/workflows/{workflow.pk}")
    tab.wait_for_selector("[data-testid=node-prompt]")
    return tab


def open_graph(tab, server, team, designer, name, nodes, edges, per_row=10, row_height=220):
    """A workflow of these nodes (laid out in rows) opened in the editor."""
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create

    for index, item in enumerate(nodes):
        item["position"] = {"x": 60 + 300 * (index % per_row),
                            "y": 120 + row_height * (index // per_row)}
    created, _ = workflow_create(team=team, actor=principal_for_user(designer), name=name,
                                 nodes=nodes, edges=edges, strict=False)
    tab.goto(f"{server.url}/workflows/{created.pk}")
    tab.wait_for_selector(f"[data-testid=node-{nodes[0]['id']}]")
    return created
