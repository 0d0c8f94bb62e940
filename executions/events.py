"""Status events: typed payloads, numbered by the scheduler, sent after commit to subscribers.

The scheduler reports every state change through `emit_nodes` / `emit_node` / `emit_execution`
and knows nothing of transport. Three kinds of subscriber (wired in `ExecutionsConfig.ready`):

- `on_heads`: told each run's newest (team, seq) before its events go out (the poll cache);
- `on_events`: handed the events by group, in order (the Channels layer, for the editor);
- `on_finished`: told inside the transaction that ends a run (completion webhooks), so what it
  writes commits, or rolls back, with the run's end.

A client that sees a gap in `seq` re-syncs from the poll endpoint.

Saves of a workflow go the same way to its group (`emit_workflow_saved`, a `workflow.saved`
event without `seq`: the editor compares `updatedAt` with the one it holds).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NamedTuple, TypedDict

from django.db import transaction

from executions.models import EXECUTION_DONE, Execution, NodeRun
from graph.models import Workflow, WorkflowVersion
from graph.services import format_timestamp

log = logging.getLogger(__name__)


class NodeStatusEvent(TypedDict):
    type: Literal["node.status"]
    executionId: str
    workflowId: str | None
    nodeId: str
    status: str
    progress: float
    output: dict[str, Any] | None
    error: str | None
    credits: int
    seed: int | None  # the seed a generate node used (drawn, when its setting is random)
    itemIndex: int | None  # a fanned node run: its item of the list (executions.fanout)
    itemCount: int | None  # and the list's size
    seq: int


class ExecutionStatusEvent(TypedDict):
    type: Literal["execution.status"]
    executionId: str
    workflowId: str | None
    status: str
    progress: float
    error: str | None
    seq: int


class WorkflowSavedEvent(TypedDict):
    """A new version of the workflow was saved (editor, API, restore, merge): the editors that
    have it open fetch it, or offer to merge it. No graph: the group may hold viewers, and a
    graph can be large; the REST read is the one place it is served from."""
    type: Literal["workflow.saved"]
    workflowId: str
    version: int
    updatedAt: str
    author: str  # who saved it: full name or username, "key <name>", or "operator"


Event = NodeStatusEvent | ExecutionStatusEvent | WorkflowSavedEvent
Heads = dict[Any, tuple[int, int]]  # execution id -> (team id, last seq)
ByGroup = dict[str, list[Event]]

_heads_listeners: dict[str, Callable[[Heads], None]] = {}
_event_listeners: dict[str, Callable[[ByGroup], Awaitable[None]]] = {}
_finished_listeners: dict[str, Callable[[Execution], Any]] = {}


def _name(listener: Callable) -> str:
    return f"{listener.__module__}.{listener.__qualname__}"


def on_heads(listener: Callable[[Heads], None]) -> None:
    """Call `listener(heads)` in the sender's thread before each burst of events goes out."""
    _heads_listeners[_name(listener)] = listener


def on_events(listener: Callable[[ByGroup], Awaitable[None]]) -> None:
    """Await `listener(events_by_group)` in the sender's event loop for each burst."""
    _event_listeners[_name(listener)] = listener


def on_finished(listener: Callable[[Execution], Any]) -> None:
    """Call `listener(execution)` inside the transaction that settles or cancels a run."""
    _finished_listeners[_name(listener)] = listener


def execution_group(execution_id: Any) -> str:
    return f"execution.{execution_id}"


def workflow_group(workflow_id: Any) -> str:
    return f"workflow.{workflow_id}"


class Seqs(NamedTuple):
    numbers: range
    head: tuple[int, int]  # (team id, last seq) for the poll cache's head

    @classmethod
    def ending(cls, last: int, team_id: int, count: int) -> Seqs:
        """The `count` numbers up to `last` that a statement took for a run of `team_id`."""
        return cls(range(last - count + 1, last + 1), (team_id, last))

    def part(self, start: int, count: int) -> Seqs:
        """`count` of these numbers from the `start`-th on (for events sent separately)."""
        return Seqs(self.numbers[start:start + count], self.head)

    def then(self, more: Seqs) -> Seqs:
        """This reservation followed by a later one of the same transaction."""
        assert more.numbers.start == self.numbers.stop
        return Seqs(range(self.numbers.start, more.numbers.stop), more.head)


def numbered(team_id: int, count: int) -> Seqs:
    """Numbers 1..count of a run being created (it is inserted with seq = count)."""
    return Seqs(range(1, count + 1), (team_id, count))


def node_status_event(execution: Execution, node_run: NodeRun, output: dict[str, Any] | None,
                      seq: int) -> NodeStatusEvent:
    return {
        "type": "node.status",
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "nodeId": node_run.node_id,
        "status": str(node_run.status),
        "progress": round(node_run.progress, 3),
        "output": output,
        "error": node_run.error or None,
        "credits": node_run.credits,
        "seed": node_run.seed,
        "itemIndex": node_run.item_index,
        "itemCount": node_run.item_count,
        "seq": seq,
    }


def execution_status_event(execution: Execution, progress: float,
                           seq: int) -> ExecutionStatusEvent:
    return {
        "type": "execution.status",
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "status": str(execution.status),
        "progress": progress,
        "error": execution.error or None,
        "seq": seq,
    }


def emit_nodes(execution: Execution, changes: list[tuple[NodeRun, dict[str, Any] | None]],
               seqs: Seqs) -> None:
    """Send the node changes of one transaction, numbered by `seqs`, in order, once it
    commits. `changes` pairs each node run with its output (or None)."""
    if not changes:
        return
    assert len(seqs.numbers) == len(changes)
    batch: list[Event] = [node_status_event(execution, node_run, output, seq)
                          for seq, (node_run, output) in zip(seqs.numbers, changes)]
    _send_on_commit(execution, batch, seqs.head)


def emit_node(node_run: NodeRun, *, seqs: Seqs, output: dict[str, Any] | None = None) -> None:
    emit_nodes(node_run.execution, [(node_run, output)], seqs)


def emit_execution(execution: Execution, *, progress: float, seqs: Seqs,
                   nodes: list[tuple[NodeRun, dict[str, Any] | None]] = ()) -> None:
    """The run's own status, and then (numbered after it by `seqs`) the changes of `nodes`, as
    `emit_nodes` sends them, in one hand-over. A run that ended here is also reported to
    `on_finished`."""
    assert len(seqs.numbers) == 1 + len(nodes)
    _send_on_commit(execution, [execution_status_event(execution, progress, seqs.numbers[0])]
                    + [node_status_event(execution, node_run, output, seq)
                       for seq, (node_run, output) in zip(seqs.numbers[1:], nodes)],
                    seqs.head)
    if execution.status in EXECUTION_DONE:
        for listener in list(_finished_listeners.values()):
            listener(execution)


def workflow_saved_event(workflow: Workflow, version: WorkflowVersion) -> WorkflowSavedEvent:
    if version.created_by is not None:
        user = version.created_by
        author = user.get_full_name().strip() or user.get_username()
    elif version.api_key is not None:
        author = f"key {version.api_key.name}"
    else:
        author = "operator"
    return {"type": "workflow.saved", "workflowId": str(workflow.pk), "version": version.number,
            "updatedAt": format_timestamp(workflow.updated_at), "author": author}


def emit_workflow_saved(workflow: Workflow, version: WorkflowVersion) -> None:
    """Subscribed to every version written (graph.versions.on_version_written): tell the
    workflow's group once the save commits (nothing if it rolls back)."""
    event = workflow_saved_event(workflow, version)
    transaction.on_commit(lambda: send_many([workflow_group(workflow.pk)], [event]))


def _send_on_commit(execution: Execution, batch: list[Event], head: tuple[int, int]) -> None:
    groups = [execution_group(execution.pk)]
    if execution.workflow_id:
        groups.append(workflow_group(execution.workflow_id))
    heads = {execution.pk: head}
    transaction.on_commit(lambda: send_many(groups, batch, heads))


class _Sender:
    """One event loop per process, in a daemon thread, that sends events in order. A worker
    hands events over and goes on: publishing never sits on the run's critical path.

    Whatever piled up while the last send was on the wire goes out together: one burst per
    group carrying a list of events in order, so a busy worker makes a few Redis round trips
    per burst instead of two per event and group."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: list[tuple[tuple[str, ...], list[Event], Heads,
                                 concurrent.futures.Future]] = []
        self.wakeup: asyncio.Event | None = None
        self.woken = False  # the loop was told of pending events it has not taken yet
        self.pid = 0

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # a forked child needs its own
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                self.pending = []
                self.woken = False
                self.wakeup = asyncio.Event()
                self.loop.create_task(self._drain_forever())
                threading.Thread(target=self.loop.run_forever, daemon=True,
                                 name="status-events").start()
            return self.loop

    def submit(self, groups: list[str], batch: list[Event],
               heads: Heads) -> concurrent.futures.Future:
        loop = self._ensure_loop()
        done: concurrent.futures.Future = concurrent.futures.Future()
        # The loop is woken (a write to its self-pipe, and a thread switch) only if it has not
        # been since it last took what was pending: a burst of hand-overs wakes it once.
        with self.lock:
            self.pending.append((tuple(groups), batch, heads, done))
            wake, self.woken = not self.woken, True
        if wake:
            loop.call_soon_threadsafe(self.wakeup.set)
        return done

    async def _drain_forever(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            with self.lock:
                taken, self.pending, self.woken = self.pending, [], False
            by_group: ByGroup = {}
            heads: Heads = {}
            for groups, batch, more_heads, _ in taken:
                for group in groups:
                    by_group.setdefault(group, []).extend(batch)
                for execution_id, head in more_heads.items():
                    heads[execution_id] = max(head, heads.get(execution_id, head))
            _tell_heads(heads)
            await _tell_events({group: batch for group, batch in by_group.items() if batch})
            for _, _, _, done in taken:
                done.set_result(None)


_sender = _Sender()


def _tell_heads(heads: Heads) -> None:
    """Before the events go out: a client that saw event N must never poll back older."""
    if not heads:
        return
    for listener in list(_heads_listeners.values()):
        try:
            listener(heads)
        except Exception:  # noqa: BLE001 - the poll falls back to the database within a minute
            log.warning("could not advance %d poll heads", len(heads), exc_info=True)


async def _tell_events(by_group: ByGroup) -> None:
    if not by_group:
        return
    for listener in list(_event_listeners.values()):
        try:
            await listener(by_group)
        except Exception:  # noqa: BLE001 - Redis down must not fail the run; the DB has it
            log.warning("could not publish events to %d groups", len(by_group), exc_info=True)


def send_many(groups: list[str], batch: list[Event],
              heads: Heads | None = None) -> concurrent.futures.Future:
    """Fan events out to their groups, in order, in the background, after moving the poll
    cache's heads of their runs. Losing an event is survivable: clients see the gap in `seq`
    and re-sync."""
    return _sender.submit(groups, batch, heads or {})


def flush(timeout: float = 5.0) -> None:
    """Wait until every event handed over so far has been sent (tests, shutdown)."""
    send_many([], []).result(timeout)
