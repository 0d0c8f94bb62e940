"""Status events: numbered in the database, then sent on the channel layer after commit.

The scheduler reports through `emit_nodes` / `emit_node` / `emit_execution` only; Channels
(and later webhooks) subscribe by group. A client that sees a gap in `seq` re-syncs from the
poll endpoint.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from typing import Any, NamedTuple, TypedDict

from channels.layers import get_channel_layer
from django.db import connection, transaction

from executions import pollcache
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


Heads = dict[Any, tuple[int, int]]  # execution id -> (team id, last seq)


def execution_group(execution_id: Any) -> str:
    return f"execution.{execution_id}"


def workflow_group(workflow_id: Any) -> str:
    return f"workflow.{workflow_id}"


class Seqs(NamedTuple):
    numbers: range
    head: tuple[int, int]  # (team id, last seq) for the poll cache's head

    def part(self, start: int, count: int) -> "Seqs":
        """`count` of these numbers from the `start`-th on (for events sent separately)."""
        return Seqs(self.numbers[start:start + count], self.head)

    def then(self, more: "Seqs") -> "Seqs":
        """This reservation followed by a later one of the same transaction."""
        assert more.numbers.start == self.numbers.stop
        return Seqs(range(self.numbers.start, more.numbers.stop), more.head)


def numbered(team_id: int, count: int) -> Seqs:
    """Numbers 1..count of a run being created (it is inserted with seq = count)."""
    return Seqs(range(1, count + 1), (team_id, count))


def reserve(execution_id: Any, count: int, *, charge: int = 0,
            simulated: bool = False) -> Seqs:
    """Reserve `count` sequence numbers of the run in one statement, inside the caller's
    transaction (UPDATE … RETURNING: PostgreSQL and SQLite ≥ 3.35 both have it). Being an
    UPDATE of the run's row it also takes the run's row lock, so a transaction that starts
    with it needs no separate lock statement (executions.services). A completed node's charge
    and simulated mark, totals on the same row, ride along."""
    table = Execution._meta.db_table
    assignments, params = ["seq = seq + %s"], [count]
    if charge:
        assignments.append("credits_charged = credits_charged + %s")
        params.append(charge)
    if simulated:
        assignments.append("simulated = %s")
        params.append(True)
    params.append(Execution._meta.pk.get_db_prep_value(execution_id, connection))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(assignments)} WHERE id = %s "
                       f"RETURNING seq, team_id", params)
        last, team_id = cursor.fetchone()
    return Seqs(range(last - count + 1, last + 1), (team_id, last))


def emit_nodes(execution: Execution,
               changes: list[tuple[NodeRun, dict[str, Any] | None]],
               seqs: Seqs | None = None) -> None:
    """Number the node changes of one transaction together (one statement, unless the caller
    reserved their numbers already) and send them, in order, once it commits. `changes` pairs
    each node run with its output (or None)."""
    if not changes:
        return
    workflow_id = str(execution.workflow_id) if execution.workflow_id else None
    batch: list[dict[str, Any]] = []
    if seqs is None:
        seqs = reserve(execution.pk, len(changes))
    assert len(seqs.numbers) == len(changes)
    for seq, (node_run, output) in zip(seqs.numbers, changes):
        event: NodeStatusEvent = {
            "type": "node.status",
            "executionId": str(execution.pk),
            "workflowId": workflow_id,
            "nodeId": node_run.node_id,
            "status": node_run.status,
            "progress": round(node_run.progress, 3),
            "output": output,
            "error": node_run.error or None,
            "credits": node_run.credits,
            "seq": seq,
        }
        batch.append(dict(event))
    _send_on_commit(execution, batch, seqs.head)


def emit_node(node_run: NodeRun, *, output: dict[str, Any] | None = None,
              seqs: Seqs | None = None) -> None:
    emit_nodes(node_run.execution, [(node_run, output)], seqs)


def emit_execution(execution: Execution, *, progress: float | None = None,
                   seqs: Seqs | None = None) -> None:
    """The run's own status; `progress` is counted from its node runs unless given."""
    from executions.selectors import execution_progress

    if seqs is None:
        seqs = reserve(execution.pk, 1)
    event: ExecutionStatusEvent = {
        "type": "execution.status",
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "status": execution.status,
        "progress": execution_progress(execution.pk) if progress is None else progress,
        "error": execution.error or None,
        "seq": seqs.numbers[0],
    }
    _send_on_commit(execution, [dict(event)], seqs.head)


def _send_on_commit(execution: Execution, batch: list[dict[str, Any]],
                    head: tuple[int, int]) -> None:
    groups = [execution_group(execution.pk)]
    if execution.workflow_id:
        groups.append(workflow_group(execution.workflow_id))
    heads = {execution.pk: head}
    transaction.on_commit(lambda: send_many(groups, batch, heads))


class _Sender:
    """One event loop per process, in a daemon thread, that sends events in order. A worker
    hands events over and goes on: publishing never sits on the run's critical path.

    Whatever piled up while the last send was on the wire goes out together: one channel-layer
    message per group carrying a list of events in order, so a busy worker makes a few Redis
    round trips per burst instead of two per event and group."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: list[tuple[tuple[str, ...], list[dict[str, Any]], Heads,
                                 concurrent.futures.Future]] = []
        self.wakeup: asyncio.Event | None = None
        self.pid = 0

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # a forked child needs its own
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                self.pending = []
                self.wakeup = asyncio.Event()
                self.loop.create_task(self._drain_forever())
                threading.Thread(target=self.loop.run_forever, daemon=True,
                                 name="status-events").start()
            return self.loop

    def submit(self, groups: list[str], batch: list[dict[str, Any]],
               heads: Heads) -> concurrent.futures.Future:
        loop = self._ensure_loop()
        done: concurrent.futures.Future = concurrent.futures.Future()

        def enqueue() -> None:
            self.pending.append((tuple(groups), batch, heads, done))
            self.wakeup.set()

        loop.call_soon_threadsafe(enqueue)
        return done

    async def _drain_forever(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            taken, self.pending = self.pending, []
            by_group: dict[str, list[dict[str, Any]]] = {}
            heads: Heads = {}
            for groups, batch, more_heads, _ in taken:
                for group in groups:
                    by_group.setdefault(group, []).extend(batch)
                for execution_id, head in more_heads.items():
                    heads[execution_id] = max(head, heads.get(execution_id, head))
            _advance_heads(heads)
            await _publish(by_group)
            for _, _, _, done in taken:
                done.set_result(None)


_sender = _Sender()


def _advance_heads(heads: Heads) -> None:
    """Before the events go out: a client that saw event N must never poll back older."""
    try:
        pollcache.advance(heads)
    except Exception:  # noqa: BLE001 - the poll falls back to the database within a minute
        log.warning("could not advance %d poll heads", len(heads), exc_info=True)


async def _publish(by_group: dict[str, list[dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, batch in by_group.items():
        if not batch:
            continue
        try:
            await layer.group_send(group, {"type": "status.events", "events": batch})
        except Exception:  # noqa: BLE001 - Redis down must not fail the run; the DB has it
            log.warning("could not publish %d events to %s", len(batch), group, exc_info=True)


def send_many(groups: list[str], batch: list[dict[str, Any]],
              heads: Heads | None = None) -> concurrent.futures.Future:
    """Fan events out to their groups, in order, in the background, after moving the poll
    cache's heads of their runs. Losing an event is survivable: clients see the gap in `seq`
    and re-sync."""
    return _sender.submit(groups, batch, heads or {})


def flush(timeout: float = 5.0) -> None:
    """Wait until every event handed over so far has been sent (tests, shutdown)."""
    send_many([], []).result(timeout)
