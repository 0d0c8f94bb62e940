"""GET /templates, POST /templates/{id}/clone and POST /workflows/{id}/template: built-in
starters and team templates, their quoted cost and cover, scopes and team isolation."""

from __future__ import annotations

import pytest

from executions.pricing import estimate
from graph.models import Workflow, WorkflowTemplate, WorkflowVersion
from graph.starters import starter_get, starters
from tests.samples import offline_chain

pytestmark = pytest.mark.django_db


def _workflow(api, graph=None) -> str:
    response = api.post("/api/v1/workflows", graph or offline_chain(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


def _save(api, workflow_id, body=None):
    return api.post(f"/api/v1/workflows/{workflow_id}/template", body or {}, format="json")


def test_the_list_starts_with_the_built_ins_priced_by_the_estimate(api):
    body = api.get("/api/v1/templates?limit=100").json()
    assert body["total"] == len(starters()) and body["limit"] == 100 and body["offset"] == 0
    items = {t["id"]: t for t in body["templates"]}
    for starter in starters():
        item = items[starter.id]
        assert item["source"] == "builtin" and item["teamId"] is None
        assert item["name"] == starter.name and item["description"] == starter.description
        quoted = estimate(starter.nodes, edges=starter.edges)["estimatedCredits"]
        assert item["estimatedCredits"] == quoted and item["estimateComplete"] is True
        assert item["coverUrl"] is None and item["models"]
    assert items["flux-upscale-kling-video"]["models"][0].startswith("FLUX.2")
    assert items["ad-variants-batch"]["sampleBatch"] == starter_get("ad-variants-batch").batch


def test_save_as_template_copies_the_graph_for_the_team_only(api, team, other_team,
                                                            key_client):
    workflow_id = _workflow(api)
    response = _save(api, workflow_id, {"name": "Our chain", "description": "House style"})
    assert response.status_code == 201, response.json()
    saved = response.json()["data"]
    assert saved["source"] == "team" and saved["teamId"] == team.pk
    assert saved["name"] == "Our chain" and saved["description"] == "House style"
    assert saved["sourceWorkflowId"] == workflow_id
    assert saved["coverUrl"] is None  # the workflow never ran: no output to show
    template = WorkflowTemplate.objects.get(pk=saved["id"])
    assert template.nodes == Workflow.objects.get(pk=workflow_id).nodes

    ours = api.get("/api/v1/templates?source=team").json()
    assert [t["id"] for t in ours["templates"]] == [saved["id"]] and ours["total"] == 1

    outsider = key_client(other_team)
    theirs = outsider.get("/api/v1/templates").json()
    assert saved["id"] not in {t["id"] for t in theirs["templates"]}
    assert theirs["total"] == len(starters())
    refused = outsider.post(f"/api/v1/templates/{saved['id']}/clone", {}, format="json")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert outsider.delete(f"/api/v1/templates/{saved['id']}").status_code == 404
    assert _save(outsider, workflow_id).status_code == 404
    assert WorkflowTemplate.objects.filter(pk=saved["id"]).exists()


def test_a_saved_template_carries_no_pin_to_the_workflow_s_runs(api):
    graph = offline_chain()
    graph["nodes"][1]["data"]["pinned"] = {"executionId": "00000000-0000-0000-0000-000000000001"}
    workflow_id = _workflow(api, graph)
    saved = _save(api, workflow_id).json()["data"]
    nodes = WorkflowTemplate.objects.get(pk=saved["id"]).nodes
    assert all("pinned" not in n["data"] for n in nodes)
    assert "pinned" in Workflow.objects.get(pk=workflow_id).nodes[1]["data"]


def test_clone_makes_a_new_workflow_in_the_caller_s_team(api, team):
    response = api.post("/api/v1/templates/print-upscale-4mp/clone", {}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["teamId"] == team.pk and data["templateId"] == "print-upscale-4mp"
    assert data["url"].endswith(f"/workflows/{data['id']}")
    workflow = Workflow.objects.get(pk=data["id"])
    starter = starter_get("print-upscale-4mp")
    assert workflow.team == team and workflow.name == starter.name
    assert workflow.nodes == starter.nodes and workflow.edges == starter.edges
    assert workflow.versions.get().source == WorkflowVersion.Source.TEMPLATE
    # The new workflow is the caller's to change; the starter is untouched.
    api.patch(f"/api/v1/workflows/{data['id']}/nodes/prompt",
              {"config": {"prompt": "a fox"}}, format="json")
    assert starter_get("print-upscale-4mp").nodes[0]["data"]["config"]["prompt"] != "a fox"


def test_clone_into_a_chosen_team_and_a_team_template_into_another_of_mine(
        session_client, team, other_team):
    from accounts.services import membership_set

    client, user = session_client(team)
    membership_set(team=other_team, user=user, role="editor")
    client.get("/templates")  # the CSRF cookie, as the page sets it
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    workflow_id = _workflow_via(client, csrf)
    saved = client.post(f"/api/v1/workflows/{workflow_id}/template", {}, format="json",
                        **csrf).json()["data"]
    response = client.post(f"/api/v1/templates/{saved['id']}/clone",
                           {"teamId": other_team.pk, "name": "Borrowed"}, format="json", **csrf)
    assert response.status_code == 201, response.json()
    copy_of = Workflow.objects.get(pk=response.json()["data"]["id"])
    assert copy_of.team == other_team and copy_of.name == "Borrowed"


def _workflow_via(client, csrf) -> str:
    response = client.post("/api/v1/workflows", offline_chain(), format="json", **csrf)
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


def test_clone_into_a_team_i_am_not_in_is_not_found(api, other_team):
    response = api.post("/api/v1/templates/storyboard-frames/clone",
                        {"teamId": other_team.pk}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not Workflow.objects.filter(team=other_team).exists()


def test_scopes_read_lists_write_clones_and_saves(team, key_client, api):
    reader = key_client(team, scopes=["workflows:read"])
    assert reader.get("/api/v1/templates").status_code == 200
    refused = reader.post("/api/v1/templates/storyboard-frames/clone", {}, format="json")
    assert refused.status_code == 403
    assert _save(reader, _workflow(api)).status_code == 403
    runner = key_client(team, scopes=["workflows:execute"])
    assert runner.get("/api/v1/templates").status_code == 403
    assert not Workflow.objects.filter(name=starter_get("storyboard-frames").name).exists()


def test_a_viewer_can_list_but_not_use_templates(session_client, team):
    client, _ = session_client(team, role="viewer")
    assert client.get("/api/v1/templates").status_code == 200
    page = client.get("/templates")
    assert page.status_code == 200 and b"/use\"" not in page.content
    client.get("/templates")
    csrf = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    response = client.post("/api/v1/templates/storyboard-frames/clone", {}, format="json",
                           **csrf)
    assert response.status_code == 403


def test_bad_input_is_a_clear_400_or_404(api):
    assert api.get("/api/v1/templates?source=nope").json()["code"] == "invalid_request"
    assert api.get("/api/v1/templates?teamId=x").status_code == 400
    assert api.get("/api/v1/templates?limit=x").status_code == 400
    assert api.post("/api/v1/templates/nope/clone", {}, format="json").status_code == 404
    bad = api.post("/api/v1/templates/storyboard-frames/clone", {"teamId": "1"},
                   format="json")
    assert bad.status_code == 400
    assert api.post("/api/v1/templates/storyboard-frames/clone", [1],
                    format="json").status_code == 400
    deleted = api.delete("/api/v1/templates/storyboard-frames")
    assert deleted.status_code == 403 and deleted.json()["code"] == "builtin_template"
    assert api.post("/api/v1/templates/storyboard-frames/clone", "null",
                    content_type="application/json").status_code == 400
    workflow_id = _workflow(api)
    cover = _save(api, workflow_id, {"coverAssetId": "00000000-0000-0000-0000-000000000000"})
    assert cover.status_code == 404 and cover.json()["code"] == "not_found"
    assert _save(api, workflow_id, {"coverAssetId": "x"}).status_code == 400


def test_paging_runs_on_from_the_built_ins_into_the_team_s(api):
    workflow_id = _workflow(api)
    names = [f"T{i}" for i in range(3)]
    for name in names:
        assert _save(api, workflow_id, {"name": name}).status_code == 201
    total = len(starters()) + 3
    first = api.get(f"/api/v1/templates?limit={len(starters()) - 1}").json()
    rest = api.get(f"/api/v1/templates?offset={len(starters()) - 1}&limit=100").json()
    assert first["total"] == rest["total"] == total
    ids = [t["id"] for t in first["templates"] + rest["templates"]]
    assert len(ids) == len(set(ids)) == total
    assert [t["name"] for t in rest["templates"][1:]] == names[::-1]  # newest first


def test_one_template_with_its_graph(api, other_team, key_client):
    starter = starter_get("poster-exact-hex-text")
    body = api.get(f"/api/v1/templates/{starter.id}").json()
    assert body["name"] == starter.name and body["nodes"] == starter.nodes
    assert body["edges"] == starter.edges and body["source"] == "builtin"
    saved = _save(api, _workflow(api)).json()["data"]
    mine = api.get(f"/api/v1/templates/{saved['id']}").json()
    assert mine["nodes"] == WorkflowTemplate.objects.get(pk=saved["id"]).nodes
    assert key_client(other_team).get(f"/api/v1/templates/{saved['id']}").status_code == 404
    assert api.get("/api/v1/templates/nope").status_code == 404


def test_delete_a_team_template(api):
    saved = _save(api, _workflow(api)).json()["data"]
    assert api.delete(f"/api/v1/templates/{saved['id']}").status_code == 204
    assert api.post(f"/api/v1/templates/{saved['id']}/clone", {},
                    format="json").status_code == 404


def test_the_gallery_page_lists_cards_and_use_template_opens_the_editor(session_client, team):
    client, _ = session_client(team)
    page = client.get("/templates")
    assert page.status_code == 200
    html = page.content.decode()
    for starter in starters():
        assert starter.name.replace("→", "&rarr;") in html or starter.name in html
    assert 'href="/templates"' in html  # the header's link
    csrf = client.cookies["csrftoken"].value
    response = client.post("/templates/social-sizes-from-one-image/use",
                           {"csrfmiddlewaretoken": csrf, "team": str(team.pk)})
    assert response.status_code == 302
    workflow = Workflow.objects.get(team=team)
    assert response["Location"] == f"/workflows/{workflow.pk}"
    assert client.post("/templates/nope/use", {"csrfmiddlewaretoken": csrf}).status_code == 404
    assert client.get("/templates?offset=99999999999999999999999").status_code == 200


def test_the_page_deletes_a_team_template_for_an_editor_only(session_client, team, api):
    saved = _save(api, _workflow(api), {"name": "House chain"}).json()["data"]
    viewer, _ = session_client(team, role="viewer")
    viewer.get("/templates")
    refused = viewer.post(f"/templates/{saved['id']}/delete",
                          {"csrfmiddlewaretoken": viewer.cookies["csrftoken"].value})
    assert refused.status_code == 302 and WorkflowTemplate.objects.filter(pk=saved["id"]).exists()
    editor, _ = session_client(team)
    page = editor.get("/templates").content.decode()
    assert "House chain" in page and f"/templates/{saved['id']}/delete" in page
    done = editor.post(f"/templates/{saved['id']}/delete",
                       {"csrfmiddlewaretoken": editor.cookies["csrftoken"].value})
    assert done.status_code == 302 and not WorkflowTemplate.objects.filter(pk=saved["id"]).exists()


def test_a_repeated_clone_with_the_same_idempotency_key_creates_one_workflow(api, team):
    first = api.post("/api/v1/templates/storyboard-frames/clone", {}, format="json",
                     HTTP_IDEMPOTENCY_KEY="clone-1")
    again = api.post("/api/v1/templates/storyboard-frames/clone", {}, format="json",
                     HTTP_IDEMPOTENCY_KEY="clone-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Workflow.objects.filter(team=team).count() == 1
    malformed = api.post("/api/v1/templates/storyboard-frames/clone", {"teamId": "x"},
                         format="json", HTTP_IDEMPOTENCY_KEY="clone-2")
    assert malformed.status_code == 400
    unknown = api.post("/api/v1/templates/nope/clone", {}, format="json",
                       HTTP_IDEMPOTENCY_KEY="clone-3")
    assert unknown.status_code == 404
