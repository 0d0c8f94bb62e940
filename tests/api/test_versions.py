"""GET /workflows/{id}/versions (autosaves folded into editing sessions), GET …/versions/{n}
(the version and its diff against the current graph), POST …/versions/{n}/restore (a new
version; nothing overwritten). Another team's versions are a 404."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from accounts.models import ActivityEvent
from graph.models import Workflow, WorkflowVersion
from tests.graph.builders import edge, node, text_to_image

pytestmark = pytest.mark.django_db


def graph(prompt="a cow", scale=2, extra=False):
    nodes, edges = text_to_image(prompt)
    nodes[2]["data"]["config"]["scale"] = scale
    if extra:
        nodes.append(node("note", "utility:sticky_note", {"text": "hi"}))
    return {"name": "History", "nodes": nodes, "edges": edges}


@pytest.fixture
def saved(team, member, key_client):
    editor, user = member(team, "editor", username="eve")
    created = editor.post("/api/v1/workflows", graph(), format="json").json()["data"]
    url = f"/api/v1/workflows/{created['id']}"
    for prompt in ("a cow at dawn", "a cow at noon", "a cow at dusk"):  # one editing session
        assert editor.put(f"{url}?strict=false", graph(prompt),
                          format="json").status_code == 200
    key = key_client(team)
    assert key.put(url, graph("a cow at night", scale=4, extra=True),
                   format="json").status_code == 200
    return editor, url, Workflow.objects.get(pk=created["id"])


def test_autosaves_of_one_author_fold_into_one_session(saved):
    editor, url, workflow = saved
    entries = editor.get(f"{url}/versions").json()["data"]
    assert [(e["number"], e["firstNumber"], e["versions"], e["author"], e["source"])
            for e in entries] == [(5, 5, 1, "key test", "replace"),
                                  (4, 2, 3, "eve", "replace"),
                                  (1, 1, 1, "eve", "create")]


def test_an_idle_gap_starts_a_new_session(saved):
    editor, url, workflow = saved
    for number, minutes in ((2, 30), (3, 20), (4, 19)):  # v2 … 10 min … v3, v4
        WorkflowVersion.objects.filter(workflow=workflow, number=number).update(
            created_at=workflow.updated_at - timedelta(minutes=minutes))
    entries = editor.get(f"{url}/versions").json()["data"]
    assert [(e["number"], e["firstNumber"]) for e in entries] == [(5, 5), (4, 3), (2, 2), (1, 1)]


def test_a_version_comes_with_its_diff_against_the_current_graph(saved):
    editor, url, workflow = saved
    version = editor.get(f"{url}/versions/2").json()["data"]
    assert (version["number"], version["author"], version["current"]) == (2, "eve", False)
    assert version["nodes"][0]["data"]["config"]["prompt"] == "a cow at dawn"
    assert version["diff"] == {
        "nodesAdded": ["note"], "nodesRemoved": [],
        "nodesChanged": [{"nodeId": "text", "settings": ["prompt"], "fields": []},
                         {"nodeId": "upscale", "settings": ["scale"], "fields": []}],
        "edgesAdded": [], "edgesRemoved": []}
    assert editor.get(f"{url}/versions/5").json()["data"]["current"] is True


def test_restore_makes_the_old_graph_current_as_a_new_version(saved):
    editor, url, workflow = saved
    response = editor.post(f"{url}/versions/2/restore")
    assert response.status_code == 200, response.json()
    workflow.refresh_from_db()
    assert workflow.version == 6
    assert workflow.nodes == WorkflowVersion.objects.get(workflow=workflow, number=2).nodes
    assert WorkflowVersion.objects.get(workflow=workflow, number=6).source == "restore"
    # Nothing overwritten: the version restored over is still there.
    assert len(WorkflowVersion.objects.get(workflow=workflow, number=5).nodes) == 4
    assert editor.get(f"{url}/versions/2").json()["data"]["diff"]["nodesChanged"] == []
    event = ActivityEvent.objects.get(kind="version.restored")
    assert event.details == {"number": 2, "as": 6} and event.workflow_id == workflow.pk


def test_viewers_and_read_keys_cannot_restore(saved, team, member, key_client):
    editor, url, workflow = saved
    viewer, _ = member(team, "viewer")
    assert viewer.get(f"{url}/versions").status_code == 200
    assert viewer.post(f"{url}/versions/2/restore").status_code == 403
    reader = key_client(team, scopes=["workflows:read"])
    assert reader.post(f"{url}/versions/2/restore").status_code == 403
    workflow.refresh_from_db()
    assert workflow.version == 5


def test_another_teams_versions_are_a_404(saved, other_team, member):
    editor, url, workflow = saved
    stranger, _ = member(other_team, "owner")
    for path in ("/versions", "/versions/2"):
        assert stranger.get(f"{url}{path}").status_code == 404
    assert stranger.post(f"{url}/versions/2/restore").status_code == 404
    assert editor.get(f"{url}/versions/99").status_code == 404
    assert editor.get(f"{url}/versions/{2**63}").status_code == 404


def test_the_diff_sees_removed_nodes_edges_and_moves():
    from graph.versions import graph_diff

    old_nodes, old_edges = text_to_image()
    new_nodes = copy.deepcopy(old_nodes[:2])
    new_nodes[1]["position"] = {"x": 10, "y": 0}
    new_nodes[1]["data"]["label"] = "Preview"
    diff = graph_diff(old_nodes=old_nodes, old_edges=old_edges, new_nodes=new_nodes,
                      new_edges=old_edges[:1] + [edge("e9", "text", "text", "preview",
                                                      "prompt")])
    assert diff["nodesRemoved"] == ["upscale"] and diff["nodesAdded"] == []
    assert diff["nodesChanged"] == [{"nodeId": "preview", "settings": [],
                                     "fields": ["label", "position"]}]
    assert [e["id"] for e in diff["edgesRemoved"]] == ["e2"]
    assert [e["id"] for e in diff["edgesAdded"]] == ["e9"]
    # A draft's malformed nodes and edges (saved with ?strict=false) are compared, not a 500.
    odd = graph_diff(old_nodes="junk", old_edges=None, new_nodes=[1, {"id": []}],
                     new_edges=[2, {"id": "e", "source": [], "target": {}}])
    assert odd["nodesAdded"] == [] and [e["id"] for e in odd["edgesAdded"]] == ["e"]
