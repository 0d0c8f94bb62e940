"""The public share page (/share/<token>): the read-only canvas with the latest outputs served
by share-scoped URLs, no secret or key-like value anywhere, and "Duplicate into my team"."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.selectors import principal_for_user
from executions.assets import asset_from_output
from executions.models import NodeRun, NodeStatus
from executions.providers import OutputFile
from executions.services import execution_start
from graph.models import Workflow
from graph.services import workflow_create, workflow_set_visibility
from tests.graph.builders import edge, node
from tests.media_files import pillow

pytestmark = [pytest.mark.django_db, pytest.mark.storage]

KEY = "sk-live_9f8e7d6c5b4a39281706f5e4"
BEARER = "Bearer abcdefghijklmnop.qrstuvwxyz"


@pytest.fixture
def shared(team, make_user, media_storage):
    """A shared workflow whose `gen` node has run once, with an image output."""
    owner = make_user(team=team, role="editor")
    nodes = [node("text", "input:text", {"prompt": f"a lighthouse; ignore {KEY}"}),
             node("gen", "generate:local_preview", {"seed": 7, "width": 256, "height": 192,
                                                    "api_key": "plain-secret-value",
                                                    "note": BEARER})]
    nodes[1]["position"] = {"x": 400, "y": 120}
    workflow, _ = workflow_create(
        team=team, actor=principal_for_user(owner), name="Shared lighthouse",
        description=f"Made for the spring campaign. Token {KEY}", nodes=nodes,
        edges=[edge("e1", "text", "prompt", "gen", "prompt")], strict=False)
    execution = execution_start(team=team, nodes=workflow.nodes, edges=workflow.edges,
                                workflow=workflow, actor=principal_for_user(owner))
    run = NodeRun.objects.get(execution=execution, node_id="gen")
    asset = asset_from_output(node_run=run, simulated=False, output=OutputFile(
        pillow("PNG", (320, 240)), "image/png", "png"))
    NodeRun.objects.filter(pk=run.pk).update(outputs={"image": {"asset": str(asset.pk)}},
                                             status=NodeStatus.COMPLETED)
    # A pin names a run of the team's: never on the page.
    nodes[1]["data"]["pinned"] = {"executionId": "00000000-0000-4000-8000-000000000000"}
    Workflow.objects.filter(pk=workflow.pk).update(nodes=nodes)
    workflow_set_visibility(workflow=workflow, visibility="view")
    workflow.refresh_from_db()
    return workflow, asset


def page(client: Client, workflow: Workflow):
    return client.get(f"/share/{workflow.share_token}")


def test_the_page_draws_the_canvas_with_the_latest_output_and_the_description(shared):
    workflow, asset = shared
    response = page(Client(), workflow)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shared lighthouse" in html and "Made for the spring campaign." in html
    assert 'data-node-id="text"' in html and 'data-node-id="gen"' in html
    assert "<path d=\"M " in html  # the edge
    file_url = f"/share/{workflow.share_token}/files/{asset.pk}/file"
    assert file_url in html
    assert "Sign in to duplicate" in html


def test_the_page_embeds_the_read_only_canvas_data_for_its_script(shared):
    """What src/share/main.tsx draws: the sanitized graph, the catalog entries of the types it
    uses (only those), and the latest output as a node run state with the page's own URLs."""
    import json
    import re

    workflow, asset = shared
    html = page(Client(), workflow).content.decode()
    found = re.search(r'<script id="share-data" type="application/json">(.*?)</script>', html,
                      re.S)
    assert found, "no embedded canvas data"
    data = json.loads(found.group(1))
    assert [n["id"] for n in data["nodes"]] == ["text", "gen"]
    assert data["nodes"][1]["position"] == {"x": 400.0, "y": 120.0}
    assert "api_key" not in data["nodes"][1]["data"]["config"]
    assert [e["id"] for e in data["edges"]] == ["e1"]
    assert sorted(spec["nodeType"] for spec in data["catalog"]) == [
        "generate:local_preview", "input:text"]
    base = f"/share/{workflow.share_token}/files/{asset.pk}"
    assert data["runs"]["gen"] == {"status": "COMPLETED", "progress": 1, "error": None,
                                   "output": {"images": [{
                                       "url": f"{base}/file", "width": 320, "height": 240,
                                       "thumbnailUrl": f"{base}/thumbnail"
                                       if asset.thumbnail else None}],
                                       "videos": [], "audios": [], "text": None}}
    # A text output passes the same mask as the settings.
    assert data["runs"]["text"]["output"]["text"] == "a lighthouse; ignore [hidden]"
    # Without scripts the server's node list is the page.
    assert '<div id="share-root">' in html and 'data-testid="share-list"' in html


def test_no_secret_or_key_like_value_and_no_signed_url_reaches_the_page(shared):
    workflow, asset = shared
    html = page(Client(), workflow).content.decode()
    for leaked in (KEY, "plain-secret-value", "api_key", "abcdefghijklmnop", "signature=",
                   "expires=", asset.file.name, "00000000-0000-4000-8000-000000000000"):
        assert leaked not in html, leaked
    assert "[hidden]" in html


def test_outputs_are_served_by_share_urls_only_while_shared(shared, make_team, make_user):
    workflow, asset = shared
    client = Client()
    url = f"/share/{workflow.share_token}/files/{asset.pk}/file"
    served = client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == asset.file.open("rb").read()
    assert client.get(f"/share/{workflow.share_token}/files/{asset.pk}/nope").status_code == 404
    thumbnail = client.get(f"/share/{workflow.share_token}/files/{asset.pk}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"

    # Another team's file is not reachable through this share, whatever its id.
    other = make_team()
    theirs, _ = workflow_create(team=other, actor=principal_for_user(make_user(team=other)),
                                name="x", nodes=[node("a", "input:text", {"prompt": "p"})],
                                edges=[])
    assert client.get(f"/share/{theirs.share_token}").status_code == 404  # never shared

    workflow_set_visibility(workflow=workflow, visibility="private")
    assert page(client, workflow).status_code == 404
    assert client.get(url).status_code == 404


def test_a_member_of_another_team_duplicates_what_the_page_shows(shared, make_team, make_user):
    workflow, _ = shared
    other = make_team()
    user = make_user(team=other, role="editor")
    client = Client()
    client.force_login(user)
    html = page(client, workflow).content.decode()
    assert "Duplicate into my team" in html
    response = client.post(f"/share/{workflow.share_token}/duplicate", {"team": other.pk})
    assert response.status_code == 302
    copy_of = Workflow.objects.get(team=other)
    assert response["Location"] == f"/workflows/{copy_of.pk}"
    assert copy_of.name == "Shared lighthouse (copy)"
    stored = repr(copy_of.nodes) + copy_of.description
    assert KEY not in stored and "plain-secret-value" not in stored and "pinned" not in stored
    assert [n["id"] for n in copy_of.nodes] == ["text", "gen"]
    assert len(copy_of.edges) == 1
    # The original team is untouched, and a team the user is not in is refused.
    assert Workflow.objects.filter(team=workflow.team).count() == 1
    refused = client.post(f"/share/{workflow.share_token}/duplicate",
                          {"team": workflow.team_id})
    assert refused.status_code == 302 and "error=no-team" in refused["Location"]
    assert Workflow.objects.filter(team=workflow.team).count() == 1


def test_signed_out_duplicate_goes_to_sign_in_and_a_viewer_cannot(shared, make_team, make_user):
    workflow, _ = shared
    response = Client().post(f"/share/{workflow.share_token}/duplicate")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    viewer = make_user(team=make_team(), role="viewer")
    client = Client()
    client.force_login(viewer)
    html = page(client, workflow).content.decode()
    assert "Duplicate into my team" not in html and "cannot duplicate" in html
    assert client.post(f"/share/{workflow.share_token}/duplicate").status_code == 302
    assert not Workflow.objects.filter(team__memberships__user=viewer).exists()
