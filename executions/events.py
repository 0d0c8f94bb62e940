"""Status events: numbered in the database, then sent on the channel layer after commit.

The scheduler reports through `emit_node` / `emit_execution` only; Channels (and later webhooks)
subscribe by group. A client that sees a gap in `seq` re-syncs from the poll endpoint.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from typing import Any, TypedDict

from channels.layers import get_channel_layer
from django.db import connection, transaction

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
    """Bump and read the run's sequence number in one statement, inside the caller's
    transaction (UPDATE … RETURNING: PostgreSQL and SQLite ≥ 3.35 both have it)."""
    table = Execution._meta.db_table
    pk = Execution._meta.pk.get_db_prep_value(execution_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET seq = seq + 1 WHERE id = %s RETURNING seq", [pk])
        return cursor.fetchone()[0]


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


class _Sender:
    """One event loop per process, in a daemon thread, that sends events in order. A worker
    hands an event over and goes on: publishing never sits on the run's critical path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pid = 0

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # a forked child needs its own
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                threading.Thread(target=self.loop.run_forever, daemon=True,
                                 name="status-events").start()
            return self.loop

    def submit(self, groups: list[str], event: dict[str, Any]) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(_publish(groups, event), self._ensure_loop())


_sender = _Sender()


async def _publish(groups: list[str], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "status.event", "event": event}
    try:
        for group in groups:
            await layer.group_send(group, message)
    except Exception:  # noqa: BLE001 - Redis down must not fail the run; the DB has the state
        log.warning("could not publish %s for %s", event["type"], event["executionId"],
                    exc_info=True)


def send(groups: list[str], event: dict[str, Any]) -> concurrent.futures.Future:
    """Fan one event out to its groups, in the background. Losing an event is survivable:
    clients see the gap in `seq` and re-sync."""
    return _sender.submit(groups, event)


def flush(timeout: float = 5.0) -> None:
    """Wait until every event handed over so far has been sent (tests, shutdown)."""
    send([], {"type": "flush", "executionId": ""}).result(timeout)
