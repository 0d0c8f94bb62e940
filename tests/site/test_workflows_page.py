"""The workflows page: its first list and the user's teams come with it as JSON, never HTML."""

import json
import re

import pytest

from accounts.selectors import principal_for_user
from accounts.services import membership_set
from graph.services import workflow_create
from tests.graph.builders import node

pytestmark = pytest.mark.django_db


def _page_data(html: str) -> dict:
    match = re.search(r'<script id="workflows-page" type="application/json">(.*?)</script>',
                      html, re.S)
    assert match, "the page data script is missing"
    return json.loads(match.group(1))


def test_the_page_carries_the_users_teams_roles_and_workflows(client, make_team, make_user):
    mine, viewed, foreign = make_team(name="Studio"), make_team(name="Client"), make_team()
    user = make_user(team=mine, role="editor")
    membership_set(team=viewed, user=user, role="viewer")
    actor = principal_for_user(user)
    for name, team in (("Hero", mine), ("Deck", viewed)):
        workflow_create(team=team, actor=actor, name=name, strict=False,
                        nodes=[node("p", "input:text", {"prompt": "x"})], edges=[])
    workflow_create(team=foreign, actor=principal_for_user(make_user(team=foreign)),
                    name="Not yours", strict=False,
                    nodes=[node("p", "input:text", {"prompt": "x"})], edges=[])
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    data = _page_data(response.content.decode())
    assert data["user"] == user.username
    assert [(t["name"], t["role"], t["canEdit"]) for t in data["teams"]] == [
        ("Studio", "editor", True), ("Client", "viewer", False)]
    assert sorted((w["name"], w["teamId"]) for w in data["workflows"]) == [
        ("Deck", viewed.pk), ("Hero", mine.pk)]
    assert "csrftoken" in response.cookies


def test_a_workflow_name_is_never_markup_on_the_page(client, team, make_user):
    user = make_user(team=team)
    workflow_create(team=team, actor=principal_for_user(user), strict=False,
                    name="</script><img src=x onerror=alert(1)>",
                    nodes=[node("p", "input:text", {"prompt": "x"})], edges=[])
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "<img src=x" not in html
    assert _page_data(html)["workflows"][0]["name"] == "</script><img src=x onerror=alert(1)>"


def test_assets_include_the_css_of_shared_chunks(monkeypatch, settings):
    from frontend import views

    settings.DEBUG = True
    monkeypatch.setattr(views, "_read_manifest", lambda: {
        "_shared.js": {"file": "assets/shared.js", "css": ["assets/shared.css"]},
        "src/workflows/main.tsx": {"file": "assets/w.js", "imports": ["_shared.js"],
                                   "css": ["assets/w.css"]},
    })
    assets = views.editor_assets("src/workflows/main.tsx")
    base = settings.STATIC_URL + "editor/"
    assert assets == {"js": [base + "assets/w.js"],
                      "css": [base + "assets/w.css", base + "assets/shared.css"]}
    assert views.editor_assets("src/missing.tsx") == {"js": [], "css": []}


@pytest.mark.parametrize("role, can_edit, can_run", [
    ("viewer", "false", "false"), ("editor", "true", "true"), ("owner", "true", "true")])
def test_the_editor_page_says_what_the_member_may_do(client, team, make_user, role, can_edit,
                                                      can_run):
    owner = make_user(team=team, role="owner")
    workflow, _ = workflow_create(team=team, actor=principal_for_user(owner), name="W",
                                  strict=False,
                                  nodes=[node("p", "input:text", {"prompt": "x"})], edges=[])
    client.force_login(make_user(team=team, role=role))
    html = client.get(f"/workflows/{workflow.pk}").content.decode()
    assert f'data-can-edit="{can_edit}"' in html
    assert f'data-can-run="{can_run}"' in html
