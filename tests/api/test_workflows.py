"""The Workflows section of api.md, shape by shape."""

import copy

from graph.models import Workflow, WorkflowVersion
from tests.samples import WIREFLOW_EXAMPLE, offline_chain, with_cycle

URL = "/api/v1/workflows"
ITEM_KEYS = {"id", "name", "description", "webhookId", "webhookUrl", "isActive",
             "executionCount", "lastExecutedAt", "tags", "createdAt", "updatedAt"}


def _create(api, body=None, **params):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return api.post(URL + query, body or offline_chain(), format="json")


def test_wireflows_published_example_is_accepted_as_it_is(api):
    response = _create(api, WIREFLOW_EXAMPLE)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"data", "meta"} and body["meta"]["warnings"] == []
    assert body["data"]["nodes"] == WIREFLOW_EXAMPLE["nodes"]
    assert body["data"]["edges"] == WIREFLOW_EXAMPLE["edges"]
    assert body["data"]["tags"] == ["demo"] and body["data"]["isActive"] is True


def test_list_items_have_the_documented_fields_and_filter(api):
    _create(api)
    _create(api, {**offline_chain(), "name": "Off", "isActive": False})
    workflows = api.get(URL).json()["workflows"]
    assert len(workflows) == 2
    assert set(workflows[0]) >= ITEM_KEYS and "nodes" not in workflows[0]
    assert [w["name"] for w in api.get(URL, {"isActive": "false"}).json()["workflows"]] == ["Off"]
    trigger_path = f"/api/v1/workflow/{workflows[0]['webhookId']}/trigger"
    assert workflows[0]["webhookUrl"].endswith(trigger_path)


def test_get_returns_the_workflow_unwrapped(api):
    created = _create(api).json()["data"]
    body = api.get(f"{URL}/{created['id']}").json()
    assert ITEM_KEYS | {"nodes", "edges"} <= set(body)
    assert body["id"] == created["id"] and body["executionCount"] == 0


def test_an_invalid_graph_is_422_with_every_violation_and_nothing_saved(api):
    response = _create(api, with_cycle())
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_graph"
    assert body["error"] == f"Workflow graph failed validation ({len(body['violations'])} error" + (
        "s)" if len(body["violations"]) != 1 else ")")
    cycle = next(v for v in body["violations"] if v["rule"] == "cycle")
    assert set(cycle["nodes"]) == {"upscale-1", "upscale-2"}
    assert not Workflow.objects.exists()


def test_strict_false_saves_a_draft_and_reports_its_problems(api):
    response = _create(api, with_cycle(), strict="false")
    assert response.status_code == 201
    assert any(v["rule"] == "cycle" for v in response.json()["meta"]["violations"])
    assert WorkflowVersion.objects.get().valid is False


def test_empty_graphs_are_refused_even_as_drafts(api):
    for strict in ("true", "false"):
        response = _create(api, {"name": "Empty", "nodes": [], "edges": []}, strict=strict)
        assert response.status_code == 422
        assert [v["rule"] for v in response.json()["violations"]] == ["empty_graph"]
    assert not Workflow.objects.exists()


def test_malformed_bodies_get_a_clear_400(api):
    for body in ([1, 2], {"name": "x", "nodes": "not a list"}, {"name": 5, "nodes": {}}):
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"
    response = api.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_body"
    assert not Workflow.objects.exists()


def test_post_with_id_updates_and_writes_a_version(api):
    created = _create(api).json()["data"]
    response = api.post(URL, {"id": created["id"], "name": "Renamed"}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["name"] == "Renamed" and data["nodes"] == created["nodes"]
    assert data["updatedAt"] > created["updatedAt"]
    versions = WorkflowVersion.objects.filter(workflow_id=created["id"]).order_by("number")
    assert [(v.number, v.name) for v in versions] == [(1, "Offline chain"), (2, "Renamed")]


def test_put_replaces_and_requires_the_whole_workflow(api):
    created = _create(api).json()["data"]
    replacement = copy.deepcopy(WIREFLOW_EXAMPLE)
    response = api.put(f"{URL}/{created['id']}", replacement, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["nodes"] == replacement["nodes"]
    partial = api.put(f"{URL}/{created['id']}", {"name": "only a name"}, format="json")
    assert partial.status_code == 400
    assert api.get(f"{URL}/{created['id']}").json()["name"] == "Text to Image"


def test_a_stale_base_updated_at_is_409_and_overwrites_nothing(api):
    created = _create(api).json()["data"]
    first = api.post(URL, {"id": created["id"], "name": "Mine",
                           "baseUpdatedAt": created["updatedAt"]}, format="json")
    assert first.status_code == 200
    stale = api.put(f"{URL}/{created['id']}", {**offline_chain(), "name": "Theirs",
                                               "baseUpdatedAt": created["updatedAt"]},
                    format="json")
    assert stale.status_code == 409
    assert stale.json() == {
        "error": "The workflow was saved by someone else since you loaded it",
        "code": "stale_write",
        "currentUpdatedAt": first.json()["data"]["updatedAt"],
        "yourBaseUpdatedAt": created["updatedAt"],
        "currentVersion": 2,  # (+) for POST /workflows/{id}/merge
    }
    assert api.get(f"{URL}/{created['id']}").json()["name"] == "Mine"


def test_patch_node_merges_config_and_null_deletes(api):
    created = _create(api).json()["data"]
    url = f"{URL}/{created['id']}/nodes/preview-1"
    response = api.patch(url, {"config": {"seed": 42, "width": None}, "label": "Sketch",
                               "position": {"x": 1, "y": 2}}, format="json")
    assert response.status_code == 200, response.json()
    node = response.json()["data"]["node"]
    assert node["data"]["config"] == {"height": 512, "seed": 42}
    assert node["data"]["label"] == "Sketch" and node["position"] == {"x": 1, "y": 2}
    saved = api.get(f"{URL}/{created['id']}").json()
    assert saved["updatedAt"] == response.json()["data"]["updatedAt"]
    assert saved["nodes"][1] == node


def test_patch_node_refuses_structural_fields_and_bad_settings(api):
    created = _create(api).json()["data"]
    url = f"{URL}/{created['id']}/nodes/preview-1"
    for field in ("nodeType", "output", "id"):
        response = api.patch(url, {field: "x"}, format="json")
        assert response.status_code == 400 and response.json()["code"] == "immutable_field"
    bad = api.patch(url, {"config": {"width": "huge"}}, format="json")
    assert bad.status_code == 422
    assert bad.json()["violations"][0]["nodeId"] == "preview-1"
    missing = api.patch(f"{URL}/{created['id']}/nodes/nope", {"label": "x"}, format="json")
    assert missing.status_code == 404
    assert api.get(f"{URL}/{created['id']}").json()["nodes"] == created["nodes"]


def test_patch_node_honours_base_updated_at(api):
    created = _create(api).json()["data"]
    api.patch(f"{URL}/{created['id']}/nodes/preview-1", {"label": "a"}, format="json")
    stale = api.patch(f"{URL}/{created['id']}/nodes/preview-1",
                      {"label": "b", "baseUpdatedAt": created["updatedAt"]}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_write"


def test_lint_reports_a_cycle_with_its_node_ids(api):
    response = api.post(f"{URL}/lint", with_cycle(), format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["ok"] is False
    cycle = next(v for v in data["violations"] if v["rule"] == "cycle")
    assert set(cycle["nodes"]) == {"upscale-1", "upscale-2"}
    assert {"rule", "message", "fix", "nodeId", "edgeId"} <= set(cycle)


def test_lint_of_a_valid_graph_is_ok(api):
    data = api.post(f"{URL}/lint", offline_chain(), format="json").json()["data"]
    assert data == {"ok": True, "violations": [], "warnings": []}


def test_validate_checks_the_saved_graph(api):
    created = _create(api, with_cycle(), strict="false").json()["data"]
    data = api.post(f"{URL}/{created['id']}/validate").json()["data"]
    assert data["ok"] is False and any(v["rule"] == "cycle" for v in data["violations"])


def test_duplicate_copies_the_graph_under_a_new_id(api):
    created = _create(api).json()["data"]
    response = api.post(f"{URL}/{created['id']}/duplicate", {"name": "Copy"}, format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "name", "url"} and data["name"] == "Copy"
    assert data["url"].endswith(f"/workflows/{data['id']}")
    copy_of = api.get(f"{URL}/{data['id']}").json()
    assert copy_of["nodes"] == created["nodes"] and copy_of["webhookId"] != created["webhookId"]
    default = api.post(f"{URL}/{created['id']}/duplicate").json()["data"]
    assert default["name"] == "Offline chain (copy)"


def test_delete_is_204_then_gone_but_versions_are_kept(api):
    created = _create(api).json()["data"]
    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    assert api.get(f"{URL}/{created['id']}").status_code == 404
    assert api.get(URL).json() == {"workflows": []}
    assert WorkflowVersion.objects.filter(workflow_id=created["id"]).exists()


def test_node_catalog_lists_every_type_in_the_documented_shape(api):
    nodes = api.get("/api/v1/nodes").json()["nodes"]
    types = {n["nodeType"] for n in nodes}
    assert {"input:text", "input:image", "generate:flux_2_pro", "generate:flux_2_flex",
            "generate:nano_banana_2", "generate:local_preview", "process:upscale_local",
            "process:upscale_esrgan", "generate:image_to_video_local", "generate:kling_video",
            "process:resize_crop", "compose:text_overlay", "logic:router",
            "utility:sticky_note"} <= types
    for node in nodes:
        assert {"nodeType", "label", "category", "description", "inputs", "outputs",
                "credits"} <= set(node)
        for item in node["inputs"]:
            assert {"id", "label", "type", "isPort", "required", "default", "min", "max",
                    "enum"} <= set(item)
        for item in node["outputs"]:
            assert {"id", "label", "type"} <= set(item)
    text = next(n for n in nodes if n["nodeType"] == "input:text")
    assert {o["id"] for o in text["outputs"]} == {"prompt", "text"}


def test_visibility_shares_a_read_only_page_without_secrets(api, client):
    graph = {"name": "Shared <b>bold</b>", "nodes": [
        {"id": "t", "type": "basedNode", "position": {"x": 0, "y": 0},
         "data": {"label": "Prompt", "nodeType": "input:text",
                  "config": {"prompt": "hello", "api_key": "sk-should-not-leak"}}}],
        "edges": []}
    workflow_id = api.post("/api/v1/workflows?strict=false", graph,
                           format="json").json()["data"]["id"]
    private = api.post(f"{URL}/{workflow_id}/visibility", {"visibility": "private"},
                       format="json").json()
    assert private["linkPermission"] == "private"
    share_path = "/" + private["url"].split("://", 1)[1].split("/", 1)[1]
    assert client.get(share_path).status_code == 404
    shared = api.post(f"{URL}/{workflow_id}/visibility", {"visibility": "view"}, format="json")
    assert shared.status_code == 200 and shared.json()["linkPermission"] == "view"
    page = client.get(share_path)
    html = page.content.decode()
    assert page.status_code == 200 and "hello" in html
    assert "sk-should-not-leak" not in html and "<b>bold</b>" not in html
    bad = api.post(f"{URL}/{workflow_id}/visibility", {"visibility": "public"}, format="json")
    assert bad.status_code == 400
