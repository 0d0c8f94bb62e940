"""List fan-out, write side: the branches of a list once its items are known, and what a
failed branch does to its Collect. Part of the scheduler (its transactions, its events).

Until its List completes, a fanned node has one placeholder node run (no item), so a failure
upstream skips it as any node. When the List completes, in the same transaction:

- the items beyond those already paid for are reserved, one item's price at a time as far as
  the balance goes; an item the team cannot pay gets node runs that are FAILED at once with a
  clear error (`insufficient_credits`), never an overdraw;
- each placeholder is replaced by one node run per item (`item_index`), waiting for the same
  item's upstream nodes and for any upstream node outside the fan-out that is not done;
- each Collect node waits for every paid item of each fanned node wired into it.

A branch that fails skips only its own item's downstream nodes; its Collect is counted down for
each of them (and gathers what succeeded). The run still ends FAILED if any item failed, as any
run with a failed node does; the poll says which items.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import networkx as nx
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Team
from accounts.services import credits_reserve
from executions import events, fanout, rows
from executions.models import Execution, NodeRun, NodeStatus
from wireflow_site.errors import ApiError

SEED_MAX = 2**32 - 1
DONE = (NodeStatus.COMPLETED, NodeStatus.CACHED)


def _reserve_items(execution_id: Any, team_id: int, wanted: int, each: int
                   ) -> tuple[int, int | None]:
    """Reserve up to `wanted` items at `each` credits; how many were, and the balance that
    stopped the rest (None if none were refused)."""
    if wanted <= 0 or each <= 0:
        return max(wanted, 0), None
    team = Team(pk=team_id)
    count, available = wanted, None
    for _ in range(5):  # a concurrent spender may move the balance between reading and taking
        if count <= 0:
            return 0, available
        try:
            with transaction.atomic():  # a savepoint: a refusal leaves the caller's intact
                credits_reserve(team=team, amount=count * each,
                                reference=f"execution:{execution_id}")
            return count, available
        except ApiError as error:
            if error.code != "insufficient_credits":
                raise
            available = int(error.extra.get("availableCredits") or 0)
            count = min(count - 1, available // each)
    return 0, available


def expand(list_run: NodeRun, items: list[str], now) -> tuple[list[NodeRun], list[NodeRun]]:
    """The List `list_run` completed with `items`: make its branches (see the module). Returns
    the node runs made (every branch and any Collect that is now ready), and of those the ready
    ones, under their new leases. Call inside the completion's transaction, run lock held."""
    execution = list_run.execution
    found = fanout.regions(execution)
    region = found.get(list_run.node_id)
    if region is None:
        return [], []
    fanned = set(region["nodes"])
    # Those still waiting: one an upstream failure outside the fan-out skipped stays skipped
    # (and so does all below it, its Collect too).
    placeholders = list(NodeRun.objects.filter(
        execution_id=execution.pk, node_id__in=fanned, item_index__isnull=True,
        status=NodeStatus.PENDING,
    ).order_by("position"))
    if not placeholders:
        return [], []
    count, each = len(items), int(region.get("itemCredits") or 0)
    paid_before = int(region.get("paidItems") or 0)
    more, short_of = _reserve_items(execution.pk, execution.team_id, count - paid_before, each)
    paid = min(count, paid_before + more)
    region.update(items=count, paidItems=paid)
    Execution.objects.filter(pk=execution.pk).update(
        fan_out=execution.fan_out, credits_reserved=F("credits_reserved") + more * each,
        credits_estimated=F("credits_estimated") + max(0, count - paid_before) * each)
    execution.credits_reserved += more * each
    done = set(NodeRun.objects.filter(
        execution_id=execution.pk, item_index__isnull=True, status__in=DONE,
    ).values_list("node_id", flat=True)) | {list_run.node_id}
    branches: list[NodeRun] = []
    ready: list[NodeRun] = []
    for index in range(count):
        for holder in placeholders:
            waiting = sum(1 for source in holder.upstream
                          if source != list_run.node_id and (source in fanned
                                                             or source not in done))
            random_seed = holder.seed is not None and not isinstance(
                holder.config.get("seed"), int)
            run = NodeRun(
                execution=execution, node_id=holder.node_id, node_type=holder.node_type,
                label=holder.label, position=holder.position, item_index=index,
                item_count=count, upstream=holder.upstream, config=holder.config,
                seed=secrets.randbelow(SEED_MAX + 1) if random_seed and index else holder.seed,
                seed_reused=holder.seed_reused and not random_seed, provider=holder.provider,
                waiting_inputs=waiting, status=NodeStatus.PENDING,
                credits_quoted=holder.credits_quoted,  # one item's quote, as each is reserved
            )
            if index >= paid:
                run.status, run.finished_at, run.error_kind = (
                    NodeStatus.FAILED, now, "insufficient_credits")
                run.error = (f"Insufficient credits for item {index + 1} of {count}: each item "
                             f"costs {each} credits; {short_of or 0} were available")
            elif not waiting:
                run.status, run.lease, run.queued_at = NodeStatus.QUEUED, uuid.uuid4().hex, now
                ready.append(run)
            branches.append(run)
    NodeRun.objects.filter(pk__in=[p.pk for p in placeholders]).delete()
    NodeRun.objects.bulk_create(branches)
    if paid < count:
        Execution.objects.filter(pk=execution.pk, error="").update(
            error=f"{list_run.label or list_run.node_id}: insufficient credits for "
                  f"{count - paid} of {count} items", error_node_id=list_run.node_id)
    made = list(branches)
    for collect in NodeRun.objects.filter(execution_id=execution.pk,
                                          node_id__in=region["collects"],
                                          item_index__isnull=True, status=NodeStatus.PENDING):
        # One count per paid item of each fanned node wired in, where the placeholder was one.
        delta = sum(paid - 1 for source in collect.upstream if source in fanned)
        collect.waiting_inputs += delta
        if collect.waiting_inputs == 0:
            collect.status, collect.lease, collect.queued_at = (
                NodeStatus.QUEUED, uuid.uuid4().hex, now)
            ready.append(collect)
            made.append(collect)
        NodeRun.objects.filter(pk=collect.pk).update(
            waiting_inputs=collect.waiting_inputs, status=collect.status, lease=collect.lease,
            queued_at=collect.queued_at)
    return made, ready


def fail_branch(failed: NodeRun) -> tuple[list[NodeRun], list[NodeRun]]:
    """A branch node run failed: skip its own item's downstream nodes, and count its Collect
    nodes down for it and each one skipped. Returns the node runs skipped and the Collect node
    runs made ready (under new leases)."""
    execution = failed.execution
    found = fanout.regions(execution)
    source = fanout.source_of(found, failed.node_id)
    if source is None or failed.item_index is None:
        return [], []
    region = found[source]
    graph = nx.DiGraph()
    for edge in execution.edges:
        if edge.get("source") in region["nodes"] and edge.get("target") in region["nodes"]:
            graph.add_edge(edge["source"], edge["target"])
    below = nx.descendants(graph, failed.node_id) if failed.node_id in graph else set()
    now = timezone.now()
    message = f"Skipped: upstream node {failed.node_id} failed for item {failed.item_index + 1}"
    skipped = []
    for run in NodeRun.objects.select_related("execution").filter(
            execution_id=execution.pk, node_id__in=below, item_index=failed.item_index,
            status__in=(NodeStatus.PENDING, NodeStatus.QUEUED)):
        if NodeRun.objects.filter(pk=run.pk, status=run.status).update(
                status=NodeStatus.SKIPPED, finished_at=now, error=message):
            run.status, run.error, run.finished_at = NodeStatus.SKIPPED, message, now
            skipped.append(run)
    ready: list[NodeRun] = []
    for run in [failed, *skipped]:
        collects = sorted({e["target"] for e in execution.edges
                           if e.get("source") == run.node_id
                           and e.get("target") in region["collects"]})
        if collects:
            ready += rows.successors_count_down(execution.pk, collects, lease=uuid.uuid4().hex,
                                                now=now)
    return skipped, ready


def emit(execution: Execution, changes: list[NodeRun], seqs: events.Seqs) -> None:
    events.emit_nodes(execution, [(run, None) for run in changes], seqs)
