"""Every built-in starter, used as a template, runs to COMPLETED offline: a live worker, the
providers' simulator (SIMULATE=1) and the local nodes; and a team template saved from a run
takes its cover from the run's output."""

from __future__ import annotations

import pytest

from graph.starters import starter_get, starters
from tests.api.test_executions import poll_until_done
from tests.media_files import fetched

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rich_api(make_team, key_client):
    team = make_team(credits=10_000)
    return key_client(team)


def _use(api, template_id: str) -> str:
    response = api.post(f"/api/v1/templates/{template_id}/clone", {}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


@pytest.mark.parametrize("starter", starters(), ids=lambda s: s.id)
def test_every_starter_runs_to_completed_offline(rich_api, live_worker, starter):
    workflow_id = _use(rich_api, starter.id)
    quoted = rich_api.post(f"/api/v1/workflows/{workflow_id}/estimate", {},
                           format="json").json()["data"]["estimatedCredits"]
    listed = {t["id"]: t for t in rich_api.get("/api/v1/templates?limit=100").json()["templates"]}
    assert listed[starter.id]["estimatedCredits"] == quoted
    started = rich_api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert started.status_code == 201, started.json()
    result = poll_until_done(rich_api, started["Location"], timeout=60)
    assert result["status"] == "COMPLETED", result
    states = [s for s in result["nodeStates"] if s["status"] != "SKIPPED"]
    assert all(s["status"] in ("COMPLETED", "CACHED") for s in states), states
    assert result["finalOutput"]["url"]
    assert 0 < result["credits"]["charged"] <= quoted


def test_the_ad_starter_runs_its_sample_batch(rich_api, live_worker):
    starter = starter_get("ad-variants-batch")
    workflow_id = _use(rich_api, starter.id)
    started = rich_api.post(f"/api/v1/workflows/{workflow_id}/execute",
                            {"batch": starter.batch}, format="json")
    assert started.status_code == 201, started.json()
    runs = started.json()["executionRuns"]
    assert len(runs) == len(starter.batch)
    for run in runs:
        result = poll_until_done(rich_api, f"/api/v1/workflows/executions/{run['id']}/poll",
                                 timeout=60)
        assert result["status"] == "COMPLETED", result
        headline = next(s for s in result["nodeStates"] if s["nodeId"] == "headline")
        assert headline["text"] in {item["headline"]["prompt"] for item in starter.batch}


def test_save_as_template_takes_its_cover_from_the_last_output(rich_api, live_worker, client,
                                                              key_client, make_team):
    workflow_id = _use(rich_api, "print-upscale-4mp")
    started = rich_api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert poll_until_done(rich_api, started["Location"], timeout=60)["status"] == "COMPLETED"
    saved = rich_api.post(f"/api/v1/workflows/{workflow_id}/template",
                          {"name": "Print ready"}, format="json")
    assert saved.status_code == 201, saved.json()
    item = saved.json()["data"]
    assert item["thumbnailUrl"] and item["coverUrl"]
    assert "signature=" in item["thumbnailUrl"] or "Signature=" in item["thumbnailUrl"]
    listed = rich_api.get("/api/v1/templates?source=team").json()["templates"]
    assert listed[0]["id"] == item["id"] and listed[0]["thumbnailUrl"]
    # The signed URL serves the thumbnail; another team sees neither template nor cover.
    assert fetched(client, item["thumbnailUrl"])
    outsider = key_client(make_team())
    assert item["id"] not in {t["id"] for t in
                              outsider.get("/api/v1/templates").json()["templates"]}
