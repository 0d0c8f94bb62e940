"""Saves coalesced per editing burst, named versions kept for good; GET /workflows/{id}/versions
(one entry per version, with what it changed), GET/PATCH …/versions/{n}
(the version and its diff against the current graph), POST …/versions/{n}/restore (a new
version; nothing overwritten). Another team's versions are a 404."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ActivityEvent
from graph import versions
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


def test_an_idle_gap_starts_a_new_version(saved):
    editor, url, workflow = saved
    # eve comes back to it ten minutes after the key's save, and edits again twice.
    WorkflowVersion.objects.filter(workflow=workflow, number=5).update(
        created_at=timezone.now() - timedelta(minutes=10))
    key = WorkflowVersion.objects.get(workflow=workflow, number=5)
    for prompt in ("a cow at 1", "a cow at 2"):
        assert editor.put(url, graph(prompt), format="json").status_code == 200
    # An idle gap on one author's own burst starts another one too.
    WorkflowVersion.objects.filter(workflow=workflow, number=7).update(
        created_at=timezone.now() - timedelta(minutes=6))
    assert editor.put(url, graph("a cow at 3"), format="json").status_code == 200
    entries = editor.get(f"{url}/versions").json()
    assert [(e["number"], e["versions"]) for e in entries["data"]] == [
        (8, 1), (7, 2), (5, 1), (4, 3), (1, 1)]
    assert entries["total"] == 5
    key.refresh_from_db()
    assert key.superseded_at is None  # another author's version is never folded


def later(seconds: float = 0):
    return timezone.now() + versions.GRACE + timedelta(seconds=seconds + 1)


def test_three_minutes_of_autosave_leave_one_version_with_the_latest_graph(team, member):
    editor, user = member(team, "editor")
    created = editor.post("/api/v1/workflows", graph(), format="json").json()["data"]
    url = f"/api/v1/workflows/{created['id']}"
    for n in range(120):  # autosave every 1.5 s for three minutes
        assert editor.put(url, graph(f"a cow, take {n}"), format="json").status_code == 200
    workflow = Workflow.objects.get(pk=created["id"])
    assert workflow.version == 121
    # Superseded versions wait GRACE (a run being started from one still finds it), then go.
    assert versions.versions_prune(workflow=workflow, now=later()) == 119
    kept = list(WorkflowVersion.objects.filter(workflow=workflow).order_by("number"))
    assert [(v.number, v.saves, v.source) for v in kept] == [(1, 1, "create"),
                                                              (121, 120, "replace")]
    assert kept[1].nodes == workflow.nodes  # the latest graph is always a version
    assert kept[1].nodes[0]["data"]["config"]["prompt"] == "a cow, take 119"
    assert editor.get(f"{url}/versions").json()["data"][0]["firstNumber"] == 2
    # The next save prunes what is past GRACE by itself.
    WorkflowVersion.objects.filter(workflow=workflow, number=121).update(
        created_at=timezone.now() - timedelta(minutes=20),
        started_at=timezone.now() - timedelta(minutes=20))
    assert editor.put(url, graph("a new burst"), format="json").status_code == 200
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 3


def test_a_long_burst_keeps_a_version_every_burst_max(team, member):
    editor, user = member(team, "editor")
    created = editor.post("/api/v1/workflows", graph(), format="json").json()["data"]
    url = f"/api/v1/workflows/{created['id']}"
    assert editor.put(url, graph("one"), format="json").status_code == 200
    WorkflowVersion.objects.filter(number=2).update(
        started_at=timezone.now() - versions.BURST_MAX)
    assert editor.put(url, graph("two"), format="json").status_code == 200
    assert WorkflowVersion.objects.get(number=2).superseded_at is None


def test_a_named_version_is_never_coalesced_and_naming_is_logged(saved, team, member):
    editor, url, workflow = saved
    response = editor.patch(f"{url}/versions/5", {"label": "  Client   approved "},
                            format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["label"] == "Client approved"
    # A name set on a version already superseded keeps it too.
    assert editor.patch(f"{url}/versions/3", {"label": "dawn"}, format="json").status_code == 200
    for prompt in ("after 1", "after 2"):
        assert editor.put(url, graph(prompt), format="json").status_code == 200
    versions.versions_prune(workflow=workflow, now=later())
    numbers = list(WorkflowVersion.objects.filter(workflow=workflow).order_by("number")
                   .values_list("number", "label"))
    assert numbers == [(1, ""), (3, "dawn"), (4, ""), (5, "Client approved"), (7, "")]
    listed = editor.get(f"{url}/versions").json()["data"]
    assert [(e["number"], e["label"]) for e in listed] == [
        (7, ""), (5, "Client approved"), (4, ""), (3, "dawn"), (1, "")]
    event = ActivityEvent.objects.get(kind="version.named", details__number=5)
    assert event.details == {"number": 5, "label": "Client approved"}
    assert event.actor_name == "eve" and event.workflow_id == workflow.pk
    # Taking the name back: "" (logged once per name given, not per removal).
    assert editor.patch(f"{url}/versions/5", {"label": ""}, format="json").json()[
        "data"]["label"] == ""


def test_naming_refuses_bad_bodies_viewers_and_strangers(saved, team, other_team, member,
                                                         key_client):
    editor, url, workflow = saved
    for body in ({"label": 5}, {"label": "x" * 121}, {"label": "a\x00b"}, ["label"]):
        response = editor.patch(f"{url}/versions/5", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["code"] in {"invalid_request", "malformed_body"}
    viewer, _ = member(team, "viewer")
    assert viewer.patch(f"{url}/versions/5", {"label": "x"}, format="json").status_code == 403
    reader = key_client(team, scopes=["workflows:read"])
    assert reader.patch(f"{url}/versions/5", {"label": "x"}, format="json").status_code == 403
    stranger, _ = member(other_team, "owner")
    assert stranger.patch(f"{url}/versions/5", {"label": "x"}, format="json").status_code == 404
    assert editor.patch(f"{url}/versions/99", {"label": "x"}, format="json").status_code == 404
    assert not WorkflowVersion.objects.exclude(label="").exists()
    assert not ActivityEvent.objects.filter(kind="version.named").exists()
    # Without a label a PATCH changes nothing; control characters are dropped from one.
    assert editor.patch(f"{url}/versions/5", {}, format="json").json()["data"]["label"] == ""
    named = editor.patch(f"{url}/versions/5", {"label": "a\tb\x01c"}, format="json")
    assert named.status_code == 200 and named.json()["data"]["label"] == "a bc"


def test_a_version_a_run_was_started_from_is_kept(team, member):
    from executions.models import Execution

    editor, user = member(team, "editor")
    created = editor.post("/api/v1/workflows", graph(), format="json").json()["data"]
    url = f"/api/v1/workflows/{created['id']}"
    assert editor.put(url, graph("ran this"), format="json").status_code == 200
    workflow = Workflow.objects.get(pk=created["id"])
    ran = WorkflowVersion.objects.get(workflow=workflow, number=2)
    Execution.objects.create(team=team, workflow=workflow, workflow_version=ran,
                             nodes=ran.nodes, edges=ran.edges)
    for prompt in ("then this", "and this"):
        assert editor.put(url, graph(prompt), format="json").status_code == 200
    versions.versions_prune(workflow=workflow, now=later())
    assert list(WorkflowVersion.objects.filter(workflow=workflow).order_by("number")
                .values_list("number", "saves")) == [(1, 1), (2, 1), (4, 2)]


def test_the_list_says_what_each_version_changed_and_pages(saved):
    editor, url, workflow = saved
    body = editor.get(f"{url}/versions").json()
    summaries = [(e["number"], e["summary"]) for e in body["data"]]
    assert summaries == [(5, "+1 node, 2 settings changed"), (4, "1 setting changed"),
                         (1, "first version")]
    assert body["data"][0]["changes"] == {
        "nodesAdded": 1, "nodesRemoved": 0, "nodesChanged": 2, "settingsChanged": 2,
        "nodesMoved": 0, "edgesAdded": 0, "edgesRemoved": 0}
    page = editor.get(f"{url}/versions?limit=1&offset=1").json()
    assert [e["number"] for e in page["data"]] == [4] and page["total"] == 3
    assert page["data"][0]["summary"] == "1 setting changed"  # against the one before, v1
    for query in ("limit=x", "offset=-1", f"offset={2**63}"):
        response = editor.get(f"{url}/versions?{query}")
        assert response.status_code == 400 and response.json()["code"] == \
            "invalid_request"


def test_a_version_comes_with_its_diff_against_the_current_graph(saved):
    editor, url, workflow = saved
    version = editor.get(f"{url}/versions/2").json()["data"]
    assert (version["number"], version["author"], version["current"]) == (2, "eve", False)
    assert version["nodes"][0]["data"]["config"]["prompt"] == "a cow at dawn"
    assert version["diff"] == {
        "nodesAdded": ["note"], "nodesRemoved": [],
        "nodesChanged": [
            {"nodeId": "text", "settings": ["prompt"], "fields": [],
             "values": {"prompt": {"before": "a cow at dawn", "after": "a cow at night"}}},
            {"nodeId": "upscale", "settings": ["scale"], "fields": [],
             "values": {"scale": {"before": 2, "after": 4}}}],
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
                                     "fields": ["label", "position"], "values": {}}]
    assert [e["id"] for e in diff["edgesRemoved"]] == ["e2"]
    assert [e["id"] for e in diff["edgesAdded"]] == ["e9"]
    # A draft's malformed nodes and edges (saved with ?strict=false) are compared, not a 500.
    odd = graph_diff(old_nodes="junk", old_edges=None, new_nodes=[1, {"id": []}],
                     new_edges=[2, {"id": "e", "source": [], "target": {}}])
    assert odd["nodesAdded"] == [] and [e["id"] for e in odd["edgesAdded"]] == ["e"]
