"""(+) A save a teammate's save overtook: the 409 stale_write (api.md's shape, plus
currentVersion) and POST /workflows/{id}/merge (preview, merge, keep mine, take theirs),
where nothing either side saved leaves the history."""

from __future__ import annotations

import pytest

from graph.models import Workflow, WorkflowVersion
from tests.graph.builders import text_to_image

pytestmark = pytest.mark.django_db


def graph(prompt="a cow", scale=2):
    nodes, edges = text_to_image(prompt)
    nodes[2]["data"]["config"]["scale"] = scale
    return {"nodes": nodes, "edges": edges}


@pytest.fixture
def overtaken(team, member):
    """eve loads the workflow; ann saves a change to the upscaler; eve's save of a new prompt
    is refused as stale."""
    eve, _ = member(team, "editor", username="eve")
    ann, _ = member(team, "editor", username="ann")
    loaded = eve.post("/api/v1/workflows", {"name": "Shared", **graph()},
                      format="json").json()["data"]
    url = f"/api/v1/workflows/{loaded['id']}"
    assert ann.put(url, {"name": "Shared", **graph(scale=4)}, format="json").status_code == 200
    mine = graph("a horse")
    stale = eve.post("/api/v1/workflows?strict=false",
                     {"id": loaded["id"], **mine, "baseUpdatedAt": loaded["updatedAt"]},
                     format="json")
    return eve, url, loaded, mine, stale


def test_the_stale_save_is_api_mds_409_with_the_version_that_overtook_it(overtaken):
    eve, url, loaded, mine, stale = overtaken
    assert stale.status_code == 409
    body = stale.json()
    assert body == {"error": "The workflow was saved by someone else since you loaded it",
                    "code": "stale_write", "currentUpdatedAt": body["currentUpdatedAt"],
                    "yourBaseUpdatedAt": loaded["updatedAt"], "currentVersion": 2}
    assert eve.get(url).json()["nodes"][0]["data"]["config"]["prompt"] == "a cow"


def test_preview_offers_a_clean_merge_and_writes_nothing(overtaken):
    eve, url, loaded, mine, _ = overtaken
    preview = eve.post(f"{url}/merge", {**mine, "base": graph()}, format="json")
    assert preview.status_code == 200, preview.json()
    data = preview.json()["data"]
    assert data["clean"] is True and data["conflicts"] == []
    assert data["theirs"]["version"] == 2 and data["theirs"]["author"] == "ann"
    assert data["mineTouched"] == ["text"] and data["theirsTouched"] == ["upscale"]
    merged = {n["id"]: n["data"]["config"] for n in data["nodes"]}
    assert merged["text"] == {"prompt": "a horse"} and merged["upscale"] == {"scale": 4}
    assert Workflow.objects.get(pk=loaded["id"]).version == 2
    assert data["saved"] is None


def test_merge_saves_both_changes_as_a_new_version_that_says_merged(overtaken):
    eve, url, loaded, mine, _ = overtaken
    theirs_at = eve.get(url).json()["updatedAt"]
    saved = eve.post(f"{url}/merge", {**mine, "baseVersion": 1, "strategy": "merge",
                                      "theirsUpdatedAt": theirs_at}, format="json")
    assert saved.status_code == 200, saved.json()
    body = saved.json()["data"]
    assert body["clean"] is True and body["saved"]["version"] == 3
    config = {n["id"]: n["data"]["config"] for n in body["saved"]["nodes"]}
    assert config["text"] == {"prompt": "a horse"} and config["upscale"] == {"scale": 4}
    listed = eve.get(f"{url}/versions").json()["data"]
    assert [(v["number"], v["author"], v["source"]) for v in listed] == [
        (3, "eve", "merge"), (2, "ann", "replace"), (1, "eve", "create")]
    assert listed[0]["note"] == "merged with v2 by ann"
    assert listed[0]["summary"].startswith("merged with v2 by ann: ")
    # eve's next autosave starts a new version: the merge is never coalesced away.
    assert eve.post("/api/v1/workflows?strict=false",
                    {"id": loaded["id"], **graph("a horse, later", scale=4),
                     "baseUpdatedAt": body["saved"]["updatedAt"]},
                    format="json").status_code == 200
    assert WorkflowVersion.objects.filter(workflow_id=loaded["id"], number=3,
                                          superseded_at__isnull=True).exists()


def test_a_true_conflict_is_shown_and_merge_refused_but_mine_and_theirs_both_stay(
        overtaken, team, member):
    eve, url, loaded, _, _ = overtaken
    mine = graph("a horse", scale=8)  # ann set the scale to 4: the same setting
    preview = eve.post(f"{url}/merge", {**mine, "base": graph()}, format="json").json()["data"]
    assert preview["clean"] is False and preview["nodes"] is None
    assert preview["conflicts"] == [{"nodeId": "upscale", "field": "config.scale",
                                     "reason": "both_changed", "base": 2, "mine": 8,
                                     "theirs": 4}]
    refused = eve.post(f"{url}/merge", {**mine, "base": graph(), "strategy": "merge"},
                       format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "merge_conflict"
    assert refused.json()["conflicts"] == preview["conflicts"]
    assert Workflow.objects.get(pk=loaded["id"]).version == 2

    # Take theirs: eve's graph is kept as a version, ann's is current again.
    took = eve.post(f"{url}/merge", {**mine, "base": graph(), "strategy": "theirs",
                                     "theirsUpdatedAt": preview["theirs"]["updatedAt"]},
                    format="json")
    assert took.status_code == 200, took.json()
    assert took.json()["data"]["saved"]["nodes"][2]["data"]["config"]["scale"] == 4
    kept = {v.number: v for v in WorkflowVersion.objects.filter(workflow_id=loaded["id"])}
    assert kept[2].nodes[2]["data"]["config"]["scale"] == 4          # ann's
    assert kept[3].nodes == mine["nodes"] and kept[3].note == "mine, set aside for v2 by ann"
    assert kept[4].nodes == kept[2].nodes and kept[4].note == "took v2 by ann"

    # Keep mine, later: eve's goes on top; ann's stays in the history.
    ann = member(team, "editor", username="ann2")[0]
    kept_mine = ann.post(f"{url}/merge", {**mine, "baseVersion": 2, "strategy": "mine"},
                         format="json")
    assert kept_mine.status_code == 200
    assert kept_mine.json()["data"]["saved"]["nodes"][2]["data"]["config"]["scale"] == 8
    assert WorkflowVersion.objects.get(workflow_id=loaded["id"], number=5).note == \
        "kept mine over v4 by eve"
    assert WorkflowVersion.objects.filter(workflow_id=loaded["id"]).count() == 5


def test_a_merge_repeated_with_its_idempotency_key_writes_once(overtaken):
    eve, url, loaded, mine, _ = overtaken
    body = {**mine, "baseVersion": 1, "strategy": "mine"}
    first = eve.post(f"{url}/merge", body, format="json", HTTP_IDEMPOTENCY_KEY="merge-1")
    again = eve.post(f"{url}/merge", body, format="json", HTTP_IDEMPOTENCY_KEY="merge-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Workflow.objects.get(pk=loaded["id"]).version == 3


def test_a_save_since_the_preview_is_stale_again(overtaken, team, member):
    eve, url, loaded, mine, _ = overtaken
    preview = eve.post(f"{url}/merge", {**mine, "base": graph()}, format="json").json()["data"]
    ann = member(team, "editor", username="ann3")[0]
    assert ann.put(url, {"name": "Shared", **graph(scale=2)}, format="json").status_code == 200
    again = eve.post(f"{url}/merge", {**mine, "base": graph(), "strategy": "merge",
                                      "theirsUpdatedAt": preview["theirs"]["updatedAt"]},
                     format="json")
    assert again.status_code == 409 and again.json()["code"] == "stale_write"
    assert again.json()["currentVersion"] == 3


@pytest.mark.parametrize("body, message", [
    ({"strategy": "merge"}, "nodes"),
    ({"nodes": []}, "base"),                                       # no base
    ({"nodes": [], "base": {"nodes": []}, "baseVersion": 1}, "base"),  # both
    ({"nodes": [{"id": 1}], "base": {"nodes": []}}, "Cannot merge"),
    ({"nodes": [], "base": {"nodes": []}, "strategy": "ours"}, "strategy"),
    ({"nodes": [], "base": {"nodes": []}, "extra": 1}, "Unknown field"),
    ({"nodes": [], "base": "x"}, "base"),
    ({"nodes": [], "base": {"nodes": []}, "theirsUpdatedAt": "soon"}, "theirsUpdatedAt must be"),
])
def test_bad_bodies_are_400_and_change_nothing(overtaken, body, message):
    eve, url, loaded, _, _ = overtaken
    if body.get("theirsUpdatedAt"):
        body = {**body, "strategy": "mine"}
    response = eve.post(f"{url}/merge", body, format="json")
    assert response.status_code == 400, response.json()
    assert message in str(response.json()) and response.json()["code"] == "invalid_request"
    assert Workflow.objects.get(pk=loaded["id"]).version == 2


def test_an_unknown_base_version_is_404(overtaken):
    eve, url, _, mine, _ = overtaken
    assert eve.post(f"{url}/merge", {**mine, "baseVersion": 99},
                    format="json").status_code == 404


def test_viewers_and_strangers_cannot_merge(overtaken, team, other_team, member):
    _, url, loaded, mine, _ = overtaken
    viewer = member(team, "viewer")[0]
    stranger = member(other_team, "admin")[0]
    body = {**mine, "base": graph(), "strategy": "mine"}
    assert viewer.post(f"{url}/merge", body, format="json").status_code == 403
    assert stranger.post(f"{url}/merge", body, format="json").status_code == 404
    assert Workflow.objects.get(pk=loaded["id"]).version == 2
