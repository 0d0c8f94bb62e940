"""GET /assets: the team's outputs and uploads with their provenance, filtered and paged; a
favourite flag; a zip of a selection, streamed; another team's assets never found."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import timezone

from accounts.selectors import principal_for_user
from executions.assets import asset_from_output
from executions.models import Asset, NodeRun, NodeStatus
from executions.providers import OutputFile
from executions.services import execution_start
from graph.services import workflow_create
from tests.graph.builders import edge, node
from tests.media_files import pillow, video

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


def flux_graph(prompt: str):
    return ([node("text", "input:text", {"prompt": prompt}),
             node("gen", "generate:flux_2_pro", {"seed": 42, "width": 1024, "height": 768})],
            [edge("e1", "text", "prompt", "gen", "prompt")])


def preview_graph(prompt: str):
    return ([node("text", "input:text", {"prompt": prompt}),
             node("gen", "generate:local_preview", {"seed": 7, "width": 256, "height": 192})],
            [edge("e1", "text", "prompt", "gen", "prompt")])


@pytest.fixture
def made(make_user, media_storage):
    """Run a graph's `gen` node "to completion" by hand: store a file as its output."""
    def make(team, graph, data=None, *, workflow=None, credits=0, user=None):
        nodes, edges = graph
        execution = execution_start(team=team, nodes=nodes, edges=edges, workflow=workflow,
                                    actor=principal_for_user(user) if user else None)
        if user:
            execution.created_by = user
            execution.save(update_fields=["created_by"])
        run = NodeRun.objects.get(execution=execution, node_id="gen")
        asset = asset_from_output(node_run=run, simulated=False, output=OutputFile(
            data or pillow("PNG", (640, 480)), "image/png", "png"))
        NodeRun.objects.filter(pk=run.pk).update(
            outputs={"image": {"asset": str(asset.pk)}}, status=NodeStatus.COMPLETED,
            credits=credits)
        return asset

    return make


@pytest.fixture
def rich_team(make_team):
    return make_team(credits=1000)


def upload(api, data=None, name="a.png") -> dict:
    buffer = io.BytesIO(data or pillow("PNG", (50, 40)))
    buffer.name = name
    response = api.post("/api/v1/media/upload", {"file": buffer}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def test_an_output_is_listed_with_its_provenance(rich_team, key_client, made, make_user):
    api = key_client(rich_team)
    user = make_user(team=rich_team, role="editor")
    workflow, _ = workflow_create(team=rich_team, actor=principal_for_user(user), name="w",
                                  nodes=flux_graph("x")[0], edges=flux_graph("x")[1])
    asset = made(rich_team, flux_graph("a lighthouse at dusk"), workflow=workflow, credits=3,
                 user=user)
    response = api.get("/api/v1/assets")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["limit"] == 20 and body["offset"] == 0
    item = body["assets"][0]
    assert item["id"] == str(asset.pk) and item["kind"] == "output"
    assert item["mediaType"] == "image" and item["mime"] == "image/png"
    assert item["url"].startswith("http") and item["thumbnailUrl"] and item["thumbnails"]["256"]
    assert item["prompt"] == "a lighthouse at dusk"
    assert item["nodeType"] == "generate:flux_2_pro" and item["model"] == "flux-2-pro"
    assert item["modelVersion"] and item["seed"] == 42
    assert item["settings"]["width"] == 1024 and item["credits"] == 3
    assert item["ranBy"] == {"type": "user", "id": str(user.pk), "name": user.username}
    assert item["workflowId"] == str(workflow.pk)
    assert item["executionId"] == str(asset.node_run.execution_id) and item["nodeId"] == "gen"
    assert item["favorite"] is False and item["width"] == 640
    single = api.get(f"/api/v1/assets/{asset.pk}").json()["data"]
    unsigned = {"url", "thumbnailUrl", "thumbnails"}  # S3 presigns by the second
    assert {k: v for k, v in single.items() if k not in unsigned} == {
        k: v for k, v in item.items() if k not in unsigned}
    assert single["url"].split("?")[0] == item["url"].split("?")[0]


def test_an_inline_prompt_and_an_upload_with_its_uploader(team, key_client, made, make_key):
    key = make_key(team, name="ci")
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    nodes = [node("gen", "generate:local_preview", {"seed": 3, "prompt": "typed inline"})]
    made(team, (nodes, []))
    mine = upload(api)
    items = api.get("/api/v1/assets").json()["assets"]
    assert [i["kind"] for i in items] == ["upload", "output"]
    assert items[1]["prompt"] == "typed inline"
    up = items[0]
    assert up["id"] == mine["id"] and up["prompt"] is None and up["executionId"] is None
    assert up["credits"] is None and up["settings"] is None
    assert up["ranBy"] == {"type": "apiKey", "id": str(key.api_key.pk), "name": "ci"}


def test_filters_workflow_node_type_model_kind_dates_and_favourite(
        rich_team, api_for, made, make_user):
    api = api_for(rich_team)
    user = make_user(team=rich_team)
    workflow, _ = workflow_create(team=rich_team, actor=principal_for_user(user), name="w",
                                  nodes=flux_graph("x")[0], edges=flux_graph("x")[1])
    flux = made(rich_team, flux_graph("one"), workflow=workflow)
    preview = made(rich_team, preview_graph("two"))
    old = made(rich_team, preview_graph("three"))
    Asset.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(days=9))
    uploaded = upload(api)
    Asset.objects.filter(pk=preview.pk).update(favorite=True)

    def ids(**query):
        response = api.get("/api/v1/assets", query)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["assets"]}

    assert ids(workflowId=str(workflow.pk)) == {str(flux.pk)}
    assert ids(nodeType="generate:local_preview") == {str(preview.pk), str(old.pk)}
    assert ids(model="flux-2-pro") == {str(flux.pk)}
    assert ids(kind="upload") == {uploaded["id"]}
    assert ids(kind="output") == {str(flux.pk), str(preview.pk), str(old.pk)}
    assert ids(favorite="true") == {str(preview.pk)}
    assert str(preview.pk) not in ids(favorite="false")
    week_ago = (timezone.now() - timezone.timedelta(days=7)).isoformat()
    assert ids(createdBefore=week_ago) == {str(old.pk)}
    assert str(old.pk) not in ids(createdAfter=week_ago)
    assert ids(mediaType="video") == set()
    page = api.get("/api/v1/assets", {"limit": 2, "offset": 1}).json()
    assert page["total"] == 4 and len(page["assets"]) == 2


@pytest.mark.parametrize("query", [{"favorite": "yes"}, {"workflowId": "nope"},
                                   {"createdAfter": "last tuesday"}, {"kind": "thing"},
                                   {"limit": "x"}, {"offset": str(2**40)}, {"teamId": "a"},
                                   {"nodeType": "a\x00b"}, {"model": "\x00"}])
def test_bad_filters_are_a_400_in_the_error_shape(api, query):
    response = api.get("/api/v1/assets", query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


@pytest.fixture
def api_for(key_client):
    return key_client


def test_another_teams_assets_are_never_seen_favourited_or_zipped(
        team, other_team, key_client, made):
    theirs = made(other_team, preview_graph("secret"))
    api = key_client(team)
    assert api.get("/api/v1/assets").json()["total"] == 0
    assert api.get(f"/api/v1/assets/{theirs.pk}").status_code == 404
    assert api.post(f"/api/v1/assets/{theirs.pk}/favorite").status_code == 404
    response = api.post("/api/v1/assets/zip", {"ids": [str(theirs.pk)]}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["missingIds"] == [str(theirs.pk)]
    theirs.refresh_from_db()
    assert theirs.favorite is False


def test_favourite_and_unfavourite_are_idempotent_and_need_write(team, key_client, made):
    asset = made(team, preview_graph("p"))
    api = key_client(team)
    for _ in range(2):
        response = api.post(f"/api/v1/assets/{asset.pk}/favorite")
        assert response.status_code == 200 and response.json()["data"]["favorite"] is True
    assert api.get("/api/v1/assets", {"favorite": "true"}).json()["total"] == 1
    reader = key_client(team, scopes=["executions:read"])
    assert reader.get("/api/v1/assets").status_code == 200
    assert reader.delete(f"/api/v1/assets/{asset.pk}/favorite").status_code == 403
    response = api.delete(f"/api/v1/assets/{asset.pk}/favorite")
    assert response.status_code == 200 and response.json()["data"]["favorite"] is False
    no_read = key_client(team, scopes=["workflows:read"])
    assert no_read.get("/api/v1/assets").status_code == 403


def test_a_zip_of_a_selection_holds_the_original_files(team, api, made):
    image = made(team, preview_graph("p"), pillow("PNG", (300, 200)))
    clip = made(team, preview_graph("v"), video("mp4"))
    response = api.post("/api/v1/assets/zip", {"ids": [str(image.pk), str(clip.pk)]},
                        format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 2 and names[0].endswith(".png") and names[1].endswith(".mp4")
    with image.file.open("rb") as stored:
        assert archive.read(names[0]) == stored.read()
    assert archive.read(names[1]) == video("mp4")


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": "x"}, {"ids": ["a"] * 101}, [1]])
def test_a_zip_asks_for_1_to_100_ids(api, body):
    response = api.post("/api/v1/assets/zip", body, format="json")
    assert response.status_code == 400, response.content


def test_a_zip_over_the_byte_cap_is_a_413(team, api, made, settings):
    asset = made(team, preview_graph("p"))
    settings.ASSETS_ZIP_MAX_BYTES = asset.size - 1
    response = api.post("/api/v1/assets/zip", {"ids": [str(asset.pk)]}, format="json")
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_under_asgi_the_zip_is_an_asynchronous_stream_django_need_not_buffer(
        team, make_key, made, recwarn):
    """Django reads a synchronous iterator whole before sending it under ASGI (with a
    warning); the view hands it an asynchronous one there."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    asset = made(team, preview_graph("p"))
    client = AsyncClient()
    key = make_key(team).raw_key

    async def fetch():
        response = await client.post("/api/v1/assets/zip", {"ids": [str(asset.pk)]},
                                     content_type="application/json",
                                     headers={"Authorization": f"Bearer {key}"})
        if not response.streaming:
            return response, response.content
        body = b"".join([chunk async for chunk in response.streaming_content])
        return response, body

    response, body = async_to_sync(fetch)()
    assert response.status_code == 200 and response.is_async
    assert zipfile.ZipFile(io.BytesIO(body)).namelist()[0].endswith(".png")
    assert not [w for w in recwarn if "synchronous iterators" in str(w.message)]
