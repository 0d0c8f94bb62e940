"""Status events: numbered in the database, then sent on the channel layer after commit.

The scheduler reports through `emit_node` / `emit_execution` only; Channels (and later webhooks)
subscribe by group. A client that sees a gap in `seq` re-syncs from the poll endpoint.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from executions.models import Execution, NodeRun

log = logging.getLogger(__name__)


class NodeStatusEvent(TypedDict):
    type: str  # "node.status"
    executionId: str
    workflowId: str | None
    nodeId: str
    status: str
    progress: float
    output: dict[str, Any] | None
    error: str | None
    credits: int
    seq: int


class ExecutionStatusEvent(TypedDict):
    type: str  # "execution.status"
    executionId: str
    workflowId: str | None
    status: str
    progress: float
    error: str | None
    seq: int


def execution_group(execution_id: Any) -> str:
    return f"execution.{execution_id}"


def workflow_group(workflow_id: Any) -> str:
    return f"workflow.{workflow_id}"


def _next_seq(execution_id: Any) -> int:
    """Bump and read the run's sequence number inside the caller's transaction."""
    Execution.objects.filter(pk=execution_id).update(seq=F("seq") + 1)
    return Execution.objects.values_list("seq", flat=True).get(pk=execution_id)


def emit_node(node_run: NodeRun, *, output: dict[str, Any] | None = None) -> None:
    execution = node_run.execution
    event: NodeStatusEvent = {
        "type": "node.status",
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "nodeId": node_run.node_id,
        "status": node_run.status,
        "progress": round(node_run.progress, 3),
        "output": output,
        "error": node_run.error or None,
        "credits": node_run.credits,
        "seq": _next_seq(execution.pk),
    }
    _send_on_commit(execution, dict(event))


def emit_execution(execution: Execution) -> None:
    from executions.selectors import execution_progress

    event: ExecutionStatusEvent = {
        "type": "execution.status",
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "status": execution.status,
        "progress": execution_progress(execution.pk),
        "error": execution.error or None,
        "seq": _next_seq(execution.pk),
    }
    _send_on_commit(execution, dict(event))


def _send_on_commit(execution: Execution, event: dict[str, Any]) -> None:
    groups = [execution_group(execution.pk)]
    if execution.workflow_id:
        groups.append(workflow_group(execution.workflow_id))
    transaction.on_commit(lambda: send(groups, event))


def send(groups: list[str], event: dict[str, Any]) -> None:
    """Fan one event out to its groups. Losing an event is survivable (clients re-sync)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "status.event", "event": event}
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - Redis down must not fail the run; the DB has the state
        log.warning("could not publish %s for %s", event["type"], event["executionId"],
                    exc_info=True)
