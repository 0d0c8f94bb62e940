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


def test_concurrent_retries_re_run_each_failed_item_once(make_team, make_key):
    """Three retries at once of a batch whose items all failed made three runs per item (and
    charged the ones that completed more than once): the batch is locked while it is retried."""
    from rest_framework.test import APIClient

    from accounts.services import credits_grant
    from executions.models import Execution
    from graph.models import Workflow
    from tests.concurrency import at_once
    from tests.graph.builders import edge, node

    team = make_team(credits=0)
    raw = make_key(team).raw_key

    def client() -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return api

    graph = {"name": "paid", "nodes": [
        node("prompt", "input:text", {"prompt": "a heron"}),
        node("flux", "generate:flux_2_pro", {"width": 1024, "height": 1024, "seed": 1})],
        "edges": [edge("e1", "prompt", "prompt", "flux", "prompt")]}
    workflow_id = client().post("/api/v1/workflows", graph, format="json").json()["data"]["id"]
    started = client().post(f"/api/v1/workflows/{workflow_id}/execute", {"batch": [{}] * 4},
                            format="json").json()
    assert {run["status"] for run in started["executionRuns"]} == {"FAILED"}  # no credits
    credits_grant(team=Workflow.objects.get(pk=workflow_id).team, amount=100)

    statuses = at_once(3, lambda: client().post(
        f"/api/v1/batches/{started['batchId']}/retry").status_code)

    assert sorted(statuses) == [201, 400, 400]  # the others found nothing left to retry
    runs = Execution.objects.filter(batch_id=started["batchId"])
    assert runs.count() == 4 + 4
    assert sorted(runs.exclude(status="FAILED").values_list("run_index_in_batch", flat=True)) \
        == [0, 1, 2, 3]


def test_one_item_of_a_batch_is_retried_alone(api, live_worker):
    workflow_id = create(api, quick_graph())
    items = [{"nope": "a"}, {"prompt": "fine"}, {"nope": "b"}]
    started = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"batch": items},
                       format="json").json()
    batch_url = f"/api/v1/batches/{started['batchId']}/retry"
    poll_until_done(api, f"/api/v1/workflows/executions/{started['executionRuns'][1]['id']}/poll")

    # Only item 2: item 0 stays failed, as it was.
    one = api.post(batch_url, {"runIndexes": [2]}, format="json")
    assert one.status_code == 201, one.json()
    assert [r["runIndexInBatch"] for r in one.json()["data"]["retried"]] == [2]
    # An item that did not fail, one the batch has not, and malformed bodies change nothing.
    for body, code in (({"runIndexes": [1]}, "nothing_to_retry"),
                       ({"runIndexes": [7]}, "invalid_request"),
                       ({"runIndexes": []}, "invalid_request"),
                       ({"runIndexes": ["0"]}, "invalid_request"),
                       ({"runIndexes": [0], "other": 1}, "invalid_request")):
        refused = api.post(batch_url, body, format="json")
        assert refused.status_code == 400 and refused.json()["code"] == code, (body,
                                                                                refused.json())
    batch = api.get(f"/api/v1/batches/{started['batchId']}").json()["data"]
    assert batch["counts"]["FAILED"] == 2  # item 0 as before, item 2's retry failed again
    assert api.post(batch_url, {"runIndexes": [0]}, format="json").status_code == 201
