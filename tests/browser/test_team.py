"""The team workspace in Debian's Chromium, against daphne with a real Celery worker, Redis
and the provider simulator: an owner invites by link, a newcomer makes an account and lands
in the team as an editor, is demoted to viewer and the editor turns read-only; a key made on
/team/keys runs a workflow, is revoked and gets 401; usage shows the run's spend; the
activity log lists it all; the header switches team and shows the role in each."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.browser.conftest import PASSWORD, SHOTS, logged_in_tab

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def owner(make_team, make_user):
    team = make_team(name="Agency", credits=500)
    user = make_user(team=team, role="owner", username="olga")
    user.set_password(PASSWORD)
    user.save()
    return team, user


@pytest.fixture
def flux_workflow(owner):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.graph.builders import edge, node

    team, user = owner
    created, _ = workflow_create(team=team, actor=principal_for_user(user), name="Poster", nodes=[
        node("prompt", "input:text", {"prompt": "a lighthouse at dusk"}),
        node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": 3}),
    ], edges=[edge("e1", "prompt", "prompt", "flux", "prompt")])
    return created


def accept_dialogs(tab) -> None:
    tab.on("dialog", lambda dialog: dialog.accept())


def close(tab) -> None:
    refused = list(tab.csp_refusals)
    tab.context.close()
    assert not refused, refused


def test_invite_demote_key_usage_and_activity(browser, server, owner, flux_workflow,  # noqa: F811
                                              make_team):
    from accounts.services import membership_set

    team, olga = owner
    membership_set(team=make_team(name="Side project"), user=olga, role="viewer")
    tab = logged_in_tab(browser, server, "olga")
    accept_dialogs(tab)

    # The header's team menu: both teams, with the role in each; its Members page.
    tab.click("[data-testid=team-menu] summary")
    menu = tab.inner_text("[data-testid=team-menu] .menu")
    assert re.search(r"Agency\s+owner", menu) and re.search(r"Side project\s+viewer", menu)
    tab.screenshot(path=str(SHOTS / "team-menu.png"))
    tab.click("[data-testid=team-menu] .menu a:has-text('Members')")
    tab.wait_for_selector("[data-testid=members]")
    assert tab.inner_text("[data-testid=my-role]") == "owner"

    # Invite by link, as an editor.
    tab.select_option("[data-testid=invite-form] select[name=role]", "editor")
    tab.click("[data-testid=invite-form] button")
    link = tab.input_value("#invite-link")
    assert link.startswith(f"{server.url}/invite/")
    tab.screenshot(path=str(SHOTS / "team-invite-link.png"))

    # A newcomer opens it, makes an account and lands in the team as an editor.
    newcomer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    newcomer.csp_refusals = []
    newcomer.on("console", lambda m: newcomer.csp_refusals.append(m.text)
                if "Content Security Policy" in m.text else None)
    newcomer.goto(link)
    newcomer.fill("input[name=username]", "nina")
    newcomer.fill("input[name=password]", PASSWORD)
    newcomer.fill("input[name=password2]", PASSWORD)
    newcomer.click("[data-testid=signup] button")
    newcomer.wait_for_url(re.compile(r"/team\?team="))
    assert newcomer.inner_text("[data-testid=my-role]") == "editor"
    assert "joined as editor" in newcomer.inner_text(".notice")
    newcomer.screenshot(path=str(SHOTS / "team-joined.png"))
    # In one team only, the workflows page still names her role there.
    newcomer.goto(f"{server.url}/")
    newcomer.wait_for_selector("[data-testid=team-info]:has-text('you are editor')")
    newcomer.goto(f"{server.url}/workflows/{flux_workflow.pk}")
    newcomer.wait_for_selector("[data-testid=node-prompt]")
    assert newcomer.locator("[data-testid=read-only]").count() == 0
    assert newcomer.locator("[data-testid=run]").count() == 1

    # The owner demotes her to viewer: her open editor turns read-only at once.
    tab.reload()  # the link was shown once; a reload makes no second invite
    assert tab.locator("#invite-link").count() == 0
    tab.select_option("[data-member=nina] select[name=role]", "viewer")
    tab.click("[data-member=nina] button:has-text('Change')")
    tab.wait_for_selector(".notice:has-text('nina is now viewer')")
    tab.screenshot(path=str(SHOTS / "team-members.png"))
    newcomer.wait_for_selector("[data-testid=read-only]")  # told over its socket, no reload
    assert newcomer.locator("[data-testid=run]").count() == 0
    newcomer.reload()  # and so it stays
    newcomer.wait_for_selector("[data-testid=read-only]")
    close(newcomer)

    # A key made on /team/keys works against the API, runs the workflow, and is revoked.
    tab.goto(f"{server.url}/team/keys")
    tab.fill("[data-testid=key-form] input[name=name]", "ci")
    tab.click("[data-testid=key-form] button")
    raw = tab.input_value("#new-key")
    assert raw.startswith("sk-")
    tab.screenshot(path=str(SHOTS / "team-key-created.png"))
    api = httpx.Client(base_url=f"{server.url}/api/v1",
                       headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert api.get("/workflows").status_code == 200
    started = api.post(f"/workflows/{flux_workflow.pk}/execute", json={})
    assert started.status_code == 201, started.text
    run_id = started.json()["executionId"]
    deadline = time.monotonic() + 60
    while (state := api.get(f"/workflows/executions/{run_id}/poll").json())["status"] not in (
            "COMPLETED", "FAILED", "CANCELLED"):
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["status"] == "COMPLETED", state
    charged = state["credits"]["charged"]
    assert charged > 0
    tab.goto(f"{server.url}/team/keys")
    assert raw not in tab.content()
    tab.click("[data-key=ci] button:has-text('Revoke')")
    tab.wait_for_selector(".notice:has-text('revoked')")
    assert "revoked" in tab.inner_text("[data-key=ci]")
    refused = api.get("/workflows")
    assert (refused.status_code, refused.json()["error"]) == (401, "Invalid API key")
    tab.screenshot(path=str(SHOTS / "team-keys.png"))

    # Usage: the chart and the ledger show the run's spend.
    tab.goto(f"{server.url}/team/usage")
    tab.wait_for_function("document.querySelector('[data-testid=usage-chart]').naturalWidth > 0")
    assert tab.inner_text("[data-testid=spent-30]") == str(charged)
    assert tab.inner_text("[data-testid=balance]") == str(500 - charged)
    assert run_id[:8] in tab.inner_text("[data-testid=ledger]")
    assert re.search(rf"Poster\s+1\s+{charged}", tab.inner_text("[data-testid=by-workflow]"))
    assert re.search(rf"key ci\s+1\s+{charged}", tab.inner_text("[data-testid=by-member]"))
    tab.screenshot(path=str(SHOTS / "team-usage.png"), full_page=True)

    # The activity log lists each of those.
    tab.goto(f"{server.url}/team/activity")
    kinds = tab.locator("[data-testid=activity] tr[data-kind]").evaluate_all(
        "rows => rows.map(r => r.dataset.kind)")
    assert kinds[::-1] == ["workflow.created", "member.invited", "member.joined",
                           "member.role_changed", "key.created", "run.started", "key.revoked"]
    text = tab.inner_text("[data-testid=activity]")
    assert "olga changed the role of nina from editor to viewer" in text
    assert "key ci ran workflow Poster (from api)" in text
    tab.screenshot(path=str(SHOTS / "team-activity.png"), full_page=True)
    close(tab)


def test_a_version_is_restored_and_its_diff_shown(browser, server, owner,  # noqa: F811
                                                  flux_workflow):
    import copy

    from accounts.selectors import principal_for_user
    from graph.services import workflow_update

    team, olga = owner
    nodes = copy.deepcopy(flux_workflow.nodes)
    nodes[0]["data"]["config"]["prompt"] = "a lighthouse in a storm"
    nodes[1]["data"]["config"]["seed"] = 9
    workflow_update(workflow=flux_workflow, actor=principal_for_user(olga),
                    changes={"nodes": nodes})
    tab = logged_in_tab(browser, server, "olga")
    accept_dialogs(tab)
    tab.goto(f"{server.url}/workflows/{flux_workflow.pk}/history")
    assert tab.locator("[data-testid=versions] tr[data-version]").count() == 2
    tab.click("[data-version='1'] a")
    tab.wait_for_selector("[data-testid=version-diff] h2:has-text('v1 by olga')")
    assert tab.get_attribute("[data-node=prompt]", "data-state") == "changed"
    assert tab.get_attribute("[data-node=flux]", "data-state") == "changed"
    assert "a lighthouse at dusk" in tab.inner_text("[data-node=prompt] .differs")
    tab.screenshot(path=str(SHOTS / "team-version-diff.png"), full_page=True)
    tab.click("[data-testid=restore]")
    tab.wait_for_selector(".notice:has-text('Version 1 restored as version 3')")
    assert "This is the current version" in tab.inner_text("[data-testid=version-diff]")
    flux_workflow.refresh_from_db()
    assert flux_workflow.nodes[0]["data"]["config"]["prompt"] == "a lighthouse at dusk"
    tab.goto(f"{server.url}/team/activity")
    assert "olga restored version 1 of Poster (as version 3)" in tab.inner_text(
        "[data-testid=activity]")
    close(tab)


def test_the_editor_version_panel_names_diffs_shows_and_restores(browser, server, owner,  # noqa: F811
                                                                 flux_workflow):
    import copy

    from accounts.selectors import principal_for_user
    from graph.models import WorkflowVersion
    from graph.services import workflow_update

    team, olga = owner
    nodes = copy.deepcopy(flux_workflow.nodes)
    nodes[0]["data"]["config"]["prompt"] = "a lighthouse in a storm"
    workflow_update(workflow=flux_workflow, actor=principal_for_user(olga),
                    changes={"nodes": nodes})
    tab = logged_in_tab(browser, server, "olga")
    tab.goto(f"{server.url}/workflows/{flux_workflow.pk}")
    tab.wait_for_selector("[data-testid=node-prompt]")
    # "Save version…" in the toolbar opens the Versions tab with its form, focused.
    tab.click("[data-testid=toolbar-save-version]")
    tab.wait_for_selector("[data-testid=save-version-form]")
    assert tab.evaluate("document.activeElement.id") == "version-label"
    tab.keyboard.type("Storm draft")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("[data-testid=version-item][data-number='2']:has-text('Storm draft')")
    assert WorkflowVersion.objects.get(workflow=flux_workflow, number=2).label == "Storm draft"
    first = tab.locator("[data-testid=version-item][data-number='2']")
    assert "1 setting changed" in first.inner_text() and "olga" in first.inner_text()
    # v1 against the current graph, from the keyboard: the prompt before → after.
    tab.focus("[data-testid=version-item][data-number='1']")
    tab.keyboard.press("Enter")
    row = tab.wait_for_selector("[data-testid=diff-row][data-node=prompt]")
    assert row.get_attribute("data-state") == "changed"
    assert "a lighthouse at dusk → a lighthouse in a storm" in row.inner_text()
    # Shown read-only on the canvas, then back.
    tab.click("[data-testid=show-version]")
    tab.wait_for_selector("[data-testid=show-version][aria-pressed=true]")
    assert tab.locator(".badge:has-text('view only')").count() == 1
    assert tab.get_attribute("[data-testid=node-prompt]", "data-version-mark") == "changed"
    assert tab.get_attribute("[data-testid=node-flux]", "data-version-mark") is None
    tab.screenshot(path=str(SHOTS / "editor-version-panel.png"))
    tab.click("[data-testid=show-version]")
    tab.wait_for_selector("[data-testid=show-version][aria-pressed=false]")
    assert tab.get_attribute("[data-testid=node-prompt]", "data-version-mark") is None
    # Restore asks first; Cancel changes nothing.
    tab.click("[data-testid=restore-version]")
    tab.wait_for_selector("[data-testid=restore-confirm]")
    tab.click("[data-testid=restore-confirm] button:has-text('Cancel')")
    flux_workflow.refresh_from_db()
    assert flux_workflow.version == 2
    tab.click("[data-testid=restore-version]")
    tab.click("[data-testid=restore-confirmed]")
    tab.wait_for_selector("[data-testid=notice]:has-text('Version 1 restored as version 3')")
    flux_workflow.refresh_from_db()
    assert flux_workflow.nodes[0]["data"]["config"]["prompt"] == "a lighthouse at dusk"
    assert flux_workflow.version == 3
    tab.wait_for_selector("[data-testid=version-item][data-number='3']")
    # The workflow's activity, in the editor.
    tab.click("[data-testid=tab-activity]")
    tab.wait_for_selector("[data-testid=activity-item][data-kind='version.restored']")
    text = tab.inner_text("[data-testid=activity-panel]")
    assert "olga restored version 1 of Poster (as version 3)" in text
    assert "olga named version 2 of Poster 'Storm draft'" in text
    assert "olga created workflow Poster" in text
    # A long history pages by 30: "Load more" brings the older ones.
    WorkflowVersion.objects.bulk_create([WorkflowVersion(
        workflow=flux_workflow, number=n, name="Poster", nodes=flux_workflow.nodes,
        edges=flux_workflow.edges, source="update", created_by=olga) for n in range(4, 41)])
    tab.click("[data-testid=tab-versions]")
    tab.wait_for_selector("[data-testid=versions-more]:has-text('10 older')")
    assert tab.locator("[data-testid=version-item]").count() == 30
    tab.click("[data-testid=versions-more]")
    tab.wait_for_selector("[data-testid=version-item][data-number='1']")
    assert tab.locator("[data-testid=version-item]").count() == 40
    assert tab.locator("[data-testid=versions-more]").count() == 0
    close(tab)


def test_presence_shows_who_else_has_the_workflow_open(browser, server, owner,  # noqa: F811
                                                       flux_workflow, make_user):
    team, olga = owner
    nina = make_user(team=team, role="viewer", username="nina")
    nina.set_password(PASSWORD)
    nina.save()
    olga_tab = logged_in_tab(browser, server, "olga")
    olga_tab.goto(f"{server.url}/workflows/{flux_workflow.pk}")
    olga_tab.wait_for_selector("[data-testid=node-prompt]")
    assert olga_tab.locator("[data-testid=presence]").count() == 0  # alone
    nina_tab = logged_in_tab(browser, server, "nina")
    nina_tab.goto(f"{server.url}/workflows/{flux_workflow.pk}")
    olga_tab.wait_for_selector(f"[data-testid=presence-user][data-user='{nina.pk}']")
    assert olga_tab.inner_text("[data-testid=presence]") == "NI"
    assert olga_tab.get_attribute("[data-testid=presence]", "aria-label") == "Also here: nina"
    nina_tab.wait_for_selector(f"[data-testid=presence-user][data-user='{olga.pk}']")
    olga_tab.screenshot(path=str(SHOTS / "editor-presence.png"))
    started = time.monotonic()
    close(nina_tab)  # the tab closes: nina leaves olga's toolbar within seconds
    olga_tab.wait_for_selector("[data-testid=presence]", state="detached", timeout=5000)
    assert time.monotonic() - started < 5
    close(olga_tab)
