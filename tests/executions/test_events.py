"""Status events: every payload a real run emits is plain JSON of its declared shape, and the
run's end reaches the subscribers (poll heads, the channel layer, completion webhooks)."""

from __future__ import annotations

import json
import typing

import pytest

from executions import dispatch, events, worker
from executions.models import ExecutionStatus, WebhookDelivery
from executions.services import execution_start
from tests.graph.builders import edge, node

pytestmark = pytest.mark.django_db(transaction=True)

SHAPES = {"node.status": events.NodeStatusEvent, "execution.status": events.ExecutionStatusEvent}


def _run_in_this_process(team, monkeypatch, settings, tmp_path, **options):
    """Start a prompt → local preview → upscale run and execute its nodes here, in order,
    collecting every event handed to the sender."""
    settings.MEDIA_ROOT = tmp_path
    sent: list[events.Event] = []
    monkeypatch.setattr(events, "send_many",
                        lambda groups, batch, heads=None: sent.extend(batch))
    ready: list = []
    monkeypatch.setattr(dispatch, "node_runs_enqueue", ready.extend)
    nodes = [node("text", "input:text", {"prompt": "a heron at dawn"}),
             node("preview", "generate:local_preview", {"seed": 3, "width": 64, "height": 64}),
             node("up", "process:upscale_local", {"scale": 2})]
    edges = [edge("e1", "text", "prompt", "preview", "prompt"),
             edge("e2", "preview", "image", "up", "image")]
    execution = execution_start(team=team, nodes=nodes, edges=edges, **options)
    while ready:
        step = ready.pop(0)
        worker.task_run(worker.node_run_execute, step.node_run_id, step.lease)
    execution.refresh_from_db()
    return execution, sent


def test_every_event_of_a_run_round_trips_through_json_in_its_declared_shape(
        team, monkeypatch, settings, tmp_path):
    execution, sent = _run_in_this_process(team, monkeypatch, settings, tmp_path)
    assert execution.status == ExecutionStatus.COMPLETED
    assert [e["seq"] for e in sent] == list(range(1, execution.seq + 1))  # none missing
    assert {e["type"] for e in sent} == set(SHAPES)
    for event in sent:
        assert json.loads(json.dumps(event)) == event, event  # only JSON's own types
        declared = typing.get_type_hints(SHAPES[event["type"]])
        assert set(event) == set(declared), event["type"]
    images = [e["output"]["images"] for e in sent
              if e["type"] == "node.status" and e["output"] and e["output"]["images"]]
    assert len(images) == 2 and images[1][0]["width"] == 128  # the upscale's own output
    assert sent[-1]["type"] == "execution.status" and sent[-1]["status"] == "COMPLETED"


def test_a_run_that_ends_is_reported_to_completion_webhooks_in_its_transaction(
        team, monkeypatch, settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr("executions.tasks.deliver_webhook.delay", lambda pk: None)
    execution, _ = _run_in_this_process(team, monkeypatch, settings, tmp_path,
                                        webhook_url="http://127.0.0.1:9/hook")
    delivery = WebhookDelivery.objects.get(execution=execution)
    assert delivery.event_type == "execution.completed"
    assert delivery.payload["data"]["status"] == "COMPLETED"


def test_a_save_is_sent_to_the_workflows_group_once_it_commits_and_never_if_it_rolls_back(
        team, make_user, monkeypatch):
    from django.db import transaction

    from accounts.selectors import principal_for_user
    from graph.services import workflow_create, workflow_update
    from tests.graph.builders import text_to_image

    sent: list[tuple[list[str], list]] = []
    monkeypatch.setattr(events, "send_many",
                        lambda groups, batch, heads=None: sent.append((groups, batch)))
    ann = make_user(team=team, role="editor", username="ann")
    nodes, edges = text_to_image()
    workflow, _ = workflow_create(team=team, actor=principal_for_user(ann), name="w",
                                  nodes=nodes, edges=edges)
    sent.clear()
    with transaction.atomic():
        saved, _ = workflow_update(workflow=workflow, actor=principal_for_user(ann),
                                   changes={"name": "renamed"})
        assert sent == []  # not before the commit
    assert sent == [([events.workflow_group(workflow.pk)], [{
        "type": "workflow.saved", "workflowId": str(workflow.pk), "version": saved.version,
        "updatedAt": saved.updated_at.isoformat(timespec="microseconds").replace(
            "+00:00", "Z"), "author": "ann"}])]
    event = sent[0][1][0]
    assert json.loads(json.dumps(event)) == event
    assert set(event) == set(typing.get_type_hints(events.WorkflowSavedEvent))
    sent.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow_update(workflow=workflow, actor=principal_for_user(ann),
                        changes={"name": "again"})
        raise RuntimeError("rolled back")
    assert sent == []
