"""Batches: one execution per item in parallel, a failing item never stops the others, and a
retry re-runs only the failed items."""

from __future__ import annotations

import pytest

from tests.api.test_executions import create, poll_until_done, quick_graph

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_runs_every_item_and_retries_only_the_failed(api, live_worker):
    workflow_id = create(api, quick_graph())
    items = [{"prompt": "first"}, {"nope": "unknown node"}, {"prompt": "third"}]
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"batch": items},
                        format="json")
    assert response.status_code == 201
    body = response.json()
    runs = body["executionRuns"]
    assert [r["runIndexInBatch"] for r in runs] == [0, 1, 2]
    assert {r["batchId"] for r in runs} == {body["batchId"]}
    assert runs[1]["status"] == "FAILED" and runs[1]["error"] == "Unknown input node: nope"
    for run in (runs[0], runs[2]):
        done = poll_until_done(api, f"/api/v1/workflows/executions/{run['id']}/poll")
        assert done["status"] == "COMPLETED"
    batch = api.get(f"/api/v1/batches/{body['batchId']}").json()["data"]
    assert batch["total"] == 3 and batch["counts"] == {"COMPLETED": 2, "FAILED": 1}
    retry = api.post(f"/api/v1/batches/{body['batchId']}/retry")
    assert retry.status_code == 201
    assert [r["runIndexInBatch"] for r in retry.json()["data"]["retried"]] == [1]


def test_a_batch_counts_once_per_minute_and_is_capped_at_500(api):
    workflow_id = create(api, quick_graph())
    too_many = api.post(f"/api/v1/workflows/{workflow_id}/execute",
                        {"batch": [{}] * 501}, format="json")
    assert too_many.status_code == 400
    ok = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"batch": [{}] * 12},
                  format="json")
    assert ok.status_code == 201 and len(ok.json()["executionRuns"]) == 12
    # Twelve runs, one call: the executions-per-minute window (10) still has room.
    assert api.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                    format="json").status_code == 201
    assert api.get(f"/api/v1/batches/{'0' * 8}").status_code == 404
