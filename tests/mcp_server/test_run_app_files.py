"""MCP run_app's file fields through its operation (no live server): an MCP client cannot
send multipart through a tool, so a file field takes an http(s) URL, fetched through the
outbound guard as an Image Input's URL is, or the upload token its key got from
POST /apps/{slug}/uploads; another key's token is refused and nothing starts."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.selectors import principal_for_api_key
from clientapps.services import app_create, app_upload
from executions.models import Asset, Execution, NodeRun
from graph.services import workflow_create
from mcp_server import operations
from tests.graph.builders import edge, node
from tests.media_files import pillow
from tests.servers import RawServer, serve_png
from wireflow_site.errors import ApiError

pytestmark = pytest.mark.django_db


def test_run_app_takes_a_url_through_the_guard_or_its_own_keys_upload_token(
        make_team, make_key, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.FETCH_ALLOW_PRIVATE = False
    team = make_team()
    agent = principal_for_api_key(make_key(team, scopes=["apps:execute"]).api_key)
    other = principal_for_api_key(make_key(team, scopes=["apps:execute"]).api_key)
    workflow, _ = workflow_create(team=team, actor=agent, name="Upscale", nodes=[
        node("photo", "input:image", {"url": "https://example.com/saved.png"}),
        node("up", "process:upscale_local", {"scale": 2}),
    ], edges=[edge("e1", "photo", "image", "up", "image")], strict=False)
    app = app_create(workflow=workflow, actor=agent, title="Upscaler", access="link",
                     daily_credit_cap=100, exposed_inputs=[{"nodeId": "photo"}])
    request = RequestFactory().post("/api/mcp")

    def run(who, value):
        return operations.app_run(who, request, slug=app.slug, inputs={"photo": value})

    server = RawServer(serve_png)
    try:
        url = f"http://127.0.0.1:{server.port}/blue.png"
        with pytest.raises(ApiError) as refused:
            run(agent, url)  # loopback, without the test's allowance
        assert (refused.value.code, refused.value.extra["nodeId"]) == ("fetch_refused", "photo")
        assert server.requests == [] and not Execution.objects.exists()
        settings.FETCH_ALLOW_PRIVATE = True  # the loopback server stands for the internet
        fetched = run(agent, url)
    finally:
        server.close()
    fetched_asset = Asset.objects.get()
    assert (fetched_asset.app_id, fetched_asset.width) == (app.pk, 8)
    assert NodeRun.objects.get(execution_id=fetched["executionId"], node_id="photo").config[
        "url"] == f"/media/{fetched_asset.file.name}"

    # A token the other key uploaded: refused, nothing starts; the agent's own: taken.
    _, theirs = app_upload(app=app, data=pillow("PNG", (40, 30)), declared_mime="image/png",
                           actor=other, visitor=f"key:{other.api_key.pk}")
    with pytest.raises(ApiError) as foreign:
        run(agent, theirs)
    assert foreign.value.code == "invalid_inputs" and Execution.objects.count() == 1
    mine, token = app_upload(app=app, data=pillow("PNG", (40, 30)), declared_mime="image/png",
                             actor=agent, visitor=f"key:{agent.api_key.pk}")
    started = run(agent, token)
    assert NodeRun.objects.get(execution_id=started["executionId"], node_id="photo").config[
        "url"] == f"/media/{mine.file.name}"
    assert Execution.objects.filter(app_id=app.pk, trigger="mcp").count() == 2
