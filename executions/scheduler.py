"""The scheduler's state changes: settle and cancel a run; claim, complete, fail, skip and
re-queue its node runs. Database writes and emitted events only (a run is created by
executions.planner).

Every change happens in a transaction that writes the database first; events go out on
commit. A node becomes ready when the atomic countdown of its waiting inputs reaches zero, and
only the one transaction that moves it PENDING → QUEUED returns it as ready: the caller
(executions.services or executions.worker) hands it to executions.dispatch after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import networkx as nx
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import credits_release
from executions import branches, events, fanout, outputs, rows
from executions.models import (
    Execution,
    ExecutionStatus,
    NodeRun,
    NodeStatus,
)
from executions.pricing import node_credits
from executions.selectors import execution_progress
from graph.catalog import NO_USAGE, Usage, catalog


def new_lease() -> str:
    return uuid.uuid4().hex


class Ready(NamedTuple):
    """A node run made ready: its id, the lease its task must present, its provider alias and
    the id of its run."""

    node_run_id: str
    lease: str
    provider: str = ""
    run_id: str = ""
    row: NodeRun | None = None  # the node run as it was made ready, when at hand (not sent)


def ready_of(node_run: NodeRun) -> Ready:
    return Ready(str(node_run.pk), node_run.lease, node_run.provider,
                 str(node_run.execution_id), node_run)


def _release_reservation(execution: Execution) -> None:
    """At the end of a run: whatever was held and not charged goes back to the team."""
    unspent = execution.credits_reserved - execution.credits_charged
    if unspent > 0:
        credits_release(team=execution.team, amount=unspent,
                        reference=f"execution:{execution.pk}")


# --- node runs -------------------------------------------------------------------------------

def _seqs(execution_id: Any, count: int, **totals: Any) -> events.Seqs:
    """`count` event numbers of the run (and its row lock), with `totals` riding along."""
    taken = rows.seq_take(execution_id, count, **totals)
    return events.Seqs.ending(taken.last, taken.team_id, count)


def node_run_claim(node_run: NodeRun, *, holds_slot: bool = False, owner: str = "") -> bool:
    """QUEUED → RUNNING for the task holding the current lease; False for anyone else.
    `owner` names the worker process that runs it (see executions.worker.owner).

    `node_run` is the row the task read (with its execution); the claim itself is one
    conditional UPDATE, so a stale read can only lose, never claim twice."""
    now = timezone.now()
    execution = node_run.execution
    with transaction.atomic():
        claimed = rows.seq_take_for_claim(execution.pk, now)
        count = 2 if claimed.started else 1
        seqs = events.Seqs.ending(claimed.numbers.last, claimed.numbers.team_id, count)
        if not rows.node_run_update(node_run, NodeStatus.QUEUED, status=NodeStatus.RUNNING,
                                    started_at=now, heartbeat_at=now, holds_slot=holds_slot,
                                    owner=owner, due_at=None):
            transaction.set_rollback(True)  # no number used, the run not started: undone
            return False
        node_run.status, node_run.started_at, node_run.heartbeat_at = NodeStatus.RUNNING, now, now
        node_run.holds_slot, node_run.owner, node_run.due_at = holds_slot, owner, None
        events.emit_node(node_run, seqs=seqs.part(0, 1))
        if claimed.started:
            execution.status, execution.started_at = ExecutionStatus.RUNNING, now
            events.emit_execution(execution, progress=execution_progress(execution.pk),
                                  seqs=seqs.part(1, 1))
    return True


def node_run_save_remote(node_run: NodeRun, *, handle: dict[str, Any], progress: float | None,
                         poll_in: float, attempts: int | None = None,
                         cache_key: str | None = None) -> bool:
    """Record the vendor's job handle the moment we have it, so nothing submits it again (and,
    after a submit, the attempt count and cache key), and when its next poll is due (`poll_in`
    seconds). A poll that changes no visible progress is a single UPDATE; one that does also
    numbers and sends its event."""
    now = timezone.now()
    fields: dict[str, Any] = {"remote": handle, "heartbeat_at": now,
                              "due_at": now + timezone.timedelta(seconds=poll_in),
                              "submitting_since": None}
    if progress is not None:
        fields["progress"] = max(0.0, min(1.0, progress))
    if attempts is not None:
        fields["attempts"] = attempts
    if cache_key is not None:
        fields["cache_key"] = cache_key
    if progress is None or abs(progress - node_run.progress) < 0.05:
        updated = rows.node_run_update(node_run, NodeStatus.RUNNING, **fields)
    else:
        with transaction.atomic():
            seqs = _seqs(node_run.execution_id, 1)  # the run's lock; the event's number
            updated = rows.node_run_update(node_run, NodeStatus.RUNNING, **fields)
            if updated:
                node_run.progress = fields["progress"]
                events.emit_node(node_run, seqs=seqs)
            else:
                transaction.set_rollback(True)
    node_run.remote = handle
    return bool(updated)


def node_run_complete(
    node_run: NodeRun, *, made: outputs.NodeOutputs, output_api: dict[str, Any],
    cached_from: NodeRun | None = None, simulated: bool = False, cache_key: str = "",
    usage: Usage = NO_USAGE,
) -> list[Ready] | None:
    """RUNNING → COMPLETED (or CACHED), then count down the successors. Returns the node runs
    made ready (to enqueue after commit), or None when this task had lost the node run. The
    charge is the node's price for what the provider reports it delivered (`usage`), never
    more than its quote reserved (`credits_quoted`): a vendor that delivers more than was
    asked (a larger image, more of them) costs the team no more than it was told."""
    spec = catalog.get(node_run.node_type)
    charged = 0 if cached_from is not None or spec is None else node_credits(
        spec, node_run.config, usage)
    if node_run.credits_quoted is not None:
        charged = min(charged, node_run.credits_quoted)
    status = NodeStatus.CACHED if cached_from is not None else NodeStatus.COMPLETED
    now = timezone.now()
    with transaction.atomic():
        # The run's lock, this event's number and the run's totals, in one statement (a lost
        # claim below rolls it all back).
        seqs = _seqs(node_run.execution_id, 1, charge=charged, simulated=simulated)
        if not rows.node_run_update(
            node_run, NodeStatus.RUNNING,
            status=status, outputs=made, progress=1.0, finished_at=now, heartbeat_at=now,
            credits=charged, cached_from=cached_from, simulated=simulated, remote=None,
            holds_slot=False, cache_key=cache_key,
        ):
            transaction.set_rollback(True)
            return None
        node_run.status, node_run.progress, node_run.credits = status, 1.0, charged
        node_run.outputs, node_run.finished_at = made, now
        successors = _successors(node_run)
        made_runs, ready, per_item = [], [], []
        found = fanout.regions(node_run.execution)
        if node_run.node_id in found:  # a List: its branches, now that its items are known
            made_runs, ready = branches.expand(node_run, fanout.list_items(made), now)
            successors = [s for s in successors if s not in found[node_run.node_id]["nodes"]]
        elif node_run.item_index is not None and (
                source := fanout.source_of(found, node_run.node_id)) is not None:
            per_item = [s for s in successors if s in found[source]["nodes"]]
            successors = [s for s in successors if s not in per_item]
        if per_item:  # the same item's nodes downstream
            ready += rows.successors_count_down(node_run.execution_id, per_item,
                                                lease=new_lease(), now=now,
                                                item_index=node_run.item_index)
        if successors:
            ready += rows.successors_count_down(node_run.execution_id, successors,
                                                lease=new_lease(), now=now)
        changes = [(node_run, output_api)] + [(run, None) for run in made_runs] + [
            (run, None) for run in ready if run not in made_runs]
        if len(changes) > 1:
            seqs = seqs.then(_seqs(node_run.execution_id, len(changes) - 1))
        events.emit_nodes(node_run.execution, changes, seqs)
        if not ready:
            execution_settle(node_run.execution_id)
    return [ready_of(run) for run in ready]


def _successors(node_run: NodeRun) -> list[str]:
    """Targets of this node's edges in the run's graph snapshot (a target that is not part of
    the run, e.g. outside a targetNodeId's ancestry, simply matches no row)."""
    edges = node_run.execution.edges
    return sorted({e["target"] for e in edges if e.get("source") == node_run.node_id})


def node_run_fail(node_run: NodeRun, *, error: str, kind: str = "failed") -> list[Ready] | None:
    """RUNNING → FAILED with the reason; every node downstream of it is SKIPPED (for one item
    of a fan-out, that item's; its Collect may then be ready). Returns the node runs made ready
    (to enqueue after commit), or None when this task had lost the node run."""
    now = timezone.now()
    with transaction.atomic():
        rows.run_lock(node_run.execution_id)
        updated = NodeRun.objects.filter(
            pk=node_run.pk, lease=node_run.lease, status=NodeStatus.RUNNING
        ).update(status=NodeStatus.FAILED, error=error[:4000], error_kind=kind, finished_at=now,
                 heartbeat_at=now, remote=None, holds_slot=False)
        if not updated:
            return None
        node_run.status, node_run.error, node_run.finished_at = NodeStatus.FAILED, error, now
        events.emit_node(node_run, seqs=_seqs(node_run.execution_id, 1))
        Execution.objects.filter(pk=node_run.execution_id, error="").update(
            error=f"{node_run.label or node_run.node_id}: {error}"[:4000],
            error_node_id=node_run.node_id,
        )
        if node_run.item_index is not None:  # one item of a fan-out: only its branch
            skipped, ready = branches.fail_branch(node_run)
            changes = skipped + ready
            if changes:
                branches.emit(node_run.execution, changes,
                              _seqs(node_run.execution_id, len(changes)))
        else:
            _skip_descendants(node_run)
            ready = []
        if not ready:
            execution_settle(node_run.execution_id)
    return [ready_of(run) for run in ready]


def _skip_descendants(node_run: NodeRun) -> None:
    found = list(NodeRun.objects.filter(execution_id=node_run.execution_id).values_list(
        "node_id", "upstream"
    ))
    graph = nx.DiGraph()
    for node_id, upstream in found:
        graph.add_node(node_id)
        graph.add_edges_from((source, node_id) for source in upstream)
    below = nx.descendants(graph, node_run.node_id)
    skipped = NodeRun.objects.select_related("execution").filter(
        execution_id=node_run.execution_id, node_id__in=below,
        status__in=(NodeStatus.PENDING, NodeStatus.QUEUED),
    )
    for run in skipped:
        if NodeRun.objects.filter(pk=run.pk, status=run.status).update(
            status=NodeStatus.SKIPPED, finished_at=timezone.now(),
            error=f"Skipped: upstream node {node_run.node_id} failed",
        ):
            run.status = NodeStatus.SKIPPED
            run.error = f"Skipped: upstream node {node_run.node_id} failed"
            events.emit_node(run, seqs=_seqs(run.execution_id, 1))


def node_run_mark_submitting(node_run: NodeRun) -> bool:
    """The intent to submit, committed before the request leaves: if this worker dies before
    the vendor's answer is saved, whoever picks the node up knows a vendor job may exist.
    (Saved with it: the attempt count.) False if the node run is no longer this task's."""
    now = timezone.now()
    node_run.submitting_since = now
    return bool(NodeRun.objects.filter(
        pk=node_run.pk, lease=node_run.lease, status=NodeStatus.RUNNING
    ).update(submitting_since=now, attempts=node_run.attempts, heartbeat_at=now))


def node_run_requeue(node_run: NodeRun, *, due_in: float) -> bool:
    """Put a running node back in line (backing off for `due_in` seconds) under its lease; its
    last submit provably made no vendor job. The caller schedules its task if this says it
    moved."""
    now = timezone.now()
    node_run.submitting_since = None
    return bool(NodeRun.objects.filter(
        pk=node_run.pk, lease=node_run.lease, status=NodeStatus.RUNNING
    ).update(status=NodeStatus.QUEUED, queued_at=now, attempts=node_run.attempts,
             due_at=now + timezone.timedelta(seconds=due_in), submitting_since=None))


def node_run_count_attempt(node_run: NodeRun, *, poll_in: float) -> None:
    """A poll that failed transiently counts as an attempt (polls retry under the same lease,
    the next one due in `poll_in` seconds)."""
    node_run.attempts += 1
    NodeRun.objects.filter(pk=node_run.pk).update(
        attempts=node_run.attempts,
        due_at=timezone.now() + timezone.timedelta(seconds=poll_in))


def node_run_save_cache_key(node_run: NodeRun, key: str) -> None:
    NodeRun.objects.filter(pk=node_run.pk).update(cache_key=key)


# A node waiting in a provider's line has no task: the dispatcher sends it round this often
# anyway, which only confirms its place in line (or puts it back after Redis lost the line).
WAITING_RECHECK = 120.0


def node_run_wait_for_slot(node_run_id: str, lease: str) -> None:
    """A ready node over its provider's limit stays QUEUED, in the provider's line, with no
    task: a freed slot is handed to it and wakes it (executions.slots)."""
    NodeRun.objects.filter(pk=node_run_id, lease=lease, status=NodeStatus.QUEUED).update(
        due_at=timezone.now() + timezone.timedelta(seconds=WAITING_RECHECK)
    )


def node_run_drop_slot(node_run: NodeRun) -> None:
    """The node run no longer holds its provider slot (the caller frees it in Redis)."""
    NodeRun.objects.filter(pk=node_run.pk, holds_slot=True).update(holds_slot=False)


def node_run_heartbeat(node_run: NodeRun) -> bool:
    """Freshen the heartbeat of a node run this process works on; False once it is no longer
    running under this lease (cancelled, or taken over), so the work can stop."""
    return NodeRun.objects.filter(
        pk=node_run.pk, lease=node_run.lease, status=NodeStatus.RUNNING,
    ).update(heartbeat_at=timezone.now()) == 1


def node_run_is_running(node_run_id: str) -> bool:
    return NodeRun.objects.filter(pk=node_run_id, status=NodeStatus.RUNNING).exists()


class Resend(NamedTuple):
    """A node run the dispatcher sends round again: which task, under which lease, and its
    provider (which decides its queue)."""

    task: str  # "run" or "poll"
    node_run_id: str
    lease: str
    provider: str = ""


def _in_live_runs(found: list[tuple]) -> list[tuple]:
    """Those of `found` (rows starting with pk, execution id) whose run is not over."""
    runs = {row[1] for row in found}
    live = set(Execution.objects.filter(
        pk__in=runs, status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
    ).values_list("pk", flat=True)) if runs else set()
    return [row for row in found if row[1] in live]


def _relet(pk: Any, lease: str, remote: Any, provider: str) -> Resend | None:
    """A running node run whose worker is gone, under a new lease: a remote job whose handle
    was saved is polled again; anything else is run again (a submit that may have reached the
    vendor is then failed, not repeated: see executions.worker)."""
    fresh, now = new_lease(), timezone.now()
    if remote:
        moved = NodeRun.objects.filter(pk=pk, lease=lease, status=NodeStatus.RUNNING).update(
            lease=fresh, heartbeat_at=now, due_at=now, owner="")
        return Resend("poll", str(pk), fresh, provider) if moved else None
    moved = NodeRun.objects.filter(pk=pk, lease=lease, status=NodeStatus.RUNNING).update(
        lease=fresh, status=NodeStatus.QUEUED, queued_at=now, due_at=now, owner="")
    return Resend("run", str(pk), fresh, provider) if moved else None


def node_runs_reap_stale(*, lost_after: float) -> list[Resend]:
    """Running node runs whose worker went quiet: no heartbeat for `lost_after` seconds (a busy
    worker beats every few seconds) and, for a remote job, its poll that late too. Each is
    re-leased (see `_relet`); the caller sends its task after commit."""
    cutoff = timezone.now() - timezone.timedelta(seconds=lost_after)
    found = list(NodeRun.objects.filter(
        Q(due_at__isnull=True) | Q(due_at__lt=cutoff),
        status=NodeStatus.RUNNING, heartbeat_at__lt=cutoff,
    ).values_list("pk", "execution_id", "lease", "remote", "provider"))
    return [resent for pk, _, lease, remote, provider in _in_live_runs(found)
            if (resent := _relet(pk, lease, remote, provider)) is not None]


def node_runs_reclaim(*, hostname: str, owner: str) -> list[Resend]:
    """A worker that starts again under `hostname` takes back, at once, what its previous
    life (any owner of that hostname but `owner`, itself) left running: that process is gone."""
    found = list(NodeRun.objects.filter(
        status=NodeStatus.RUNNING, owner__startswith=f"{hostname}/",
    ).exclude(owner=owner).values_list("pk", "execution_id", "lease", "remote", "provider"))
    return [resent for pk, _, lease, remote, provider in _in_live_runs(found)
            if (resent := _relet(pk, lease, remote, provider)) is not None]


def node_runs_overdue(*, lost_after: float, of: Callable[[str], bool] = lambda _: True,
                      limit: int = 500) -> list[Resend]:
    """Queued node runs (of the providers `of` accepts) whose task is `lost_after` seconds
    late: never sent (the broker was down, or the worker keeping it for itself died) or lost
    with the broker's memory. Each is sent again under its own lease, so a copy that was only
    slow finds the claim taken, and its due time moves on so it is sent at most once per
    `lost_after`."""
    now = timezone.now()
    cutoff = now - timezone.timedelta(seconds=lost_after)
    found = list(NodeRun.objects.filter(
        Q(due_at__lt=cutoff) | Q(due_at__isnull=True, queued_at__lt=cutoff),
        status=NodeStatus.QUEUED,
    ).order_by("queued_at").values_list("pk", "execution_id", "lease", "provider")[:limit])
    found = [row for row in _in_live_runs(found) if of(row[3])]
    if not found:
        return []
    NodeRun.objects.filter(pk__in=[row[0] for row in found], status=NodeStatus.QUEUED).update(
        due_at=now)
    return [Resend("run", str(pk), lease, provider) for pk, _, lease, provider in found]


# --- a run's end -----------------------------------------------------------------------------

def execution_settle(execution_id: Any) -> None:
    """Settle the run once no node is left to run: COMPLETED, or FAILED if any node failed
    (a no-op while nodes are left, or once it is settled)."""
    execution = rows.execution_settle_update(execution_id, timezone.now())
    if execution is not None:
        _release_reservation(execution)
        events.emit_execution(execution, progress=1.0, seqs=events.Seqs.ending(
            execution.seq, execution.team_id, 1))


class RemoteJob(NamedTuple):
    """A cancelled node run's vendor job to stop, and the provider slot it may hold."""

    provider: str
    handle: dict[str, Any] | None
    holder: str


def execution_mark_cancelled(*, execution: Execution) -> tuple[Execution, list[RemoteJob]]:
    """Stop a run: queued and running nodes are CANCELLED. Returns the run and the remote jobs
    (and slots) the caller must stop after commit."""
    now = timezone.now()
    jobs: list[RemoteJob] = []
    with transaction.atomic():
        rows.run_lock(execution.pk)
        if not Execution.objects.filter(
            pk=execution.pk, status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        ).update(status=ExecutionStatus.CANCELLED, finished_at=now):
            execution.refresh_from_db()
            return execution, jobs
        execution.refresh_from_db()
        _release_reservation(execution)
        active = list(NodeRun.objects.select_related("execution").filter(
            execution=execution, status__in=rows.ACTIVE
        ))
        for run in active:
            if not NodeRun.objects.filter(pk=run.pk, status=run.status).update(
                status=NodeStatus.CANCELLED, finished_at=now, lease=new_lease(), remote=None,
                holds_slot=False,
            ):
                continue
            if run.provider:  # running, holding a slot, handed one, or in line
                jobs.append(RemoteJob(run.provider, run.remote, str(run.pk)))
            run.status = NodeStatus.CANCELLED
            events.emit_node(run, seqs=_seqs(execution.pk, 1))
        events.emit_execution(execution, progress=execution_progress(execution.pk),
                              seqs=_seqs(execution.pk, 1))
    return execution, jobs
